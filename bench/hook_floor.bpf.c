// SPDX-License-Identifier: GPL-2.0
/* Bench only (scripts/bench/untargeted.sh, nginx_overhead.sh, platform_overhead.sh): empty
 * programs on the capture program's hooks, the raw sys_enter and sys_exit tracepoints, and
 * (given Go executables) the Go uprobes' sites. What a process pays with these attached is
 * the floor of any tracer on those hooks: the kernel's trip into BPF and back on every
 * syscall, the uprobe's trap on every hit, with no work in them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tracepoint/sys_enter")
int floor_enter(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int floor_exit(void *ctx)
{
	return 0;
}

/* Attached by hook-floor at each Go executable's probe sites (no section target: libbpf
 * leaves it to the loader). */
SEC("uprobe")
int floor_uprobe(void *ctx)
{
	return 0;
}
