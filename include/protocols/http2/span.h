/* A finished HTTP/2 stream as a protocol-neutral span event: times, bytes,
 * kind, how it ended. What its header blocks say (method, path, status,
 * grpc-status, trace context) is the caller's to add: replay decodes the
 * blocks with HPACK; the kernel half (docs/http2.md) will read them from its
 * HPACK shadow. */
#ifndef DIFFTRACE_HTTP2_SPAN_H
#define DIFFTRACE_HTTP2_SPAN_H

#include "capture.h"
#include "protocols/http2/stream.h"

DT_INLINE void h2_span_fill(struct dt_span_event *e, const struct h2_stream *st, __u8 role,
			    const struct dt_tuple *tuple, __u64 conn_id, __u32 pid, __u32 tid)
{
	__builtin_memset(e, 0, sizeof(*e));
	e->start_ns = st->start_ns;
	/* unanswered: it ends where its last request byte moved, or at close */
	e->end_ns = st->end_ns > st->start_ns ? st->end_ns : st->req_end_ns;
	e->req_bytes = st->req_bytes;
	e->resp_bytes = st->resp_bytes;
	e->conn_id = conn_id;
	e->pid = pid;
	e->tid = tid;
	e->kind = role == 2 ? DT_SPAN_CLIENT : DT_SPAN_SERVER;
	if (!(st->bits & H2_S_RESP_HEADERS))
		e->flags |= DT_SPAN_F_NO_RESPONSE;
	e->end_reason = st->end_reason;
	e->protocol = DT_PROTO_HTTP2;
	e->decision = 1; /* DT_DECIDE_REPORT until a filter says otherwise */
	__builtin_memcpy(&e->tuple, tuple, sizeof(e->tuple));
}

#endif /* DIFFTRACE_HTTP2_SPAN_H */
