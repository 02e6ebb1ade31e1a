// Waits until every BPF program that is running right now has returned. The kernel runs
// non-sleepable programs (raw tracepoints, kprobes, fentry) under rcu_read_lock and waits
// for an RCU grace period, exactly this, on every update of a map-in-map from user space
// (kernel/bpf/syscall.c, maybe_wait_bpf_programs: "so that userspace, when we return to it,
// knows that all programs that could be running use the new map value"). We own a tiny
// array-of-maps for nothing else: one update of it is the wait. It is what makes the
// histogram epoch swap exact: after the flip and this wait, no program can still be
// writing into the epoch user space reads.
#pragma once

namespace difftrace::bpf {

class ProgramQuiescence {
 public:
  // Throws FatalError(kEnvironment) when the kernel refuses the maps.
  ProgramQuiescence();
  ~ProgramQuiescence();
  ProgramQuiescence(const ProgramQuiescence&) = delete;
  ProgramQuiescence& operator=(const ProgramQuiescence&) = delete;

  // Returns once every program that started before the call has finished; throws
  // FatalError(kEnvironment) when the update fails (then nothing was waited for).
  void wait() const;

 private:
  int inner_ = -1, outer_ = -1;
};

}  // namespace difftrace::bpf
