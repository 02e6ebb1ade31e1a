/* Which processes are traced: decided in the kernel so that untargeted
 * processes pay one (inlined) array lookup of their thread's cached verdict
 * at a followed syscall's entry and at a syscall's exit, and nothing more. */
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

/* Comm (zero padded) -> 1: a thread's own, or its process's (main thread's). */
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
		struct task_struct *task;

		bpf_get_current_comm(k.comm, sizeof(k.comm));
		if (bpf_map_lookup_elem(&target_comms, &k))
			return 1;
		/* The process's name too (its main thread's): servers name
		 * their threads (grpcio's C core, the JVM), and a process
		 * targeted by name is followed in all of them. */
		__builtin_memset(&k, 0, sizeof(k));
		task = (struct task_struct *)bpf_get_current_task();
		if (BPF_CORE_READ_STR_INTO(&k.comm, task, group_leader, comm) > 0 &&
		    bpf_map_lookup_elem(&target_comms, &k))
			return 1;
	}
	if (use_cgroup_targets) {
		__u64 cg = bpf_get_current_cgroup_id();
		if (bpf_map_lookup_elem(&target_cgroups, &cg))
			return 1;
	}
	return 0;
}

/* A thread's verdict (is it a target?), taken once and cached, so that an
 * untargeted thread pays one array lookup per followed syscall instead of
 * is_target's map lookups (with comm targets: a copy of the comm and a hash
 * of it). The cache is an array indexed by the low bits of the tid, one
 * 64-bit word per slot, written and read whole (a thread sharing the slot
 * overwrites it; the tid in the word tells whose it is):
 *   tid << 32 | (generation & 0x7fffffff) << 1 | target
 * An array lookup is inlined by the JIT: no helper call, unlike the task
 * storage this cache lived in before (bpf_get_current_task_btf and
 * bpf_task_storage_get, about 40 ns of each untargeted syscall here). A tid
 * reused by a new thread must not inherit the old one's verdict: on_newtask
 * clears the new thread's slot. */
#define DT_VERDICT_SLOTS 65536

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DT_VERDICT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} target_verdicts SEC(".maps");

/* Moves on whenever a verdict taken before may be wrong now: user space
 * after it edits the target maps, the kernel when a thread is renamed (exec,
 * prctl) or moved to another cgroup (on_task_rename, on_cgroup_attach). A
 * thread's verdict holds while the generation it was taken in is current.
 * Starts at 1: a cleared slot (0) holds no verdict for any thread but tid 0,
 * the idle task, which makes no syscalls. */
volatile __u32 targets_gen = 1;

static __always_inline void targets_changed(void)
{
	__sync_fetch_and_add(&targets_gen, 1);
}

static __always_inline __u64 *verdict_slot(__u32 tid)
{
	__u32 i = tid & (DT_VERDICT_SLOTS - 1);

	return bpf_map_lookup_elem(&target_verdicts, &i);
}

/* The verdict word of thread tid in generation gen, target bit clear. */
static __always_inline __u64 verdict_word(__u32 tid, __u32 gen)
{
	return (__u64)tid << 32 | (__u64)(gen & 0x7fffffff) << 1;
}

/* A new thread tid (it may reuse an exited one's tid): no verdict yet. */
static __always_inline void forget_verdict(__u32 tid)
{
	__u64 *slot = verdict_slot(tid);

	if (slot)
		*(volatile __u64 *)slot = 0;
}

/* Did the current thread's last verdict, in any generation, say it is no
 * target? Then its syscall entry saved nothing for its exit to take: a
 * verdict that changes is taken again at an entry, never between an entry
 * and its exit. */
static __always_inline int known_untargeted(__u64 pid_tgid)
{
	__u64 *slot = verdict_slot((__u32)pid_tgid);
	__u64 v;

	if (!slot)
		return 0;
	v = *(volatile __u64 *)slot;
	return (__u32)(v >> 32) == (__u32)pid_tgid && !(v & 1);
}

/* is_target for the current thread, from its cached verdict when the
 * generation it was taken in is still current. */
static __always_inline int is_target_thread(__u64 pid_tgid)
{
	/* read before the maps: a change made after this read moves the
	 * generation past the one stored, so the next call looks again */
	__u32 gen = targets_gen;
	__u64 *slot, want, v;
	int target;

	if (trace_all || (pid_tgid >> 32) == self_tgid)
		return is_target(pid_tgid);
	slot = verdict_slot((__u32)pid_tgid);
	if (!slot)
		return is_target(pid_tgid);
	want = verdict_word((__u32)pid_tgid, gen);
	v = *(volatile __u64 *)slot;
	if ((v & ~1ULL) == want)
		return v & 1;
	target = is_target(pid_tgid);
	*(volatile __u64 *)slot = want | (target ? 1 : 0);
	return target;
}

#endif
