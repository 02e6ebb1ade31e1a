// The ways the capture program sees I/O (bpf/sources/), in the order the loader prefers them,
// and what it attached of each: the TCP socket layer by fentry/fexit where the kernel has BPF
// trampolines (untargeted processes' other syscalls never enter a difftrace program), else the
// raw syscall tracepoints. The loader leaves the programs of every source it did not pick
// unloaded (bpf/source_selection.h decides).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct bpf_program;

namespace difftrace::bpf {

struct HookSource {
  std::string name;                   // "syscalls"
  std::string description;            // what it hooks, for check and the logs
  std::vector<std::string> programs;  // its BPF programs, by name: every one's hook is needed
  // Programs loaded only where the kernel has their hook (tcp_sendpage: gone in 6.5, where
  // tcp_sendmsg carries the same data).
  std::vector<std::string> optional_programs = {};
};

// Every source, most preferred first.
const std::vector<HookSource>& hook_sources();

// The source a program belongs to, or "process" for the process hooks that every source
// uses (forks and exits of targets).
std::string source_of(const std::string& program);

// --hook-source: auto (the first source this kernel runs), or one source by name.
enum class HookSourceMode { kAuto, kSyscalls, kSockets };
std::optional<HookSourceMode> parse_hook_source_mode(std::string_view text);
const char* to_string(HookSourceMode mode);

// What became of one program of the capture object.
struct ProbeStatus {
  enum class State { kAttached, kNotAttached, kLeftOut };
  std::string program;  // sys_exit
  std::string source;   // syscalls, process
  std::string hook;     // its section: raw_tracepoint/sys_exit
  State state = State::kLeftOut;
  std::string detail;   // why not attached or left out; empty when attached
};

const char* to_string(ProbeStatus::State state);

}  // namespace difftrace::bpf
