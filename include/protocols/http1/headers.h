/* One HTTP/1.x header line: the length headers (Content-Length,
 * Transfer-Encoding) and the trace context (traceparent, traceresponse,
 * B3 single and multi). */
#ifndef DIFFTRACE_HTTP1_HEADERS_H
#define DIFFTRACE_HTTP1_HEADERS_H

#include "protocols/http1/start_line.h"

/* Skips up to 8 spaces/tabs after a header's colon. */
DT_INLINE __u32 ht_skip_ows(const struct dt_window *w, __u32 off, __u32 end)
{
	__u32 k;
	DT_NO_UNROLL
	for (k = 0; k < 8; k++) {
		__u8 c;
		if (off >= end)
			break;
		c = ht_byte(w, off);
		if (c != ' ' && c != '\t')
			break;
		off++;
	}
	return off;
}

/* Copies n bytes of the window at off (n is a constant <= HTTP_PATH_MAX). */
#define HT_TEXT(w, off, dst, n) DT_COPY((dst), &(w)->data[(off) & DT_WIN_MASK], (n))

/* traceparent (or traceresponse: the same shape), dt_parse_traceparent's */
DT_NOINLINE void ht_parse_traceparent(const struct dt_window *w, __u32 v, __u32 end,
				      struct dt_trace_ctx *ctx)
{
	/* traceparent wins over B3 when both are present */
	if (dt_parse_traceparent(w, v, end, ctx->trace_id, ctx->parent_id, ctx->flags))
		ctx->kind = DT_CTX_W3C;
}

/* A B3 trace id of 32 or 16 hex digits, value [v, end) or followed by '-'. */
DT_INLINE int ht_b3_trace_len(const struct dt_window *w, __u32 v, __u32 end)
{
	if (end >= v + 32 && (end == v + 32 || ht_byte(w, v + 32) == '-'))
		return 32;
	if (end >= v + 16 && (end == v + 16 || ht_byte(w, v + 16) == '-'))
		return 16;
	return 0;
}

DT_INLINE void ht_b3_trace_text(const struct dt_window *w, __u32 v, int n,
				struct dt_trace_ctx *ctx)
{
	if (n == 32) {
		HT_TEXT(w, v, ctx->trace_id, 32);
	} else {
		__builtin_memset(ctx->trace_id, '0', 16);
		HT_TEXT(w, v, ctx->trace_id + 16, 16);
	}
	ctx->has_b3_trace = 1;
}

DT_INLINE void ht_b3_settle(struct dt_trace_ctx *ctx)
{
	if (ctx->kind != DT_CTX_W3C && ctx->has_b3_trace && ctx->has_b3_span) {
		ctx->kind = DT_CTX_B3;
		ctx->flags[0] = '0';
		ctx->flags[1] = '1';
	}
}

/* b3: {traceid}-{spanid}[-{sampled}[-{parentspanid}]] */
DT_NOINLINE void ht_parse_b3_single(const struct dt_window *w, __u32 v, __u32 end,
				    struct dt_trace_ctx *ctx)
{
	int n;
	if (ctx->kind == DT_CTX_W3C)
		return;
	n = ht_b3_trace_len(w, v, end);
	if (!n || end < v + n + 17 || ht_byte(w, v + n) != '-')
		return;
	ht_b3_trace_text(w, v, n, ctx);
	HT_TEXT(w, v + n + 1, ctx->parent_id, 16);
	ctx->has_b3_span = 1;
	ht_b3_settle(ctx);
}

/* Up to 19 decimal digits. */
DT_INLINE int ht_parse_u64(const struct dt_window *w, __u32 v, __u32 end, __u64 *out)
{
	__u64 val = 0;
	__u32 k, digits = 0;
	DT_NO_UNROLL
	for (k = 0; k < 19; k++) {
		__u8 c;
		if (v + k >= end)
			break;
		c = ht_byte(w, v + k);
		if (!ht_is_digit(c))
			break;
		val = val * 10 + (c - '0');
		digits++;
	}
	if (!digits)
		return 0;
	*out = val;
	return 1;
}

/* Looks at one complete header line [start, end) ('\r' excluded) of a message. */
DT_GLOBAL int ht_header_line(const struct dt_window *w, __u32 start, __u32 end,
			     struct http_msg *m, struct dt_trace_ctx *ctx)
{
	__u8 first;
	__u32 len = end - start;

	if (!w || !m)
		return 0;
	first = ht_lower(ht_byte(w, start));

	if (first == 'c' && len > 15 && HT_MATCH_CI(w, start, "content-length:")) {
		__u64 cl;
		if (ht_parse_u64(w, ht_skip_ows(w, start + 15, end), end, &cl)) {
			m->content_length = cl;
			m->has_cl = 1;
		}
	} else if (first == 't') {
		if (len > 18 && HT_MATCH_CI(w, start, "transfer-encoding:")) {
			/* "chunked" is the last coding whenever it applies. */
			if (len >= 25 && HT_MATCH_CI(w, end - 7, "chunked"))
				m->chunked = 1;
		} else if (ctx && ctx->response) {
			/* same shape: version-trace id-span id-flags */
			if (len > 14 && HT_MATCH_CI(w, start, "traceresponse:"))
				ht_parse_traceparent(w, ht_skip_ows(w, start + 14, end), end, ctx);
		} else if (ctx && len > 12 && HT_MATCH_CI(w, start, "traceparent:")) {
			ht_parse_traceparent(w, ht_skip_ows(w, start + 12, end), end, ctx);
		}
	} else if (first == 'x' && ctx && !ctx->response && len > 12 &&
		   HT_MATCH_CI(w, start, "x-b3-")) {
		if (ctx->kind == DT_CTX_W3C)
			return 0;
		if (len > 13 && HT_MATCH_CI(w, start + 5, "traceid:")) {
			__u32 v = ht_skip_ows(w, start + 13, end);
			int n = ht_b3_trace_len(w, v, end);
			if (n)
				ht_b3_trace_text(w, v, n, ctx);
		} else if (HT_MATCH_CI(w, start + 5, "spanid:")) {
			__u32 v = ht_skip_ows(w, start + 12, end);
			if (end >= v + 16) {
				HT_TEXT(w, v, ctx->parent_id, 16);
				ctx->has_b3_span = 1;
			}
		}
		ht_b3_settle(ctx);
	} else if (first == 'b' && ctx && !ctx->response && len > 3 &&
		   HT_MATCH_CI(w, start, "b3:")) {
		ht_parse_b3_single(w, ht_skip_ows(w, start + 3, end), end, ctx);
	}
	return 0;
}

#endif /* DIFFTRACE_HTTP1_HEADERS_H */
