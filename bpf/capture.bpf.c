// SPDX-License-Identifier: GPL-2.0
/* Span capture: hook sources (bpf/sources/: syscalls, sockets) report I/O on connections to
 * the one entry point in bpf/lib/on_io.bpf.h, which keeps connection state
 * by socket (bpf/lib/conns.bpf.h), feeds each connection's protocol
 * (include/protocols/), and sends finished exchanges through the filter
 * step to the ring buffer (bpf/lib/emit.bpf.h). This file puts them
 * together and follows processes: forks of --pid targets, and exits. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#include "capture.h"
#include "lib/counters.bpf.h"
#include "lib/targets.bpf.h"
#include "lib/sock.bpf.h"
#include "lib/filter_maps.bpf.h"
#include "lib/conns.bpf.h"
#include "lib/trace_inherit.bpf.h"
#include "lib/causality.bpf.h"
#include "lib/emit.bpf.h"
#include "lib/go_causality.bpf.h"
#include "lib/on_io.bpf.h"
#include "sources/syscalls.bpf.h"
#include "sources/sockets.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define DT_CLONE_THREAD 0x00010000

/* A new thread may reuse an exited one's tid: it takes its own target
 * verdict and I/O slot. Processes forked by a --pid target are targets too. */
SEC("tracepoint/task/task_newtask")
int on_newtask(struct trace_event_raw_task_newtask *ctx)
{
	__u32 parent = bpf_get_current_pid_tgid() >> 32;
	__u32 child = ctx->pid;
	__u8 one = 1;

	forget_verdict(child);
	forget_io_slot(child);
	if (!use_pid_targets || (ctx->clone_flags & DT_CLONE_THREAD))
		return 0;
	if (bpf_map_lookup_elem(&target_pids, &parent))
		bpf_map_update_elem(&target_pids, &child, &one, BPF_ANY);
	return 0;
}

/* A thread renamed (exec, prctl PR_SET_NAME, /proc/PID/comm) may match
 * other comm targets, and other services: every cached verdict and
 * connection's service is taken again. Renames are rare next to syscalls. */
SEC("tracepoint/task/task_rename")
int on_task_rename(void *ctx)
{
	if (use_comm_targets)
		targets_changed();
	/* and the service a connection's spans are matched to by comm (emit.bpf.h) */
	__sync_fetch_and_add(&services_gen, 1);
	return 0;
}

/* A thread moved to another cgroup (a container's first process is moved
 * into its cgroup before it execs) may match other cgroup targets. */
SEC("tracepoint/cgroup/cgroup_attach_task")
int on_cgroup_attach(void *ctx)
{
	if (use_cgroup_targets)
		targets_changed();
	return 0;
}

/* Each connection of an exiting process: its exchange finishes as at close
 * (a request the process never answered is a span, status 0; HTTP/2: every
 * stream still open, as dt_on_close does), and its state goes. The kernel
 * closes an exiting process's fds without a close call. */
static long drop_conn_of_exited(struct bpf_map *map, const __u64 *sock, struct dt_conn *c,
				void *vtgid)
{
	__u32 tgid = *(__u32 *)vtgid;

	if (c->tgid != tgid)
		return 0;
	if (c->protocol == DT_PROTO_HTTP2)
		h2_close_conn(*sock);
	close_exchange(c, tgid);
	drop_conn(sock, c);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_process_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	cause_thread_exit((__u32)id);
	/* every thread's exit comes here: act once, when the last one goes */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (is_target(id)) {
		bpf_for_each_map_elem(&conns, drop_conn_of_exited, &tgid, 0);
		syscalls_process_exit(tgid);
	}
	if (use_pid_targets)
		bpf_map_delete_elem(&target_pids, &tgid);
	return 0;
}
