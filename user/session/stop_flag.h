// Ends a session's run: set from a signal handler (SIGINT, SIGTERM), a test or another thread.
// A lock-free atomic, which a signal handler may set (std::stop_source may lock, so it may not).
#pragma once

#include <atomic>

namespace difftrace::session {

class StopFlag {
 public:
  StopFlag() = default;
  // Signals no longer reach a flag that is gone (the handlers stay, and set nothing).
  ~StopFlag();
  StopFlag(const StopFlag&) = delete;
  StopFlag& operator=(const StopFlag&) = delete;

  void request_stop() { stop_.store(true, std::memory_order_relaxed); }
  bool stop_requested() const { return stop_.load(std::memory_order_relaxed); }
  // SIGINT and SIGTERM set this flag from now on (one flag per process), without SA_RESTART,
  // so that a poll waiting for spans returns at once.
  void stop_on_signals();

 private:
  std::atomic<bool> stop_{false};
  static_assert(std::atomic<bool>::is_always_lock_free);
};

}  // namespace difftrace::session
