/* Which processes are traced: decided in the kernel so that untargeted
 * processes pay one or two map lookups per syscall and nothing more. */
#ifndef DIFFTRACE_TARGETS_BPF_H
#define DIFFTRACE_TARGETS_BPF_H

/* Set through the skeleton's rodata before load. */
const volatile __u32 self_tgid = 0;
const volatile __u8 trace_all = 0;
const volatile __u8 use_pid_targets = 0;
const volatile __u8 use_comm_targets = 0;
const volatile __u8 use_cgroup_targets = 0;

/* tgid -> 1. User space fills the pids it was given; children that such
 * processes fork are added in the kernel (task_newtask). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DT_MAX_TARGET_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} target_pids SEC(".maps");

struct dt_comm_key {
	char comm[DT_COMM_LEN];
};

/* Thread comm (zero padded) -> 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DT_MAX_TARGET_COMMS);
	__type(key, struct dt_comm_key);
	__type(value, __u8);
} target_comms SEC(".maps");

/* cgroup v2 id -> 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DT_MAX_TARGET_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} target_cgroups SEC(".maps");

static __always_inline int is_target(__u64 pid_tgid)
{
	__u32 tgid = pid_tgid >> 32;

	if (tgid == self_tgid)
		return 0;
	if (trace_all)
		return 1;
	if (use_pid_targets && bpf_map_lookup_elem(&target_pids, &tgid))
		return 1;
	if (use_comm_targets) {
		struct dt_comm_key k = {};
		bpf_get_current_comm(k.comm, sizeof(k.comm));
		if (bpf_map_lookup_elem(&target_comms, &k))
			return 1;
	}
	if (use_cgroup_targets) {
		__u64 cg = bpf_get_current_cgroup_id();
		if (bpf_map_lookup_elem(&target_cgroups, &cg))
			return 1;
	}
	return 0;
}

#endif
