#include "bpf/program_verification.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>

#include "bpf/capture_program.h"
#include "bpf/kernel_hooks.h"
#include "bpf/verifier_budget.h"
#include "error.h"
#include "filter_maps.h"  // types of the skeleton's rodata, before it
#include "capture.skel.h"

namespace difftrace::bpf {
namespace {

// Errors and closing statistics only (BPF_LOG_STATS): a log of every
// instruction of a program near the limit would run to gigabytes.
constexpr __u32 kLogStats = 4;
constexpr std::size_t kLogSize = 1u << 20;

struct SkelDeleter {
  void operator()(capture* s) const { capture__destroy(s); }
};
using CapturePtr = std::unique_ptr<capture, SkelDeleter>;

CapturePtr open_capture() {
  CapturePtr skel(capture__open());
  if (!skel) throw FatalError(ExitCode::kEnvironment,
                              errno_message("opening the capture BPF object", errno));
  return skel;
}

// The settings `trace` loads with when the verifier has the most to walk:
// targets by pid, comm and cgroup all on (trace_all skips them), the filter on,
// and a default role that is filtered rather than reported.
void set_costliest_rodata(capture& skel) {
  targets::TargetSet targets;
  targets.pids = {getpid()};
  targets.comms = {"difftrace"};
  targets.cgroup_ids = {1};
  filter::FilterSettings filter;
  filter.default_role = DT_ROLE_PLATFORM;
  set_load_settings(skel, targets, filter);
}

bool is_statistics_line(const std::string& line) {
  for (const char* prefix : {"processed ", "verification time ", "stack depth "})
    if (line.rfind(prefix, 0) == 0) return true;
  return false;
}

ProgramVerification verify_one(const std::string& name) {
  ProgramVerification result{name, 0, verifier_budget(name), false, "", ""};
  CapturePtr skel = open_capture();
  set_costliest_rodata(*skel);
  std::string log(kLogSize, '\0');
  bpf_program* target = nullptr;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel->obj) {
    const bool is_target = name == bpf_program__name(prog);
    bpf_program__set_autoload(prog, is_target);
    if (is_target) target = prog;
  }
  if (!target) {
    result.error = "not in the capture object any more";
    return result;
  }
  // A hook this kernel lacks (fentry without trampolines, tcp_sendpage after 6.5): the
  // loader never loads that program here, so neither does its measurement.
  result.not_here = missing_hook(bpf_program__section_name(target), probe_kernel_hooks());
  if (!result.not_here.empty()) return result;
  bpf_program__set_log_buf(target, log.data(), log.size());
  bpf_program__set_log_level(target, kLogStats);

  const int err = capture__load(skel.get());
  log.resize(std::strlen(log.c_str()));
  result.verified_insns = processed_insns(log);
  if (err) {
    result.error = verifier_reason(log);
    if (result.error.empty()) result.error = errno_message("loading", err);
    return result;
  }
  result.loaded = true;
  bpf_prog_info info{};
  __u32 len = sizeof info;
  // verified_insns exists from Linux 5.16; before it the log's count stands.
  if (bpf_obj_get_info_by_fd(bpf_program__fd(target), &info, &len) == 0 && info.verified_insns)
    result.verified_insns = info.verified_insns;
  return result;
}

}  // namespace

std::vector<ProgramVerification> verify_capture_programs() {
  // The names come from the object itself: the program set changes with the
  // kernel side, and a hard-coded list would miss a new program.
  std::vector<std::string> names;
  {
    CapturePtr skel = open_capture();
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel->obj) names.emplace_back(bpf_program__name(prog));
  }
  std::vector<ProgramVerification> results;
  for (const auto& name : names) results.push_back(verify_one(name));
  return results;
}

std::string verifier_reason(const std::string& log) {
  std::istringstream in(log);
  std::string line, reason;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && !is_statistics_line(line)) reason = line;
  }
  return reason;
}

std::uint32_t processed_insns(const std::string& log) {
  const std::string key = "processed ";
  for (std::size_t pos = log.find(key); pos != std::string::npos; pos = log.find(key, pos + 1)) {
    if (pos != 0 && log[pos - 1] != '\n') continue;
    char* end = nullptr;
    const unsigned long n = std::strtoul(log.c_str() + pos + key.size(), &end, 10);
    if (end && std::strncmp(end, " insns", 6) == 0) return static_cast<std::uint32_t>(n);
  }
  return 0;
}

}  // namespace difftrace::bpf
