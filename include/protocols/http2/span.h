/* A finished HTTP/2 stream as a protocol-neutral span event: times, bytes,
 * kind, how it ended. What its header blocks say (method, path, status,
 * grpc-status, trace context) is the caller's to add: replay decodes the
 * blocks with HPACK; the kernel reads what the filter needs from its HPACK
 * shadow and sends the blocks after the event (struct h2_span_tail) for
 * user space to decode. */
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
	/* A reset after the whole response (a server's RST_STREAM(NO_ERROR) to
	 * stop a request body it no longer needs: RFC 9113 8.1) cut nothing off. */
	e->end_reason = st->end_reason;
	if (st->end_reason == H2_END_RESET && (st->bits & H2_S_RESP_END))
		e->end_reason = H2_END_COMPLETE;
	e->protocol = DT_PROTO_HTTP2;
	e->decision = 1; /* DT_DECIDE_REPORT until a filter says otherwise */
	__builtin_memcpy(&e->tuple, tuple, sizeof(e->tuple));
}

/* Bytes of each header block sent after a reported event. */
#define H2_TAIL_BLOCK 256
#define H2_TAIL_MASK (H2_TAIL_BLOCK - 1)
/* The block's table position is not known (the shadow lost count). */
#define H2_POS_UNKNOWN 0xffffffffu

enum h2_tail_slot {
	H2_TAIL_REQUEST = 0,
	H2_TAIL_RESPONSE = 1,
	H2_TAIL_TRAILERS = 2,
	H2_TAIL_SLOTS = 3,
};

/* One header block as the kernel saw it. pos is how many entries its
 * direction's dynamic table had gained since the kernel began following
 * the connection, when the block began: dynamic index d in it names entry
 * pos - 1 - d (counting the block's own additions), so that user space
 * resolves an index against entries it saw, in any order, and never
 * against one it did not. */
struct h2_block_copy {
	__u32 pos;        /* H2_POS_UNKNOWN: every dynamic index is unresolved */
	__u16 len;        /* bytes in bytes[] */
	__u8 present;     /* the block was seen */
	__u8 truncated;   /* bytes[] holds only the block's start */
	__u8 bytes[H2_TAIL_BLOCK];
};

/* What a reported HTTP/2 span event (protocol DT_PROTO_HTTP2) carries
 * after struct dt_span_event in its ring buffer record. */
struct h2_span_tail {
	struct h2_block_copy block[H2_TAIL_SLOTS];
	__u32 stream;     /* the stream id */
	__u32 unresolved; /* fields the shadow could not resolve */
};

#endif /* DIFFTRACE_HTTP2_SPAN_H */
