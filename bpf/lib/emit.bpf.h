/* A finished exchange becomes a span event (by its protocol's span_fill),
 * goes through the filter step (include/span_filter.h) and, when reported,
 * into the ring buffer. Protocol-neutral after the fill. */
#ifndef DIFFTRACE_EMIT_BPF_H
#define DIFFTRACE_EMIT_BPF_H

#include "span_filter.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DT_RINGBUF_BYTES);
} events SEC(".maps");

/* Where a finished exchange is copied before it is sent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, union dt_proto_state);
} done_scratch SEC(".maps");

__noinline int h2_span_event(struct dt_span_event *e, const struct dt_conn *c,
			     const struct h2_stream *st, __u32 tgid);
__noinline int h2_ringbuf_output(const struct dt_conn *c, const struct dt_span_event *e,
				 __u64 flags);

static __always_inline int same_comm(const char *a, const char *b)
{
	__u64 x[2], y[2];

	__builtin_memcpy(x, a, sizeof(x));
	__builtin_memcpy(y, b, sizeof(y));
	return x[0] == y[0] && x[1] == y[1];
}

/* The span's service, for the filter (set), and its comm, the name its
 * service is matched by (service_comms; user space's config match): the
 * thread's own when a service has that name, else its process's (the main
 * thread's), as a target's comm is matched (targets.bpf.h). Servers name
 * their threads: grpc-core does its I/O on "default-executo", which no config
 * names, in a process named fn-grpc. (By pid, user space names such a process
 * only at its next rescan, a second later: a new function instance's first
 * calls would get the default role.)
 *   Connection c keeps what the lookups found: they missed the cache at every
 * span (4.5% of difftrace's BPF samples on the demo platform, 3% on nginx),
 * and a connection's spans come from one process and thread name until
 * services_gen moves. Two threads finding it at once write the same values. */
static __always_inline void service_of_span(struct dt_conn *c, struct dt_span_event *e,
					    struct dt_filter_settings *set)
{
	__u32 gen = services_gen;
	const struct dt_service *svc;
	struct task_struct *task;
	char proc[DT_COMM_LEN];
	int known = c->svc_gen == gen + 1 && c->svc_pid == e->pid &&
		    same_comm(c->svc_thread_comm, e->comm);

	if (!known) {
		__builtin_memcpy(c->svc_thread_comm, e->comm, DT_COMM_LEN);
		c->svc_leader_comm = !bpf_map_lookup_elem(&service_comms, e->comm);
	}
	if (c->svc_leader_comm) {
		task = (struct task_struct *)bpf_get_current_task();
		if (BPF_CORE_READ_STR_INTO(&proc, task, group_leader, comm) > 0)
			__builtin_memcpy(e->comm, proc, sizeof(e->comm));
	}
	if (!known) {
		/* as dt_filter_span_in looks it up when not given */
		svc = bpf_map_lookup_elem(&service_pids, &e->pid);
		if (!svc)
			svc = bpf_map_lookup_elem(&service_comms, e->comm);
		c->svc_found = svc != 0;
		if (svc)
			c->svc = *svc;
		c->svc_pid = e->pid;
		c->svc_gen = gen + 1;
	}
	set->svc_given = 1;
	set->svc_found = c->svc_found;
	set->svc = c->svc;
}

/* Filters a finished exchange of connection c and sends it as a span event
 * when the filter reports it. A global function: verified once on its own,
 * not again at each of its callers. */
__noinline int emit(struct dt_conn *c, const union dt_proto_state *done, __u32 tgid)
{
	__u32 zero = 0;
	/* built where the filter step reads it, then (maybe) sent */
	struct dt_span_event *e = dt_filter_span_event();
	struct dt_filter_scratch *fs = bpf_map_lookup_elem(&filter_scratch, &zero);
	struct dt_filter_settings set = {};
	enum dt_filter_outcome out;
	__u64 flags;

	if (!e || !fs || !c || !done)
		return 0;
	if (c->protocol == DT_PROTO_HTTP2)
		h2_span_event(e, c, &done->h2_done, tgid); /* exch_seq: the stream id */
	else if (c->protocol == DT_PROTO_HTTP1)
		http1_span_fill(e, &done->http1, &c->tuple, c->conn_id, tgid, c->tid);
	else
		return 0;
	if (c->protocol == DT_PROTO_HTTP1)
		e->exch_seq = c->exch_seq;
	if (c->has_seq) {
		e->req_seq = c->req_seq;
		e->flags |= DT_SPAN_F_SEQ;
	}
	if (e->kind == DT_SPAN_CLIENT) {
		e->cause = c->cause;
		e->cause_conn_id = c->cause_conn_id;
		e->cause_exch = c->cause_exch;
		if (c->go_cause)
			e->go_cause = 1;
	}
	give_trace(c, e); /* no trace context: the kernel's (bpf/lib/trace_inherit.bpf.h) */
	count(DT_C_SPANS_SEEN);
	if (e->flags & DT_SPAN_F_HDR_LOST)
		count(DT_C_HDR_LOST);
	if (e->flags & DT_SPAN_F_NO_RESPONSE)
		count(DT_C_UNANSWERED);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	service_of_span(c, e, &set);
	/* A peer found traced stays so for the connection's life (its client
	 * end stays in client_ends while it is open): the lookup, a miss in a
	 * large map at each span, is made until then only. */
	if (e->kind == DT_SPAN_SERVER && !c->peer_traced && peer_traced(&c->tuple))
		c->peer_traced = 1;
	if (e->kind == DT_SPAN_SERVER && c->peer_traced)
		e->flags |= DT_SPAN_F_PEER_TRACED;
	/* Read field by field: through a non-volatile pointer the compiler
	 * would fold the initial values in, and miss what user space set. */
	set.no_filter = filter_settings.no_filter;
	set.default_role = filter_settings.default_role;
	set.keep_spans = filter_settings.keep_spans;
	set.keep_mask = filter_settings.keep_mask;
	out = dt_filter_span_bpf(&set, hist_epoch & 1);
	if (fs->overwritten)
		count(DT_C_KEEP_OVERWRITTEN);
	if (fs->hist_full)
		count(DT_C_HIST_MAP_FULL);
	if (fs->evicted)
		count(DT_C_KEEP_EVICTED);
	if (out == DT_OUT_KEPT) {
		count(DT_C_SPANS_KEPT);
		return 0;
	}
	if (out == DT_OUT_DROPPED) {
		count(DT_C_SPANS_DROPPED);
		return 0;
	}
	/* Waking the reader for every span costs a context switch each; wake
	 * it once a batch is waiting (it also drains on its poll timeout). */
	flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= DT_WAKEUP_BYTES
			? BPF_RB_FORCE_WAKEUP
			: BPF_RB_NO_WAKEUP;
	if (e->protocol == DT_PROTO_HTTP2 ? h2_ringbuf_output(c, e, flags)
					  : bpf_ringbuf_output(&events, e, sizeof(*e), flags)) {
		count(DT_C_RINGBUF_LOST);
		if (dt_reason_is_anomaly(e->reason))
			count(DT_C_ANOMALIES_LOST);
		return 0;
	}
	count(DT_C_SPANS_REPORTED);
	if (e->reason < DT_REASON_MAX)
		count(DT_C_REASON_FIRST + e->reason);
	return 0;
}

#endif
