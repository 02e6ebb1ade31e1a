// Probes the running node into PlatformFacts. The BPF probes need privileges
// and a usable bpf(): without them they are left unknown, so that the one
// missing prerequisite is what gets reported.
#pragma once

#include "check/requirements.h"

namespace difftrace::check {

enum class ProbeScope {
  kQuick,  // `trace` at start: privileges, bpf(), BTF and the BPF features; a few ms
  kFull,   // `check`: also tracefs, bpffs, and loading and attaching the optional hooks
};

PlatformFacts probe_platform(ProbeScope scope);

}  // namespace difftrace::check
