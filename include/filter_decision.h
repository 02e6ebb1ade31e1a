/* The differential filter's decision for one finished span, in plain C for
 * the BPF program and the host alike: report it (cross into user space) or
 * keep it (aggregate into the endpoint's histogram and the keep-buffer,
 * send nothing). Anomalies are always reported, and so is everything a
 * function (user code) does unless its service is set to be filtered.
 *
 * The maps that feed it (thresholds by component and endpoint, flagged
 * traces) and what happens after it (histograms, keep-buffer) belong to the
 * filter program; this is only the rule, so that kernel and host provably
 * apply the same one (tests run one table through both). */
#ifndef DIFFTRACE_FILTER_DECISION_H
#define DIFFTRACE_FILTER_DECISION_H

#include "dt/portable.h"

enum dt_role {
	DT_ROLE_PLATFORM = 0, /* ingress, activator, queue-proxy, ...: filtered */
	DT_ROLE_FUNCTION = 1, /* user code: reported */
	DT_ROLE_FUNCTION_FILTERED = 2, /* a function set to be filtered like the platform */
};

enum dt_decision {
	DT_DECIDE_KEEP = 0,   /* normal: aggregate and keep, send nothing */
	DT_DECIDE_REPORT = 1,
};

/* Why a span is reported, most specific first (the first that applies).
 * Anomalies are named even under --no-filter, so full tracing still marks
 * them. */
enum dt_reason {
	DT_REASON_NONE = 0,          /* kept */
	DT_REASON_NO_FILTER = 1,     /* --no-filter: everything is reported */
	DT_REASON_RESET = 2,         /* the connection closed with no response, or an HTTP/2
	                              * stream was reset before its response ended */
	DT_REASON_TIMEOUT = 3,       /* no response within the timeout */
	DT_REASON_STATUS = 4,        /* 5xx (4xx when configured), a gRPC status not OK */
	DT_REASON_LATENCY = 5,       /* over the endpoint's threshold */
	DT_REASON_FLAGGED_TRACE = 6, /* its trace already had an anomaly on this node */
	DT_REASON_FUNCTION = 7,      /* a function's span, reported by role */
	DT_REASON_WARMUP = 8,        /* its endpoint has no threshold yet: too few samples */
	DT_REASON_DEGRADED = 9,      /* the filter's maps were full: reported, not lost */
	DT_REASON_UNRESOLVED = 10,   /* its status could not be read (HTTP/2 fields indexed
	                                before difftrace looked): reported, not judged */
	DT_REASON_MAX,
};

struct dt_filter_input {
	__u64 duration_ns;
	__u64 threshold_ns;    /* 0: latency not judged */
	__u64 timeout_ns;      /* 0: no timeout rule */
	__u16 status;          /* 0: no response */
	__u8 role;             /* enum dt_role */
	__u8 errors_4xx;       /* 4xx statuses count as errors */
	__u8 closed_unanswered;/* closed before any response, or reset before its end */
	__u8 trace_flagged;    /* the span's trace is in the flagged-trace map */
	__u8 no_filter;
	__u8 warming;          /* no threshold known for the endpoint yet */
	__u8 rpc_error;        /* a gRPC call whose status is not OK (whatever the HTTP status) */
	__u8 status_unresolved; /* the status could not be read (HTTP/2) */
	__u8 _pad[6];
};

struct dt_filter_result {
	__u8 decision;         /* enum dt_decision */
	__u8 reason;           /* enum dt_reason */
};

DT_INLINE struct dt_filter_result dt_filter_decide(const struct dt_filter_input *in)
{
	struct dt_filter_result r = {DT_DECIDE_REPORT, DT_REASON_NONE};

	if (in->closed_unanswered)
		r.reason = DT_REASON_RESET;
	else if (in->status == 0 && in->timeout_ns && in->duration_ns >= in->timeout_ns)
		r.reason = DT_REASON_TIMEOUT;
	else if (in->status >= 500 || (in->errors_4xx && in->status >= 400) || in->rpc_error)
		r.reason = DT_REASON_STATUS;
	else if (in->threshold_ns && in->duration_ns > in->threshold_ns)
		r.reason = DT_REASON_LATENCY;
	else if (in->status_unresolved && !in->no_filter)
		r.reason = DT_REASON_UNRESOLVED;
	else if (in->trace_flagged)
		r.reason = DT_REASON_FLAGGED_TRACE;
	else if (in->no_filter)
		r.reason = DT_REASON_NO_FILTER;
	else if (in->role == DT_ROLE_FUNCTION)
		r.reason = DT_REASON_FUNCTION;
	else if (in->warming)
		r.reason = DT_REASON_WARMUP;
	else
		r.decision = DT_DECIDE_KEEP;
	return r;
}

/* An anomaly flags its trace (later spans of it on this node are reported
 * and its kept spans are pulled back); being reported by role or flag alone
 * does not. */
DT_INLINE int dt_reason_is_anomaly(__u8 reason)
{
	return reason == DT_REASON_RESET || reason == DT_REASON_TIMEOUT ||
	       reason == DT_REASON_STATUS || reason == DT_REASON_LATENCY;
}

#endif /* DIFFTRACE_FILTER_DECISION_H */
