// What the bench programs share: a clock read in seconds, and pinning the
// calling thread to one CPU (so that its CPU time is one core's).
#pragma once

#include <pthread.h>
#include <sched.h>
#include <time.h>

namespace difftrace::bench {

// Clock c (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID, ...) in seconds.
inline double now_s(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Pins the calling thread to cpu; false when the kernel refuses.
inline bool pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

}  // namespace difftrace::bench
