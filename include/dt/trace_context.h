/* A request's trace context as it travels in headers (W3C traceparent and
 * traceresponse, B3), the same for every protocol that carries headers. */
#ifndef DIFFTRACE_DT_TRACE_CONTEXT_H
#define DIFFTRACE_DT_TRACE_CONTEXT_H

#include "dt/chunk.h" /* struct dt_window */
#include "dt/portable.h"

enum dt_trace_ctx_kind {
	DT_CTX_NONE = 0,
	DT_CTX_W3C = 1,     /* traceparent */
	DT_CTX_B3 = 2,      /* X-B3-TraceId / X-B3-SpanId or b3 */
	/* Only in span events: the request had none; the trace id is the one
	 * the server named in its response's traceresponse, and no parent. */
	DT_CTX_W3C_RESPONSE = 3,
	/* Only in span events: the request had none; the kernel gave the trace
	 * id (bpf/lib/trace_inherit.bpf.h), inherited from the request that
	 * caused it or minted for a root; no parent. Ours, not the client's. */
	DT_CTX_KERNEL = 4,
};

/* Trace context carried by a request, as the header's text: the kernel
 * only checks its shape and copies it (decoding hex there costs the verifier
 * too much); user space decodes and validates it (http1_trace_ctx.h). A
 * 64-bit B3 trace id is left-padded with '0' to 32 characters.
 * A response's context (response = 1) is W3C Trace Context level 2's
 * traceresponse: the trace id the server used, and in parent_id the id of
 * the server's own span for the request. */
struct dt_trace_ctx {
	char trace_id[32];    /* hex text */
	char parent_id[16];   /* hex text: the caller's span id (response: the server's) */
	char flags[2];        /* traceparent flags, hex text; B3: "01" */
	__u8 kind;            /* enum dt_trace_ctx_kind */
	__u8 has_b3_trace;    /* B3 multi-header: both ids seen => kind B3 */
	__u8 has_b3_span;
	__u8 response;        /* read traceresponse, not traceparent/B3 */
	__u8 _pad[2];
};

/* Equal 32-character trace ids (hex text). */
DT_INLINE int dt_same_trace_id(const char *a, const char *b)
{
	__u64 x[4], y[4];
	__builtin_memcpy(x, a, sizeof(x));
	__builtin_memcpy(y, b, sizeof(y));
	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/* W3C traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>.
 * Its length, and where its three ids start. */
#define DT_TP_LEN 55
#define DT_TP_TRACE 3
#define DT_TP_PARENT 36
#define DT_TP_FLAGS 53

/* A traceparent as the text [v, end) of window w, for every protocol that
 * carries it as text (HTTP/1's header line, HTTP/2's raw HPACK string): its
 * length and dashes checked, its three ids copied as text (the hex is user
 * space's to check: decoding it here costs the verifier too much). 1 when
 * copied; a later version's longer value is read by its first 55 bytes. */
DT_INLINE int dt_parse_traceparent(const struct dt_window *w, __u32 v, __u32 end,
				   char *trace_id, char *parent_id, char *flags)
{
	if (end < v + DT_TP_LEN)
		return 0;
	if (w->data[(v + DT_TP_TRACE - 1) & DT_WIN_MASK] != '-' ||
	    w->data[(v + DT_TP_PARENT - 1) & DT_WIN_MASK] != '-' ||
	    w->data[(v + DT_TP_FLAGS - 1) & DT_WIN_MASK] != '-')
		return 0;
	DT_COPY(trace_id, &w->data[(v + DT_TP_TRACE) & DT_WIN_MASK], 32);
	DT_COPY(parent_id, &w->data[(v + DT_TP_PARENT) & DT_WIN_MASK], 16);
	DT_COPY(flags, &w->data[(v + DT_TP_FLAGS) & DT_WIN_MASK], 2);
	return 1;
}

#endif /* DIFFTRACE_DT_TRACE_CONTEXT_H */
