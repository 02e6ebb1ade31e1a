#include "bpf/hook_sources.h"

namespace difftrace::bpf {

const std::vector<HookSource>& hook_sources() {
  static const std::vector<HookSource> sources = {
      {"syscalls", "raw tracepoints sys_enter/sys_exit: read/write/send/recv/accept/connect/close",
       {"sys_enter", "sys_exit"}},
  };
  return sources;
}

std::string source_of(const std::string& program) {
  for (const auto& s : hook_sources())
    for (const auto& p : s.programs)
      if (p == program) return s.name;
  return "process";
}

const char* to_string(ProbeStatus::State state) {
  switch (state) {
    case ProbeStatus::State::kAttached: return "attached";
    case ProbeStatus::State::kNotAttached: return "not attached";
    case ProbeStatus::State::kLeftOut: return "left out";
  }
  return "?";
}

}  // namespace difftrace::bpf
