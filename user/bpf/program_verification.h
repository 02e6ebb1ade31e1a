// Loads each capture program (bpf/capture.bpf.c) on its own and asks the kernel
// how many instructions its verifier processed, the way `difftrace check` and the
// [bpf] budget test measure verification cost. Each program is loaded alone so
// that one refusal does not hide the others' counts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace difftrace::bpf {

struct ProgramVerification {
  std::string name;
  std::uint32_t verified_insns = 0;  // 0: the kernel did not say
  std::uint32_t budget = 0;          // from verifier_budget.h
  bool loaded = false;
  std::string error;                 // why it was refused; empty when loaded
  std::string not_here;              // why it was not loaded: its hook is not in this kernel
};

// Every program of the capture object, in the object's order, each loaded (unless this
// kernel lacks its hook: not_here says why) with
// the load-time settings that cost the verifier most (every kind of target on,
// the filter on). Needs BPF privileges; throws FatalError(kEnvironment) only
// when the object cannot be opened at all.
std::vector<ProgramVerification> verify_capture_programs();

// The reason in a verifier log: its last line that is not one of the closing
// statistics ("processed N insns ...", "verification time ...", "stack depth ...").
std::string verifier_reason(const std::string& log);
// "processed N insns" in a verifier log, or 0 when it has none.
std::uint32_t processed_insns(const std::string& log);

}  // namespace difftrace::bpf
