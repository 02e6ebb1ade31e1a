// Kernel timestamps are CLOCK_MONOTONIC (bpf_ktime_get_ns); spans carry
// wall-clock time. The offset is sampled once per run.
#pragma once

#include <cstdint>

namespace difftrace::capture {

class WallClock {
 public:
  WallClock();
  // Times that are already wall-clock nanoseconds (replay: capture timestamps) pass through a
  // clock whose offset is 0.
  explicit WallClock(std::uint64_t offset_ns) : offset_ns_(offset_ns) {}
  std::uint64_t from_monotonic(std::uint64_t mono_ns) const { return mono_ns + offset_ns_; }
  static std::uint64_t monotonic_now_ns();
  static std::uint64_t realtime_now_ns();

 private:
  std::uint64_t offset_ns_ = 0;
};

}  // namespace difftrace::capture
