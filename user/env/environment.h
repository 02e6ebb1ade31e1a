// What the tracer needs from the machine before it loads anything: privileges,
// BTF for CO-RE, tracefs for tracepoint ids. Missing pieces are mounted when
// possible, otherwise reported with what to do.
#pragma once

namespace difftrace::env {

// Root, or CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE all effective (`trace`
// refuses without them through check/require_features.h).
bool holds_bpf_privileges();

// Throws FatalError(kEnvironment) naming what is missing and how to fix it.
void ensure_tracefs();

// Routes libbpf's own messages to the debug log (shown with --verbose).
void route_libbpf_logs();

}  // namespace difftrace::env
