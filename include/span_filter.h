/* The differential filter, one finished span at a time: the same code runs
 * in bpf/capture.bpf.c (on the kernel's maps) and in `difftrace replay` (on
 * in-memory maps with the same keys and values, user/filter/host_filter_store.*).
 *
 * For a span event filled by http1_span_fill it
 *   1. finds the service (by tgid, then by comm) and so the role,
 *   2. makes the endpoint key: service, kind, method, path template,
 *   3. looks up the endpoint's threshold (else the service's default; with
 *      neither, the endpoint is warming up and its spans are reported),
 *   4. looks up whether the trace is flagged, and decides (filter_decision.h),
 *   5. flags the trace on an anomaly; counts other spans into the
 *      endpoint's histogram (not those of flagged traces); keeps a normal
 *      span in the keep-buffer,
 * and writes the decision, reason, service and threshold into the event.
 * A map that refuses an entry turns a keep into a report (DEGRADED): a full
 * map may cost volume, never an anomaly.
 *
 * The includer provides the maps: in BPF as globals named as in the struct
 * below (DT_FMAP names them), on the host through struct dt_filter_env. */
#ifndef DIFFTRACE_SPAN_FILTER_H
#define DIFFTRACE_SPAN_FILTER_H

#include "capture.h"
#include "filter_maps.h"

#ifdef __bpf__
/* The maps are the program's own globals; env is unused. */
typedef int dt_filter_env_t;
#define DT_FMAP(env, name) ((void *)&name)
#define DT_MAP_LOOKUP(m, k) bpf_map_lookup_elem((m), (k))
#define DT_MAP_UPDATE(m, k, v, f) bpf_map_update_elem((m), (k), (v), (f))
/* A keep slot's lock (include/filter_maps.h): taken if it was free, never waited
 * for; given back with an exchange, a full barrier after the slot's writes. */
#define DT_TRY_LOCK(p) (__sync_val_compare_and_swap((p), 0, 1) == 0)
#define DT_UNLOCK(p) ((void)__sync_lock_test_and_set((p), 0))
#else
#include <string.h>
struct dt_host_map;
struct dt_filter_env {
	struct dt_host_map *service_pids, *service_comms, *thresholds, *hists, *flagged, *keep,
		*keep_locks;
};
typedef struct dt_filter_env *dt_filter_env_t;
#ifdef __cplusplus
extern "C" {
#endif
void *dt_host_map_lookup(struct dt_host_map *m, const void *key);
long dt_host_map_update(struct dt_host_map *m, const void *key, const void *value, __u64 flags);
#ifdef __cplusplus
}
#endif
#define DT_FMAP(env, name) ((env)->name)
#define DT_MAP_LOOKUP(m, k) dt_host_map_lookup((m), (k))
#define DT_MAP_UPDATE(m, k, v, f) dt_host_map_update((m), (k), (v), (f))
#define DT_TRY_LOCK(p) (__sync_val_compare_and_swap((p), 0, 1) == 0)
#define DT_UNLOCK(p) __atomic_store_n((p), 0, __ATOMIC_RELEASE)
#ifndef BPF_ANY
#define BPF_ANY 0
#define BPF_NOEXIST 1
#endif
#endif

#ifdef __bpf__
/* The decision through a global function: to the verifier its result is
 * one unknown value, so the rest of the filter step is walked once rather
 * than once for each reason the rule can give. */
__noinline int dt_filter_verdict(const struct dt_filter_input *in)
{
	struct dt_filter_result r;

	if (!in)
		return 0;
	r = dt_filter_decide(in);
	return r.decision | r.reason << 8;
}

DT_INLINE struct dt_filter_result dt_filter_decide_once(const struct dt_filter_input *in)
{
	int v = dt_filter_verdict(in);
	struct dt_filter_result r = {(__u8)(v & 0xff), (__u8)((v >> 8) & 0xff)};

	return r;
}
#else
#define dt_filter_decide_once dt_filter_decide
#endif

/* Zero the template's bytes after its end, so that keys compare by value. */
DT_INLINE void dt_key_set_template(struct dt_endpoint_key *k, const struct dt_path_template *t)
{
	__u32 len = t->len;
	int i;

#ifdef __bpf__
#pragma unroll
#endif
	for (i = 0; i < DT_TEMPLATE_MAX; i++)
		k->tmpl[i] = (__u32)i < len ? t->text[i] : 0;
}

