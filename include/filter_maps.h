/* The differential filter's maps, shared by bpf/capture.bpf.c (which owns
 * them), user space (which writes services and thresholds, reads and resets
 * histograms, pulls kept spans) and `difftrace replay` (which keeps the same
 * maps in memory, include/span_filter.h). Plain C.
 *
 *   service_pids   tgid -> service       written by user space (pid, exe,
 *   service_comms  comm -> service       listen_port and comm matches)
 *   thresholds     endpoint -> threshold written by the profiler
 *   hists          endpoint+epoch -> histogram of normal spans (per CPU)
 *   flagged        trace id -> when      an anomaly was seen in the trace
 *   keep           slot -> a trace id and its last DT_KEEP_SPANS kept spans
 *   keep_locks     slot -> who writes the slot now (0: nobody)
 *
 * keep is direct-mapped: a trace's slot is a hash of its id (dt_keep_slot_of),
 * and a span of a trace whose slot holds another trace takes the slot over
 * (the other's spans are evicted, counted). Keeping a span so costs no insert,
 * no free list and no LRU lock, and writes one span, not a whole entry.
 */
#ifndef DIFFTRACE_FILTER_MAPS_H
#define DIFFTRACE_FILTER_MAPS_H

#include "filter_decision.h"
#include "latency_hist.h"
#include "path_template.h"

#define DT_MAX_SERVICE_PIDS 8192
#define DT_MAX_SERVICE_COMMS 256
#define DT_MAX_ENDPOINTS 4096     /* thresholds; histograms hold two epochs */
#define DT_MAX_FLAGGED 16384
#define DT_KEEP_TRACES 8192       /* keep slots by default (a power of two); resized before load */
#define DT_KEEP_SPANS 8           /* kept spans per trace, the last ones win */
#define DT_KEEP_PATH 64

/* Service id 0 is "no service matched": the default role applies. */
struct dt_service {
	__u16 id;
	__u8 role;             /* enum dt_role */
	__u8 errors_4xx;
	__u32 _pad;
};

/* An endpoint: service, span kind, method and path template. A service's
 * default threshold is the key with kind, method and template all zero. The
 * template's bytes after its NUL are zero, so equal endpoints are equal keys. */
struct dt_endpoint_key {
	__u16 service;
	__u8 kind;             /* enum dt_span_kind */
	__u8 method;           /* enum http_method */
	__u8 epoch;            /* histograms only: which half user space is not reading */
	__u8 _pad[3];
	char tmpl[DT_TEMPLATE_MAX];
};

struct dt_threshold {
	__u64 latency_ns;      /* 0: latency not judged */
	__u64 timeout_ns;      /* 0: no timeout rule */
};

/* Durations of an endpoint's spans that were not anomalies, per CPU. */
struct dt_hist {
	__u64 count;
	__u64 sum_ns;
	__u32 buckets[DT_HIST_BUCKETS];
};

struct dt_trace_key {
	char id[32];           /* the trace id as its header carried it (hex text) */
};

/* A kept span: enough to export it exactly once its trace turns out to matter. */
struct dt_kept_span {
	__u64 start_ns;
	__u64 end_ns;
	__u64 conn_id;
	__u64 req_bytes;
	__u64 resp_bytes;
	/* causality (as in struct dt_span_event): a pulled span links like a reported one */
	__u64 cause_conn_id;
	__u32 cause_exch;
	__u32 exch_seq;
	__u32 req_seq;
	__u8 cause;
	__u8 protocol;         /* enum dt_protocol */
	__u8 grpc_status;      /* DT_SPAN_F_GRPC_STATUS */
	__u8 _pad3;
	__u32 pid;
	__u32 tid;
	__u16 status;
	__u16 service;
	__u8 kind;
	__u8 method;
	__u8 flags;
	__u8 end_reason;
	__u8 path_len;
	__u8 ctx_kind;
	__u8 path_unresolved;  /* as struct dt_span_event's */
	__u8 _pad[5];
	char parent_id[16];
	char trace_flags[2];
	__u8 _pad2[6];
	char resp_span_id[16]; /* DT_SPAN_F_RESP_SPAN_ID */
	char comm[16];
	__u8 tuple[40];        /* struct dt_tuple */
	char path[DT_KEEP_PATH];
};

/* A keep slot. Written only by whoever holds its keep_locks entry (the
 * filter step, or user space taking the trace out); a trace taking the slot
 * over resets key and count only: spans at count and above are not valid. */
struct dt_kept_trace {
	struct dt_trace_key key; /* whose spans these are; all zero: none */
	__u32 count;           /* spans kept since the trace got the slot; the last DT_KEEP_SPANS are here */
	__u32 _pad;
	struct dt_kept_span spans[DT_KEEP_SPANS];
};

/* The slot of a trace: its id's four words folded and multiplied, the high
 * half of the product masked (mask: slots - 1, slots a power of two). */
DT_INLINE __u32 dt_keep_slot_of(const struct dt_trace_key *k, __u32 mask)
{
	__u64 w[4], h;

	__builtin_memcpy(w, k->id, sizeof(w));
	h = (w[0] ^ w[1] ^ w[2] ^ w[3]) * 0x9e3779b97f4a7c15ull;
	return (__u32)(h >> 32) & mask;
}

/* What the filter decided for a span, besides the event's own fields. */
enum dt_filter_outcome {
	DT_OUT_REPORT = 0,     /* send the event */
	DT_OUT_KEPT = 1,       /* in the keep-buffer and the histogram */
	DT_OUT_DROPPED = 2,    /* normal, but no trace id to keep it by: histogram only */
};

/* Settings fixed for a run (rodata in the kernel), and the span's service
 * when the caller already knows it. */
struct dt_filter_settings {
	__u8 no_filter;
	__u8 default_role;     /* role of processes no service matched */
	__u8 keep_spans;       /* <= DT_KEEP_SPANS; 0: keep nothing */
	__u8 svc_given;        /* svc_found and svc are the span's service, as the
				* lookups by pid and comm would find it (emit's cache
				* per connection); 0: the filter looks it up */
	__u32 keep_mask;       /* keep slots - 1 (the slots a power of two) */
	struct dt_service svc; /* with svc_given and svc_found */
	__u8 svc_found;        /* with svc_given: 0, no service matched */
	__u8 _pad[7];
};

/* Per-CPU room for what does not fit on the BPF stack. */
struct dt_filter_scratch {
	struct dt_endpoint_key key;
	struct dt_endpoint_key svc_key; /* a service's default threshold's key */
	struct dt_path_template tmpl;
	struct dt_hist hist;   /* all zero, always (a new histogram's value) */
	__u32 overwritten;     /* out: a kept span replaced an older one of its trace */
	__u32 hist_full;       /* out: the histogram map refused a new endpoint */
	__u32 evicted;         /* out: the span's trace took its keep slot from another trace */
	__u32 _pad;
};

#endif /* DIFFTRACE_FILTER_MAPS_H */
