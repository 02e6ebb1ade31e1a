#include "capture/clock.h"

#include <time.h>

namespace difftrace::capture {
namespace {

std::uint64_t now(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

std::uint64_t WallClock::monotonic_now_ns() { return now(CLOCK_MONOTONIC); }
std::uint64_t WallClock::realtime_now_ns() { return now(CLOCK_REALTIME); }

WallClock::WallClock() {
  // Bracket the realtime read between two monotonic reads and take the
  // middle, so the offset is off by at most half the bracket (~tens of ns).
  std::uint64_t m1 = monotonic_now_ns();
  std::uint64_t r = realtime_now_ns();
  std::uint64_t m2 = monotonic_now_ns();
  offset_ns_ = r - (m1 + (m2 - m1) / 2);
}

}  // namespace difftrace::capture
