// What the running kernel offers the hook sources (bpf/source_selection.h's KernelHooks):
// BPF trampolines, found by loading and attaching a trivial fentry program, the functions in
// its BTF, and its tracepoints.
#pragma once

#include <string>

#include "bpf/source_selection.h"

namespace difftrace::bpf {

struct TrampolineProbe {
  bool present = false;
  std::string detail;  // "loaded and attached fentry on vfs_read", or why not
  bool probed = true;  // false: could not be asked (no BTF, no vfs_read in it)
};

// Loads and attaches `return 0` as fentry on vfs_read, then closes both.
TrampolineProbe probe_trampolines();

// Probes the running kernel once and keeps the answer (the capture program is loaded more
// than once in a process: check, the tests).
const KernelHooks& probe_kernel_hooks();
// Frees the kernel's BTF that probe_kernel_hooks().has_function parsed (its answers stay
// known; another function asked about parses it again): ~5.5 MiB of heap the tracer would
// otherwise keep for its whole run, beside the two copies libbpf parses while loading.
void release_kernel_btf();

// Does tracefs (or debugfs's tracing directory) have this event ("task/task_newtask")?
bool tracepoint_exists(const std::string& event);

}  // namespace difftrace::bpf
