/* The capture program's counters (enum dt_counter), one per-CPU array that
 * user space sums. */
#ifndef DIFFTRACE_COUNTERS_BPF_H
#define DIFFTRACE_COUNTERS_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DT_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);
	if (v)
		*v += 1;
}

#endif
