// What difftrace needs from a node, as one table (requirement_table()), and the
// pure step from probed facts to a verdict per requirement. `difftrace check`
// prints every verdict; `trace` refuses to start on the required ones that are
// missing. Facts come from check/platform_probe.h on a real node, or from a test.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace difftrace::check {

enum class RequirementId : std::uint8_t {
  kPrivileges,
  kBpfSyscall,
  kBtf,
  kTracefs,
  kTaskEvents,
  kBpffs,
  kRawTracepointProgs,
  kTracepointProgs,
  kRingbufMap,
  kTaskStorageMap,
  kRingbufOutput,
  kRingbufQuery,
  kGetCurrentTaskBtf,
  kTaskStorageGet,
  kProbeReadUser,
  kLoop,
  kKprobes,
  kFentry,
  kUprobes,
  kCount,
};

struct Requirement {
  RequirementId id;
  std::string_view name;        // the feature, as a platform engineer would look it up
  bool required;                // false: difftrace runs without it
  std::string_view min_kernel;  // first Linux release that has it; empty when no release does
  std::string_view remedy;      // what to do when it is missing
};

// Every requirement, in the order check prints them.
const std::array<Requirement, static_cast<std::size_t>(RequirementId::kCount)>&
requirement_table();
const Requirement& requirement(RequirementId id);

enum class Presence : std::uint8_t {
  kUnknown,  // not probed: something it depends on is missing (no privileges, no bpf())
  kAbsent,
  kPresent,
};

struct Fact {
  Presence presence = Presence::kUnknown;
  std::string detail;  // what the probe saw: "mounted", "Operation not permitted", ...
};

// What the probes found on one node: a plain struct, so tests can fake any node.
struct PlatformFacts {
  std::string kernel_release;
  std::array<Fact, static_cast<std::size_t>(RequirementId::kCount)> facts{};

  Fact& operator[](RequirementId id) { return facts[static_cast<std::size_t>(id)]; }
  const Fact& operator[](RequirementId id) const { return facts[static_cast<std::size_t>(id)]; }
};

struct RequirementVerdict {
  const Requirement* requirement;
  Presence presence;
  std::string detail;

  bool present() const { return presence == Presence::kPresent; }
};

std::vector<RequirementVerdict> evaluate(const PlatformFacts& facts);

// One line per required requirement that is missing, naming the feature and the
// minimum kernel that has it. A requirement that could not be probed gets no
// line of its own: the missing one it depends on has one.
std::vector<std::string> refusal_lines(const std::vector<RequirementVerdict>& verdicts);

// Every required requirement present.
bool all_required_present(const std::vector<RequirementVerdict>& verdicts);

}  // namespace difftrace::check
