#include "bpf/hook_sources.h"

namespace difftrace::bpf {

const std::vector<HookSource>& hook_sources() {
  static const std::vector<HookSource> sources = {
      {"sockets",
       "fentry/fexit on the TCP socket layer: tcp_sendmsg, tcp_recvmsg, inet_csk_accept, "
       "tcp_connect, tcp_close (and tcp_sendpage before 6.5)",
       {"sk_sendmsg_enter", "sk_sendmsg_exit", "sk_recvmsg_enter", "sk_recvmsg_exit",
        "sk_accept_exit", "sk_connect_exit", "sk_close_enter"},
       // tcp_sendpage (before 6.5), and HTTP/2's follower where this kernel's verifier takes
       // it: tail-called from the exit hooks (bpf/lib/http2.bpf.h)
       {"sk_sendpage_exit", "sk_h2_sendmsg", "sk_h2_recvmsg"}},
      {"syscalls", "raw tracepoints sys_enter/sys_exit: read/write/send/recv/accept/connect/close",
       {"sys_enter", "sys_exit"},
       // HTTP/2's frame follower, tail-called from sys_exit where this kernel's verifier
       // takes it (bpf/lib/http2.bpf.h)
       {"h2_io"}},
  };
  return sources;
}

std::string source_of(const std::string& program) {
  for (const auto& s : hook_sources()) {
    for (const auto& p : s.programs)
      if (p == program) return s.name;
    for (const auto& p : s.optional_programs)
      if (p == program) return s.name;
  }
  return "process";
}

std::optional<HookSourceMode> parse_hook_source_mode(std::string_view text) {
  if (text == "auto") return HookSourceMode::kAuto;
  if (text == "syscalls") return HookSourceMode::kSyscalls;
  if (text == "sockets") return HookSourceMode::kSockets;
  return std::nullopt;
}

const char* to_string(HookSourceMode mode) {
  switch (mode) {
    case HookSourceMode::kAuto: return "auto";
    case HookSourceMode::kSyscalls: return "syscalls";
    case HookSourceMode::kSockets: return "sockets";
  }
  return "?";
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
