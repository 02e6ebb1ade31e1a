// The processes running now, as service matching needs them: each with its
// start time (which tells a process from a later one that reuses its pid),
// its name, its executable and the TCP ports it listens on. ProcProcessView reads
// /proc; tests give their own.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace difftrace::filter {

struct ProcessInfo {
  std::uint32_t pid = 0;
  std::uint64_t start_time = 0;  // clock ticks after boot, field 22 of /proc/PID/stat
  std::string exe;               // empty when unreadable (a kernel thread, say)
  std::set<std::uint16_t> listen_ports;
  std::string comm;              // the process's name: its main thread's comm
};

class ProcessView {
 public:
  virtual ~ProcessView() = default;
  // pid's start time, nullopt when no process has that pid.
  virtual std::optional<std::uint64_t> start_time(std::uint32_t pid) const = 0;
  // Every process, with its listen ports only when want_ports (walking every
  // process's fds is the costly part).
  virtual std::vector<ProcessInfo> processes(bool want_ports) const = 0;
};

class ProcProcessView : public ProcessView {
 public:
  std::optional<std::uint64_t> start_time(std::uint32_t pid) const override;
  std::vector<ProcessInfo> processes(bool want_ports) const override;
};

}  // namespace difftrace::filter
