/* A finished HTTP/1.x exchange as a protocol-neutral span event: the one
 * place that maps one to the other, so the BPF program and `difftrace
 * replay` cannot drift apart. */
#ifndef DIFFTRACE_HTTP1_SPAN_H
#define DIFFTRACE_HTTP1_SPAN_H

#include "capture.h"
#include "protocols/http1/message.h"

/* What a SERVER's response says about the span (traceresponse): the trace
 * id, when the request carried none, and the server's own span id, when
 * the trace is the span's. */
DT_INLINE void http1_span_resp_ctx(struct dt_span_event *e, const struct http_exchange *x)
{
	const struct dt_trace_ctx *r = &x->resp_ctx;

	__builtin_memset(e->resp_span_id, 0, sizeof(e->resp_span_id));
	if (x->role != HTTP_ROLE_SERVER || r->kind != DT_CTX_W3C)
		return;
	if (x->ctx.kind == DT_CTX_NONE) {
		e->ctx_kind = DT_CTX_W3C_RESPONSE;
		__builtin_memcpy(e->trace_id, r->trace_id, sizeof(e->trace_id));
		__builtin_memset(e->parent_id, 0, sizeof(e->parent_id));
		__builtin_memcpy(e->trace_flags, r->flags, sizeof(e->trace_flags));
	} else if (!dt_same_trace_id(x->ctx.trace_id, r->trace_id)) {
		return; /* the server went on in a trace of its own */
	}
	__builtin_memcpy(e->resp_span_id, r->parent_id, sizeof(e->resp_span_id));
	e->flags |= DT_SPAN_F_RESP_SPAN_ID;
}

/* Fills a span event from a finished exchange of a connection: everything
 * but comm, which the caller sets (the kernel from the current task, replay
 * with its own name). The one place that maps an exchange to an event, so
 * the BPF program and `difftrace replay` cannot drift apart. */
DT_INLINE void http1_span_fill(struct dt_span_event *e, const struct http_exchange *x,
				  const struct dt_tuple *tuple, __u64 conn_id, __u32 pid,
				  __u32 tid)
{
	e->start_ns = x->start_ns;
	/* an unanswered request ends where its last byte moved, or at close */
	e->end_ns = x->end_ns > x->start_ns ? x->end_ns : x->req_end_ns;
	e->req_bytes = x->req.total_bytes;
	e->resp_bytes = x->resp.total_bytes;
	e->conn_id = conn_id;
	/* causality and sequence numbers: the kernel's, after the fill */
	e->cause_conn_id = 0;
	e->cause_exch = 0;
	e->exch_seq = 0;
	e->req_seq = 0;
	e->cause = DT_CAUSE_NONE;
	/* HTTP/2's and Go's bytes too: the event's memory (a ring buffer
	 * record, a per-CPU scratch) holds whatever the last span left there,
	 * and an HTTP/2 span's status_unresolved made every HTTP/1 span after
	 * it on that CPU "unresolved" (reported, never kept). */
	e->grpc_status = 0;
	e->status_unresolved = 0;
	e->go_cause = 0;
	e->path_unresolved = 0;
	__builtin_memset(e->_pad3, 0, sizeof(e->_pad3));
	e->pid = pid;
	e->tid = tid;
	e->status = x->phase == HTTP_PHASE_RESPONSE ? x->status : 0;
	e->kind = x->role == HTTP_ROLE_SERVER ? DT_SPAN_SERVER : DT_SPAN_CLIENT;
	e->method = x->method;
	e->flags = 0;
	if (x->phase == HTTP_PHASE_REQUEST)
		e->flags |= DT_SPAN_F_NO_RESPONSE;
	if (x->phase == HTTP_PHASE_RESPONSE && !x->resp.complete)
		e->flags |= DT_SPAN_F_CLOSE_DELIMITED;
	if (x->req.hdr_lost || x->resp.hdr_lost)
		e->flags |= DT_SPAN_F_HDR_LOST;
	if (x->path_len >= HTTP_PATH_MAX - 1)
		e->flags |= DT_SPAN_F_PATH_TRUNCATED;
	e->end_reason = x->end_reason;
	e->path_len = x->path_len;
	e->ctx_kind = x->ctx.kind;
	e->protocol = DT_PROTO_HTTP1;
	e->decision = 1; /* DT_DECIDE_REPORT until a filter says otherwise */
	e->reason = 0;
	e->service = 0;
	e->threshold_us = 0;
	__builtin_memset(e->_pad2, 0, sizeof(e->_pad2));
	__builtin_memcpy(&e->tuple, tuple, sizeof(e->tuple));
	__builtin_memcpy(e->trace_id, x->ctx.trace_id, sizeof(e->trace_id));
	__builtin_memcpy(e->parent_id, x->ctx.parent_id, sizeof(e->parent_id));
	__builtin_memcpy(e->trace_flags, x->ctx.flags, sizeof(e->trace_flags));
	__builtin_memcpy(e->path, x->path, sizeof(e->path)); /* first HTTP_PATH_MAX */
	http1_span_resp_ctx(e, x);
}

#endif /* DIFFTRACE_HTTP1_SPAN_H */
