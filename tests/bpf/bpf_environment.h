// Fails the current test unless BPF programs can be loaded here: root, BTF,
// tracefs (mounted if needed). Kept free of libbpf headers so that tests that
// also include libpcap (whose bpf.h clashes with linux/bpf.h) can use it.
#pragma once

namespace difftrace::testing {

void require_bpf_environment();

}  // namespace difftrace::testing
