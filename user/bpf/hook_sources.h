// The ways the capture program sees I/O (bpf/sources/), in the order the loader prefers them,
// and what it attached of each. Today one source (the raw syscall tracepoints); a socket-level
// source (fentry on tcp_sendmsg/tcp_recvmsg) goes in front of it where the kernel runs it, and
// the loader leaves the programs of every source it did not pick unloaded.
#pragma once

#include <string>
#include <vector>

struct bpf_program;

namespace difftrace::bpf {

struct HookSource {
  std::string name;                   // "syscalls"
  std::string description;            // what it hooks, for check and the logs
  std::vector<std::string> programs;  // its BPF programs, by name
};

// Every source, most preferred first.
const std::vector<HookSource>& hook_sources();

// The source a program belongs to, or "process" for the process hooks that every source
// uses (forks and exits of targets).
std::string source_of(const std::string& program);

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