DT_INLINE void dt_kept_span_of(struct dt_kept_span *k, const struct dt_span_event *e)
{
	k->start_ns = e->start_ns;
	k->end_ns = e->end_ns;
	k->conn_id = e->conn_id;
	k->req_bytes = e->req_bytes;
	k->resp_bytes = e->resp_bytes;
	k->cause_conn_id = e->cause_conn_id;
	k->cause_exch = e->cause_exch;
	k->exch_seq = e->exch_seq;
	k->req_seq = e->req_seq;
	k->cause = e->cause;
	k->protocol = e->protocol;
	k->grpc_status = e->grpc_status;
	k->_pad3 = 0;
	k->pid = e->pid;
	k->tid = e->tid;
	k->status = e->status;
	k->service = e->service;
	k->kind = e->kind;
	k->method = e->method;
	k->flags = e->flags;
	k->end_reason = e->end_reason;
	k->path_len = e->path_len < DT_KEEP_PATH - 1 ? e->path_len : DT_KEEP_PATH - 1;
	k->ctx_kind = e->ctx_kind;
	k->path_unresolved = e->path_unresolved;
	__builtin_memset(k->_pad, 0, sizeof(k->_pad));
	__builtin_memset(k->_pad2, 0, sizeof(k->_pad2));
	__builtin_memcpy(k->parent_id, e->parent_id, sizeof(k->parent_id));
	__builtin_memcpy(k->trace_flags, e->trace_flags, sizeof(k->trace_flags));
	__builtin_memcpy(k->resp_span_id, e->resp_span_id, sizeof(k->resp_span_id));
	__builtin_memcpy(k->comm, e->comm, sizeof(k->comm));
	__builtin_memcpy(k->tuple, &e->tuple, sizeof(k->tuple));
	__builtin_memcpy(k->path, e->path, DT_KEEP_PATH);
}

/* Adds the span to its trace's keep slot (include/filter_maps.h); 0 on
 * success. A slot held by another writer (another CPU's span of a trace
 * with this slot, or user space taking a trace out) is not waited for: the
 * span is reported instead, as when a map refuses an entry. */
DT_INLINE int dt_keep_span(dt_filter_env_t env, const struct dt_filter_settings *set,
			   const struct dt_span_event *e, struct dt_filter_scratch *s)
{
	const struct dt_trace_key *tk = (const struct dt_trace_key *)e->trace_id;
	__u32 i = dt_keep_slot_of(tk, set->keep_mask);
	struct dt_kept_trace *kt = (struct dt_kept_trace *)DT_MAP_LOOKUP(DT_FMAP(env, keep), &i);
	__u32 *lock = (__u32 *)DT_MAP_LOOKUP(DT_FMAP(env, keep_locks), &i);
	__u32 n, slot;

	if (!kt || !lock || !DT_TRY_LOCK(lock))
		return -1;
	if (!dt_same_trace_id(kt->key.id, tk->id)) {
		/* Taken over: the header only, the spans past count are not read. */
		if (kt->count)
			s->evicted = 1;
		__builtin_memcpy(&kt->key, tk, sizeof(kt->key));
		kt->count = 0;
	}
	n = kt->count;
	kt->count = n + 1;
	slot = n % set->keep_spans;
	if (n >= set->keep_spans)
		s->overwritten = 1;
	dt_kept_span_of(&kt->spans[slot & (DT_KEEP_SPANS - 1)], e);
	DT_UNLOCK(lock);
	return 0;
}

/* Counts a span's duration into its endpoint's histogram; 0 on success. */
DT_INLINE int dt_count_span(dt_filter_env_t env, __u64 dur, __u8 epoch,
			    struct dt_filter_scratch *s)
{
	struct dt_hist *h;
	__u32 b = dt_hist_bucket(dur);

	s->key.epoch = epoch;
	h = (struct dt_hist *)DT_MAP_LOOKUP(DT_FMAP(env, hists), &s->key);
	if (!h) {
		/* s->hist is never written: it stays the zero a new endpoint starts from */
		if (DT_MAP_UPDATE(DT_FMAP(env, hists), &s->key, &s->hist, BPF_NOEXIST)) {
			h = (struct dt_hist *)DT_MAP_LOOKUP(DT_FMAP(env, hists), &s->key);
			if (!h) {
				s->hist_full = 1;
				return -1;
			}
		} else {
			h = (struct dt_hist *)DT_MAP_LOOKUP(DT_FMAP(env, hists), &s->key);
			if (!h)
				return -1;
		}
	}
	/* per-CPU in the kernel: plain adds */
	h->count += 1;
	h->sum_ns += dur;
	if (b < DT_HIST_BUCKETS)
		h->buckets[b] += 1;
	return 0;
}

/* Runs the filter on e (see the top of this file); returns an enum
 * dt_filter_outcome. Callers use dt_filter_span (host) or dt_filter_span_bpf
 * (BPF), below. */
DT_INLINE int dt_filter_span_in(dt_filter_env_t env, const struct dt_filter_settings *set,
				struct dt_span_event *e, __u8 epoch, struct dt_filter_scratch *s)
{
	struct dt_filter_input in = {};
	struct dt_filter_result r;
	const struct dt_service *svc;
	const struct dt_threshold *th;
	__u64 dur;
	int has_trace;

	if (!set || !e || !s)
		return DT_OUT_DROPPED;
	dur = e->end_ns > e->start_ns ? e->end_ns - e->start_ns : 0;
	has_trace = e->ctx_kind != DT_CTX_NONE;
	s->overwritten = 0;
	s->hist_full = 0;
	s->evicted = 0;
	if (set->svc_given) {
		svc = set->svc_found ? &set->svc : 0;
	} else {
		svc = (const struct dt_service *)DT_MAP_LOOKUP(DT_FMAP(env, service_pids), &e->pid);
		if (!svc)
			svc = (const struct dt_service *)DT_MAP_LOOKUP(DT_FMAP(env, service_comms),
									e->comm);
	}
	in.role = svc ? svc->role : set->default_role;
	in.errors_4xx = svc ? svc->errors_4xx : 0;

