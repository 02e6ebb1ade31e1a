// This process's resident memory and CPU time, for the agent's /metrics (and for sizing a
// DaemonSet's limits from them).
#pragma once

#include <cstdint>

namespace difftrace::metrics {

struct ProcessUsage {
  std::uint64_t resident_bytes = 0;  // /proc/self/statm's resident pages
  double cpu_seconds = 0;            // user + system, every thread (getrusage)
  std::uint64_t open_fds = 0;        // entries of /proc/self/fd
};

ProcessUsage process_usage();

}  // namespace difftrace::metrics