	__builtin_memset(&s->key, 0, sizeof(s->key));
	s->key.service = svc ? svc->id : 0;
	s->key.kind = e->kind;
	s->key.method = e->method;
	dt_path_template_of(e->path, e->path_len, &s->tmpl);
	dt_key_set_template(&s->key, &s->tmpl);
	/* Warming up until a threshold is known: the endpoint's own, else the
	 * service's default (the key with the service alone), looked up only
	 * when the endpoint has none: one lookup of the 72-byte key per span
	 * once endpoints are profiled. (Flags rather than testing the pointers
	 * later: the verifier refuses pointer arithmetic.) */
	in.warming = 1;
	th = (const struct dt_threshold *)DT_MAP_LOOKUP(DT_FMAP(env, thresholds), &s->key);
	if (!th) {
		__builtin_memset(&s->svc_key, 0, sizeof(s->svc_key));
		s->svc_key.service = s->key.service;
		th = (const struct dt_threshold *)DT_MAP_LOOKUP(DT_FMAP(env, thresholds),
								&s->svc_key);
	}
	if (th) {
		in.threshold_ns = th->latency_ns;
		in.timeout_ns = th->timeout_ns;
		in.warming = 0;
	}

	in.duration_ns = dur;
	in.status = e->status;
	in.rpc_error = (e->flags & DT_SPAN_F_GRPC_STATUS) && e->grpc_status != 0;
	in.status_unresolved = e->status_unresolved;
	in.closed_unanswered = (e->flags & DT_SPAN_F_NO_RESPONSE) != 0 ||
			       (e->protocol == DT_PROTO_HTTP2 && e->end_reason == DT_END_RESET);
	in.no_filter = set->no_filter;
	if (has_trace && DT_MAP_LOOKUP(DT_FMAP(env, flagged), e->trace_id))
		in.trace_flagged = 1;
	r = dt_filter_decide_once(&in);

	e->decision = r.decision;
	e->reason = r.reason;
	e->service = s->key.service;
	e->threshold_us = (__u32)(in.threshold_ns / 1000);

	if (dt_reason_is_anomaly(r.reason)) {
		if (has_trace)
			DT_MAP_UPDATE(DT_FMAP(env, flagged), e->trace_id, &e->end_ns, BPF_ANY);
		return DT_OUT_REPORT;
	}
	/* A span of a flagged trace is left out of the profile: the anomaly
	 * behind it likely slowed it too. */
	if (r.reason == DT_REASON_FLAGGED_TRACE)
		return DT_OUT_REPORT;
	if (dt_count_span(env, dur, epoch, s) && r.decision == DT_DECIDE_KEEP) {
		e->decision = DT_DECIDE_REPORT;
		e->reason = DT_REASON_DEGRADED;
		return DT_OUT_REPORT;
	}
	if (r.decision != DT_DECIDE_KEEP)
		return DT_OUT_REPORT;
	if (!has_trace || !set->keep_spans)
		return DT_OUT_DROPPED;
	if (dt_keep_span(env, set, e, s)) {
		e->decision = DT_DECIDE_REPORT;
		e->reason = DT_REASON_DEGRADED;
		return DT_OUT_REPORT;
	}
	return DT_OUT_KEPT;
}

#ifdef __bpf__
/* In BPF the filter step is a global function: the verifier checks it
 * once, for any span, instead of once per path of its caller. It finds the
 * span in the per-CPU filter_span entry and its scratch in filter_scratch
 * (filter_maps.bpf.h; the caller fills dt_filter_span_event() first)
 * rather than through pointer arguments: to the verifier those are plain
 * memory, which older kernels refuse as map keys and values (6.1: "R2
 * type=mem expected=fp, pkt, pkt_meta, map_key, map_value"). */
static __always_inline struct dt_span_event *dt_filter_span_event(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&filter_span, &zero);
}

__noinline int dt_filter_span_bpf(const struct dt_filter_settings *set, __u8 epoch)
{
	__u32 zero = 0;
	struct dt_span_event *e = bpf_map_lookup_elem(&filter_span, &zero);
	struct dt_filter_scratch *s = bpf_map_lookup_elem(&filter_scratch, &zero);

	if (!e || !s)
		return DT_OUT_DROPPED;
	return dt_filter_span_in(0, set, e, epoch, s);
}
#else
static inline int dt_filter_span(dt_filter_env_t env, const struct dt_filter_settings *set,
				 struct dt_span_event *e, __u8 epoch, struct dt_filter_scratch *s)
{
	return dt_filter_span_in(env, set, e, epoch, s);
}
#endif

#endif /* DIFFTRACE_SPAN_FILTER_H */
