/* HTTP/1.x message boundary detection, shared by the BPF capture program,
 * the host replay and the unit tests: the very same code decides, on both
 * sides, where a request or response starts and ends.
 *
 * Model: a connection carries one request/response exchange at a time (no
 * pipelining). Each send/receive syscall hands us its data as a bounded
 * "window" (the first HTTP_WIN bytes it moved), its total length, and its
 * last bytes (the "tail"). From these we find the start line, the few headers
 * we need (Content-Length, Transfer-Encoding, traceparent, B3), and count body
 * bytes until the message is complete:
 *   - Content-Length: complete when that many body bytes have moved;
 *   - chunked: complete when a syscall's data ends with the zero-size chunk;
 *   - no length (HTTP/1.0 style): complete when the connection closes or the
 *     next request starts;
 *   - HEAD requests and 1xx/204/304 responses carry no body.
 * Only the window is ever read; bytes past it are only counted. Headers that
 * lie past the window are not seen (counted as hdr_lost), and the message then
 * ends on close or on the next request.
 *
 * Everything is plain C with fixed-size buffers and masked indexes so that the
 * BPF verifier accepts it; loops over bytes go through bpf_loop() in the
 * kernel and a plain loop on the host (HT_LOOP below).
 */
#ifndef DIFFTRACE_HTTP1_BOUNDARY_H
#define DIFFTRACE_HTTP1_BOUNDARY_H

#ifdef __bpf__
/* vmlinux.h and bpf_helpers.h are included by the BPF program first. */
#define HT_INLINE static __always_inline
/* Heavy parsers get a stack frame of their own (BPF-to-BPF call). */
#define HT_NOINLINE static __noinline
/* Rolled loops keep programs small; the verifier walks them in bounds. */
#define HT_NO_UNROLL _Pragma("clang loop unroll(disable)")
/* A global function is verified once on its own, not at every call site. */
#define HT_GLOBAL __noinline
#define HT_LOOP(n, cb, ctx) bpf_loop((n), (cb), (ctx), 0)
#define HT_COPY(dst, src, n) bpf_probe_read_kernel((dst), (n), (src))
/* src after dst: the kernel's copy runs forward, so an overlap is safe. */
#define HT_MOVE_DOWN(dst, src, n) bpf_probe_read_kernel((dst), (n), (src))
#define HT_LOAD64(w, off) (*(const __u64 *)&(w)->data[(off) & (HTTP_WIN_MASK & ~7u)])
/* Always 0; writable (.bss), so the verifier cannot know its value. */
__u32 ht_verifier_zero = 0;
/* v at run time, a value of unknown size to the verifier. The verifier runs
 * a bpf_loop callback like a loop body until its states repeat: a loop
 * state that starts from constants (offset 0, no segment yet) gives a new
 * state for every value they take, and the callback is walked once per
 * step. Started from unknowns, the first state covers all later ones and
 * the walk stops after a step or two. Only for values that the code bounds
 * or masks anyway: the verifier gets no range from them. */
#define HT_UNKNOWN(v) ((v) + ht_verifier_zero)
#else
#include <linux/types.h>
#include <string.h>
#define HT_INLINE static inline
#define HT_NOINLINE static inline
#define HT_GLOBAL static inline
#define HT_NO_UNROLL
typedef long (*ht_loop_cb)(__u32 index, void *ctx);
static inline long ht_host_loop(__u32 n, ht_loop_cb cb, void *ctx)
{
	__u32 i;
	for (i = 0; i < n; i++)
		if (cb(i, ctx))
			return (long)i + 1;
	return (long)n;
}
#define HT_LOOP(n, cb, ctx) ht_host_loop((n), (cb), (ctx))
#define HT_COPY(dst, src, n) memcpy((dst), (src), (n))
#define HT_MOVE_DOWN(dst, src, n) memmove((dst), (src), (n))
#define HT_UNKNOWN(v) (v)
static inline __u64 ht_host_load64(const __u8 *p)
{
	__u64 v;
	memcpy(&v, p, sizeof(v));
	return v;
}
#define HT_LOAD64(w, off) ht_host_load64(&(w)->data[(off) & (HTTP_WIN_MASK & ~7u)])
#endif

/* Bytes of each syscall's data that are copied and parsed (power of two). */
#define HTTP_WIN 1024
#define HTTP_WIN_MASK (HTTP_WIN - 1)
/* Request target kept per span, NUL included. */
#define HTTP_PATH_MAX 128
#define HTTP_PATH_MASK (HTTP_PATH_MAX - 1)
/* Last bytes of each syscall's data, enough for "\r\n0\r\n\r\n". */
#define HTTP_TAIL 8

/* The window has HTTP_PATH_MAX bytes of slack so that a path can be copied
 * from any masked offset without a bounds check per byte. It is 8-byte
 * aligned so that headers can be scanned a word at a time. */
struct http_window {
	__u8 data[HTTP_WIN + HTTP_PATH_MAX];
} __attribute__((aligned(8)));

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the word-at-a-time header scan assumes a little-endian machine"
#endif

enum http_method {
	HTTP_METHOD_NONE = 0,
	HTTP_METHOD_GET,
	HTTP_METHOD_POST,
	HTTP_METHOD_PUT,
	HTTP_METHOD_DELETE,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_PATCH,
	HTTP_METHOD_OPTIONS,
	HTTP_METHOD_CONNECT,
	HTTP_METHOD_TRACE,
};

enum http_start_kind {
	HTTP_START_NONE = 0,  /* not the start of an HTTP/1.x message */
	HTTP_START_REQUEST,
	HTTP_START_RESPONSE,
};

enum http_trace_ctx_kind {
	HTTP_CTX_NONE = 0,
	HTTP_CTX_W3C = 1,     /* traceparent */
	HTTP_CTX_B3 = 2,      /* X-B3-TraceId / X-B3-SpanId or b3 */
	/* Only in span events: the request had none; the trace id is the one
	 * the server named in its response's traceresponse, and no parent. */
	HTTP_CTX_W3C_RESPONSE = 3,
};

/* Trace context carried by a request, as the header's text: the kernel
 * only checks its shape and copies it (decoding hex there costs the verifier
 * too much); user space decodes and validates it (http1_trace_ctx.h). A
 * 64-bit B3 trace id is left-padded with '0' to 32 characters.
 * A response's context (response = 1) is W3C Trace Context level 2's
 * traceresponse: the trace id the server used, and in parent_id the id of
 * the server's own span for the request. */
struct http_trace_ctx {
	char trace_id[32];    /* hex text */
	char parent_id[16];   /* hex text: the caller's span id (response: the server's) */
	char flags[2];        /* traceparent flags, hex text; B3: "01" */
	__u8 kind;            /* enum http_trace_ctx_kind */
	__u8 has_b3_trace;    /* B3 multi-header: both ids seen => kind B3 */
	__u8 has_b3_span;
	__u8 response;        /* read traceresponse, not traceparent/B3 */
	__u8 _pad[2];
};

/* One message (request or response) in flight, in one direction. */
struct http_msg {
	__u64 content_length;
	__u64 body_seen;      /* body bytes moved so far */
	__u64 total_bytes;    /* all bytes moved, headers included */
	__u8 in_start_line;   /* still inside the request/status line */
	__u8 hdr_done;        /* blank line after headers seen */
	__u8 hdr_lost;        /* headers continued past what we could read */
	__u8 has_cl;
	__u8 chunked;
	__u8 no_body;         /* HEAD, 1xx, 204, 304 */
	__u8 at_line_start;   /* last byte scanned was '\n' */
	__u8 skip_line;       /* current line began in bytes we did not see */
	__u8 complete;
	__u8 invalid;         /* start line had bytes no HTTP message has */
	__u8 _pad[6];
};

enum http_role {
	HTTP_ROLE_UNKNOWN = 0,
	HTTP_ROLE_SERVER = 1, /* reads requests, writes responses */
	HTTP_ROLE_CLIENT = 2, /* writes requests, reads responses */
};

enum http_dir {
	HTTP_DIR_INGRESS = 0, /* data the process received */
	HTTP_DIR_EGRESS = 1,  /* data the process sent */
};

enum http_phase {
	HTTP_PHASE_IDLE = 0,
	HTTP_PHASE_REQUEST = 1,  /* request started, no response yet */
	HTTP_PHASE_RESPONSE = 2, /* response started, not complete */
};

/* Per-connection exchange state: what becomes a span. */
struct http_exchange {
	__u64 start_ns;
	__u64 end_ns;          /* last byte of the response moved (so far) */
	__u64 req_end_ns;      /* last byte of the request moved (so far) */
	struct http_msg req;
	struct http_msg resp;
	struct http_trace_ctx ctx;
	struct http_trace_ctx resp_ctx; /* a SERVER's response: traceresponse */
	__u16 status;
	__u8 role;             /* enum http_role */
	__u8 phase;            /* enum http_phase */
	__u8 method;           /* enum http_method */
	__u8 path_len;
	__u8 end_reason;       /* enum http_end, set when the exchange finishes */
	__u8 path_open;        /* the target went on past the first read */
	/* The target, NUL terminated within HTTP_PATH_MAX; the second half is
	 * room for appending a fixed-size copy at any offset of the first. */
	char path[HTTP_PATH_MAX * 2];
};

/* Why an exchange finished. */
enum http_end {
	HTTP_END_COMPLETE = 0, /* response complete by its length or last chunk */
	HTTP_END_CLOSE = 1,    /* connection closed, or its reader saw EOF */
	HTTP_END_NEXT = 2,     /* the next request began on the connection */
};

/* What http_feed and http_close report. */
enum http_feed_result {
	HTTP_FEED_NONE = 0,    /* nothing finished */
	HTTP_FEED_DONE = 1,    /* an exchange finished: it was copied to *done */
	HTTP_FEED_IGNORED = 2, /* the data was not HTTP where HTTP was expected */
};

/* What http_on_data asks the caller to do. */
enum http_action {
	HTTP_ACT_NONE = 0,
	HTTP_ACT_EMIT = 1,          /* exchange complete: emit it, then reset */
	HTTP_ACT_EMIT_RETRY = 2,    /* previous exchange ended by this data:
	                               emit it, reset, feed the same data again */
	HTTP_ACT_IGNORED = 3,       /* data was not HTTP where HTTP was expected */
	HTTP_ACT_INTERIM = 4,       /* an interim (1xx) response was cut off the front
	                               of the data: feed what follows it again */
};

/* One syscall's data, besides its window (the window's first win_len
 * bytes, passed beside it). Scalars only: a global BPF function takes it by
 * pointer as plain memory. ts_enter/ts_exit are the syscall's entry and
 * exit times: a server's span starts when its read returns the request and
 * a client's when its write begins; both end when the last response byte
 * has moved. */
struct http_chunk {
	__u64 total_len;      /* all bytes the syscall moved */
	__u64 ts_enter;
	__u64 ts_exit;
	__u32 win_len;        /* valid bytes in the window (<= HTTP_WIN) */
	__u32 tail_len;       /* valid bytes in tail */
	__u8 dir;             /* enum http_dir */
	__u8 _pad[7];
	__u8 tail[HTTP_TAIL]; /* last tail_len bytes of the data */
};

HT_INLINE __u8 ht_byte(const struct http_window *w, __u32 i)
{
	return w->data[i & HTTP_WIN_MASK];
}

HT_INLINE __u8 ht_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? (__u8)(c + 32) : c;
}

/* Case-insensitive compare of the window at off with a lowercase literal. */
#define HT_MATCH_CI(w, off, lit) ht_match_ci((w), (off), (lit), sizeof(lit) - 1)
HT_INLINE int ht_match_ci(const struct http_window *w, __u32 off, const char *lit, __u32 n)
{
	__u32 k;
	HT_NO_UNROLL
	for (k = 0; k < 24; k++) {
		if (k >= n)
			break;
		if (ht_lower(ht_byte(w, off + k)) != (__u8)lit[k])
			return 0;
	}
	return 1;
}

/* The first bytes as little-endian words: one load and a switch instead of
 * trying every method string (this runs on every syscall), and one masked
 * compare for the rest of the name and the space after it. */
#define HT_U32(a, b, c, d) \
	((__u32)(__u8)(a) | (__u32)(__u8)(b) << 8 | (__u32)(__u8)(c) << 16 | (__u32)(__u8)(d) << 24)
#define HT_U64(a, b, c, d, e, f, g, h) ((__u64)HT_U32(a, b, c, d) | (__u64)HT_U32(e, f, g, h) << 32)
/* A word's first n bytes (1 <= n <= 8). */
#define HT_FIRST_BYTES(n) ((n) >= 8 ? ~0ULL : (1ULL << ((n) * 8)) - 1)

/* Method at the window start; *len gets the method's length (no space). */
HT_INLINE int ht_method(const struct http_window *w, __u32 n, __u32 *len)
{
	__u64 v, want;
	__u32 m;
	int method;

	if (n < 4)
		return HTTP_METHOD_NONE;
	v = HT_LOAD64(w, 0);
	switch ((__u32)v) {
	case HT_U32('G', 'E', 'T', ' '):
		m = 3; method = HTTP_METHOD_GET; want = HT_U64('G', 'E', 'T', ' ', 0, 0, 0, 0); break;
	case HT_U32('P', 'U', 'T', ' '):
		m = 3; method = HTTP_METHOD_PUT; want = HT_U64('P', 'U', 'T', ' ', 0, 0, 0, 0); break;
	case HT_U32('P', 'O', 'S', 'T'):
		m = 4; method = HTTP_METHOD_POST; want = HT_U64('P', 'O', 'S', 'T', ' ', 0, 0, 0); break;
	case HT_U32('H', 'E', 'A', 'D'):
		m = 4; method = HTTP_METHOD_HEAD; want = HT_U64('H', 'E', 'A', 'D', ' ', 0, 0, 0); break;
	case HT_U32('D', 'E', 'L', 'E'):
		m = 6; method = HTTP_METHOD_DELETE; want = HT_U64('D', 'E', 'L', 'E', 'T', 'E', ' ', 0);
		break;
	case HT_U32('P', 'A', 'T', 'C'):
		m = 5; method = HTTP_METHOD_PATCH; want = HT_U64('P', 'A', 'T', 'C', 'H', ' ', 0, 0);
		break;
	case HT_U32('O', 'P', 'T', 'I'):
		m = 7; method = HTTP_METHOD_OPTIONS;
		want = HT_U64('O', 'P', 'T', 'I', 'O', 'N', 'S', ' ');
		break;
	case HT_U32('C', 'O', 'N', 'N'):
		m = 7; method = HTTP_METHOD_CONNECT;
		want = HT_U64('C', 'O', 'N', 'N', 'E', 'C', 'T', ' ');
		break;
	case HT_U32('T', 'R', 'A', 'C'):
		m = 5; method = HTTP_METHOD_TRACE; want = HT_U64('T', 'R', 'A', 'C', 'E', ' ', 0, 0);
		break;
	default:
		return HTTP_METHOD_NONE;
	}
	/* the bytes past n are stale: the name and its space must lie within */
	if (n < m + 1 || (v & HT_FIRST_BYTES(m + 1)) != want)
		return HTTP_METHOD_NONE;
	*len = m;
	return method;
}

HT_INLINE int ht_is_digit(__u8 c)
{
	return c >= '0' && c <= '9';
}

/* "HTTP/1.x NNN" at the window start: returns the status or 0. */
HT_INLINE __u16 ht_status(const struct http_window *w, __u32 n)
{
	__u64 v = HT_LOAD64(w, 0);
	__u8 a, b, c, after;

	/* "HTTP/1." and then '0' or '1', in one word */
	if (n < 12 || (v & HT_FIRST_BYTES(7)) != HT_U64('H', 'T', 'T', 'P', '/', '1', '.', 0) ||
	    ((v >> 56) != '0' && (v >> 56) != '1') || ht_byte(w, 8) != ' ')
		return 0;
	a = ht_byte(w, 9);
	b = ht_byte(w, 10);
	c = ht_byte(w, 11);
	if (!ht_is_digit(a) || !ht_is_digit(b) || !ht_is_digit(c) || a < '1' || a > '5')
		return 0;
	if (n > 12) {
		after = ht_byte(w, 12);
		if (after != ' ' && after != '\r' && after != '\n')
			return 0;
	}
	return (__u16)((a - '0') * 100 + (b - '0') * 10 + (c - '0'));
}

/* Classifies the start of a syscall's data. */
HT_INLINE int http_classify(const struct http_window *w, __u32 n)
{
	__u32 mlen = 0;
	int method = ht_method(w, n, &mlen);
	if (method != HTTP_METHOD_NONE) {
		__u8 t = ht_byte(w, mlen + 1);
		__u8 l = ht_lower(t);
		if (n <= mlen + 1)
			return HTTP_START_NONE;
		/* origin-form "/", asterisk-form "*", absolute-form "http://" */
		if (t == '/' || t == '*' || l == 'h')
			return HTTP_START_REQUEST;
		/* authority-form "host:port", CONNECT only */
		if (method == HTTP_METHOD_CONNECT && ((l >= 'a' && l <= 'z') || ht_is_digit(t)))
			return HTTP_START_REQUEST;
		return HTTP_START_NONE;
	}
	if (ht_status(w, n))
		return HTTP_START_RESPONSE;
	return HTTP_START_NONE;
}

/* Skips up to 8 spaces/tabs after a header's colon. */
HT_INLINE __u32 ht_skip_ows(const struct http_window *w, __u32 off, __u32 end)
{
	__u32 k;
	HT_NO_UNROLL
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
#define HT_TEXT(w, off, dst, n) HT_COPY((dst), &(w)->data[(off) & HTTP_WIN_MASK], (n))

/* traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags> */
HT_NOINLINE void ht_parse_traceparent(const struct http_window *w, __u32 v, __u32 end,
				      struct http_trace_ctx *ctx)
{
	if (end < v + 55)
		return;
	if (ht_byte(w, v + 2) != '-' || ht_byte(w, v + 35) != '-' || ht_byte(w, v + 52) != '-')
		return;
	/* traceparent wins over B3 when both are present */
	HT_TEXT(w, v + 3, ctx->trace_id, 32);
	HT_TEXT(w, v + 36, ctx->parent_id, 16);
	HT_TEXT(w, v + 53, ctx->flags, 2);
	ctx->kind = HTTP_CTX_W3C;
}

/* A B3 trace id of 32 or 16 hex digits, value [v, end) or followed by '-'. */
HT_INLINE int ht_b3_trace_len(const struct http_window *w, __u32 v, __u32 end)
{
	if (end >= v + 32 && (end == v + 32 || ht_byte(w, v + 32) == '-'))
		return 32;
	if (end >= v + 16 && (end == v + 16 || ht_byte(w, v + 16) == '-'))
		return 16;
	return 0;
}

HT_INLINE void ht_b3_trace_text(const struct http_window *w, __u32 v, int n,
				struct http_trace_ctx *ctx)
{
	if (n == 32) {
		HT_TEXT(w, v, ctx->trace_id, 32);
	} else {
		__builtin_memset(ctx->trace_id, '0', 16);
		HT_TEXT(w, v, ctx->trace_id + 16, 16);
	}
	ctx->has_b3_trace = 1;
}

HT_INLINE void ht_b3_settle(struct http_trace_ctx *ctx)
{
	if (ctx->kind != HTTP_CTX_W3C && ctx->has_b3_trace && ctx->has_b3_span) {
		ctx->kind = HTTP_CTX_B3;
		ctx->flags[0] = '0';
		ctx->flags[1] = '1';
	}
}

/* b3: {traceid}-{spanid}[-{sampled}[-{parentspanid}]] */
HT_NOINLINE void ht_parse_b3_single(const struct http_window *w, __u32 v, __u32 end,
				    struct http_trace_ctx *ctx)
{
	int n;
	if (ctx->kind == HTTP_CTX_W3C)
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
HT_INLINE int ht_parse_u64(const struct http_window *w, __u32 v, __u32 end, __u64 *out)
{
	__u64 val = 0;
	__u32 k, digits = 0;
	HT_NO_UNROLL
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
HT_GLOBAL int ht_header_line(const struct http_window *w, __u32 start, __u32 end,
			     struct http_msg *m, struct http_trace_ctx *ctx)
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
		if (ctx->kind == HTTP_CTX_W3C)
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

/* State of one scan over a window, shared with the per-byte callback. */
struct ht_scan {
	const struct http_window *win;
	struct http_msg *msg;
	struct http_trace_ctx *ctx;   /* NULL: none wanted (a client's response) */
	__u32 len;                    /* bytes of the window to scan */
	__u32 line_start;
	__u32 hdr_end;                /* offset just past the blank line */
	__u32 target_start;           /* request target's first byte */
	__u32 target_end;             /* first byte after the target */
	__u32 want_target;            /* look for the target's end */
	__u32 target_found;
	__u32 pos;                    /* next byte to look at */
};

/* A '\n' at i ends the line [s->line_start, i). Returns 1 at the blank line
 * that ends the headers. */
HT_INLINE long ht_scan_newline(struct ht_scan *s, __u32 i)
{
	struct http_msg *m = s->msg;
	__u32 end = i;

	if (end > s->line_start && ht_byte(s->win, end - 1) == '\r')
		end--;
	if (m->in_start_line) {
		m->in_start_line = 0;
		if (s->want_target && !s->target_found) {
			s->target_end = end;
			s->target_found = 1;
		}
	} else if (m->skip_line) {
		m->skip_line = 0;
	} else if (end == s->line_start) {
		m->hdr_done = 1;
		s->hdr_end = i + 1;
		m->at_line_start = 1;
		return 1;
	} else {
		ht_header_line(s->win, s->line_start, end, m, s->ctx);
	}
	s->line_start = i + 1;
	m->at_line_start = 1;
	return 0;
}

/* Index (0-7) of the lowest byte whose high bit is set in a word that has
 * only byte high bits set: multiply the isolated bit into a table. */
HT_INLINE __u32 ht_lowest_byte(__u64 t)
{
	__u64 low = t & (~t + 1);
	return (__u32)(((low >> 7) * 0x0001020304050607ULL) >> 56);
}

/* Word-at-a-time byte tests: the high bit of each byte of w that passes,
 * exact for every byte. The adds are on each byte's low 7 bits, so no carry
 * crosses into the next byte (a subtracting test's borrow would mark a byte
 * above a match too: a 0x0b after a newline). */
#define HT_REP(b) (0x0101010101010101ULL * (__u8)(b))
#define HT_LOW7 HT_REP(0x7f)
HT_INLINE __u64 ht_bytes_eq(__u64 w, __u8 b)
{
	__u64 x = w ^ HT_REP(b);
	/* low 7 bits + 0x7f reach the high bit unless they are all zero */
	return ~(((x & HT_LOW7) + HT_LOW7) | x) & HT_REP(0x80);
}

/* Bytes a start line may not hold as they are: controls (CR and LF too,
 * which end it), DEL and everything above ASCII. */
HT_INLINE __u64 ht_bytes_unprintable(__u64 w)
{
	/* below 0x20: low 7 bits + 0x60 stay under 0x80 */
	__u64 control = ~((w & HT_LOW7) + HT_REP(0x60)) & HT_REP(0x80);

	return control | (w & HT_REP(0x80)) | ht_bytes_eq(w, 0x7f);
}

/* Words a scan step looks at before it gives the loop back: most header
 * lines end within them, so a step is about a line. */
#define HT_SCAN_WORDS 4

/* The bytes of the aligned word at base, from byte i on and within the
 * scanned length, that the scan has to look at one by one: in the start
 * line anything unprintable, and spaces while the target's end is sought;
 * in the headers only newlines. */
HT_INLINE __u64 ht_word_events(const struct ht_scan *s, __u32 base, __u32 i, int start_line)
{
	__u64 w = HT_LOAD64(s->win, base), t;

	if (start_line) {
		t = ht_bytes_unprintable(w);
		if (s->want_target && !s->target_found)
			t |= ht_bytes_eq(w, ' ');
	} else {
		t = ht_bytes_eq(w, '\n');
	}
	t &= ~0ULL << ((i - base) * 8);              /* bytes before i are done */
	if (s->len - base < 8)
		t &= (1ULL << ((s->len - base) * 8)) - 1; /* bytes past the data */
	return t;
}

/* Byte i of the start line, one that ht_word_events picked out. */
HT_INLINE long ht_start_line_byte(struct ht_scan *s, __u32 i)
{
	struct http_msg *m = s->msg;
	__u8 c = ht_byte(s->win, i);

	if (c == '\n')
		return ht_scan_newline(s, i);
	/* A start line holds only printable ASCII: anything else means this
	 * is not HTTP after all. */
	if (c != '\r' && (c < 0x20 || c > 0x7e)) {
		m->invalid = 1;
		return 1;
	}
	if ((c == ' ' || c == '\r') && s->want_target && !s->target_found &&
	    i >= s->target_start) {
		s->target_end = i;
		s->target_found = 1;
	}
	m->at_line_start = 0;
	return 0;
}

/* One step of the scan from s->pos: aligned words, up to HT_SCAN_WORDS of
 * them, until a byte that matters (ht_word_events), which is then handled
 * on its own. So the number of steps (bpf_loop iterations) stays near the
 * number of lines plus the start line's spaces. */
static long ht_scan_step(__u32 unused, void *vctx)
{
	struct ht_scan *s = (struct ht_scan *)vctx;
	struct http_msg *m = s->msg;
	__u32 i = s->pos, base, j, k;
	int start_line = m->in_start_line;
	__u64 t = 0;

	(void)unused;
	if (i >= s->len)
		return 1;
	base = i & ~7u;
#ifdef __bpf__
#pragma unroll
#endif
	for (j = 0; j < HT_SCAN_WORDS; j++) {
		t = ht_word_events(s, base, i, start_line);
		if (t)
			break;
		base += 8;
		i = base;
		if (base >= s->len)
			break;
	}
	if (!t) {
		s->pos = base;
		m->at_line_start = 0;
		return 0;
	}
	k = base + ht_lowest_byte(t);
	s->pos = k + 1;
	if (start_line)
		return ht_start_line_byte(s, k);
	return ht_scan_newline(s, k);
}

/* Does the data end with the last chunk ("0\r\n\r\n")? */
HT_INLINE int ht_ends_chunked(const struct http_chunk *ch)
{
	__u32 n = ch->tail_len;
	const __u8 *t = ch->tail;
	if (n < 5 || n > HTTP_TAIL)
		return 0;
	if (t[n - 5] != '0' || t[n - 4] != '\r' || t[n - 3] != '\n' || t[n - 2] != '\r' ||
	    t[n - 1] != '\n')
		return 0;
	/* The zero chunk follows the previous chunk's CRLF, or starts the data. */
	if (ch->total_len == 5)
		return 1;
	return n >= 7 && t[n - 7] == '\r' && t[n - 6] == '\n';
}

/* In and out of one window scan (a struct of scalars, as a global BPF
 * function's pointer arguments must be). */
struct ht_scan_io {
	__u32 len;           /* in: bytes of the window to scan */
	__u32 want_target;   /* in: find where the request target ends */
	__u32 target_start;  /* in: request target's first byte */
	__u32 target_end;    /* out: first byte after it, if target_found */
	__u32 target_found;  /* out */
	__u32 hdr_end;       /* out: offset just past the blank line, 0 if unseen */
};

/* Scans a window's start line and headers into m (and ctx, if given). */
HT_GLOBAL int ht_scan_window(const struct http_window *w, struct http_msg *m,
			     struct http_trace_ctx *ctx, struct ht_scan_io *io)
{
	struct ht_scan s = {};
	if (!w || !m || !io)
		return 0;
	s.win = w;
	s.msg = m;
	s.ctx = ctx;
	s.len = io->len < HTTP_WIN ? io->len : HTTP_WIN;
	s.target_start = io->target_start;
	s.want_target = io->want_target;
	/* zeros, which the verifier must not follow step by step (HT_UNKNOWN) */
	s.pos = HT_UNKNOWN(0);
	s.line_start = HT_UNKNOWN(0);
	s.hdr_end = HT_UNKNOWN(0);
	s.target_end = HT_UNKNOWN(0);
	s.target_found = HT_UNKNOWN(0);
	HT_LOOP(s.len, ht_scan_step, &s);
	io->target_end = s.target_end;
	io->target_found = s.target_found;
	io->hdr_end = s.hdr_end;
	return 0;
}

/* Feeds one syscall's data to a message that has started. With a target
 * query (requests), io says where the request target ends in this data. */
HT_INLINE void ht_msg_feed(struct http_msg *m, const struct http_window *w,
			   const struct http_chunk *ch, struct http_trace_ctx *ctx,
			   struct ht_scan_io *target)
{
	__u64 body;
	m->total_bytes += ch->total_len;
	if (!m->hdr_done) {
		struct ht_scan_io io = {};
		if (m->hdr_lost)
			return; /* length unknown: ends on close or next message */
		io.len = ch->win_len;
		if (target) {
			io.want_target = target->want_target;
			io.target_start = target->target_start;
		}
		/* A line cut by the previous syscall boundary cannot be read whole. */
		if (!m->at_line_start && !m->in_start_line)
			m->skip_line = 1;
		ht_scan_window(w, m, ctx, &io);
		if (target) {
			target->target_end = io.target_end;
			target->target_found = io.target_found;
		}
		if (m->invalid)
			return;
		if (!m->hdr_done) {
			if (ch->total_len > ch->win_len)
				m->hdr_lost = 1; /* the rest of these headers was not read */
			return;
		}
		body = ch->total_len - io.hdr_end;
	} else {
		body = ch->total_len;
	}
	m->body_seen += body;
	if (m->no_body)
		m->complete = 1;
	else if (m->chunked)
		m->complete = ht_ends_chunked(ch);
	else if (m->has_cl)
		m->complete = m->body_seen >= m->content_length;
}

HT_INLINE void ht_msg_begin(struct http_msg *m)
{
	__builtin_memset(m, 0, sizeof(*m));
	m->in_start_line = 1;
}

/* Forgets the exchange but not the connection's role. The path needs no
 * clearing: path_len bounds it and a new request overwrites it. */
HT_INLINE void http_exchange_reset(struct http_exchange *x)
{
	__u8 role = x->role;
	__builtin_memset(x, 0, __builtin_offsetof(struct http_exchange, path));
	x->path[0] = 0;
	x->role = role;
}

/* Appends the request target's bytes [start, end) of this window to the
 * path, which keeps at most HTTP_PATH_MAX - 1 of them. */
HT_INLINE void ht_path_append(struct http_exchange *x, const struct http_window *w,
			      __u32 start, __u32 end)
{
	__u32 have = x->path_len & HTTP_PATH_MASK, n;
	n = end > start ? end - start : 0;
	if (n > HTTP_PATH_MAX - 1 - have)
		n = HTTP_PATH_MAX - 1 - have;
	HT_COPY(&x->path[have], &w->data[start & HTTP_WIN_MASK], HTTP_PATH_MAX - 1);
	have += n;
	x->path_len = (__u8)have;
	x->path[have & HTTP_PATH_MASK] = 0;
}

/* Where the target ends in this data; the whole window when the data
 * stopped inside it (then the next read goes on with it). */
HT_INLINE __u32 ht_target_end(struct http_exchange *x, const struct http_chunk *ch,
			      const struct ht_scan_io *io)
{
	__u32 win = ch->win_len < HTTP_WIN ? ch->win_len : HTTP_WIN;
	if (io->target_found)
		return io->target_end;
	/* Still inside the start line at the end of all of this data. */
	x->path_open = x->req.in_start_line && ch->total_len == ch->win_len;
	return win;
}

HT_INLINE int ht_begin_request(struct http_exchange *x, const struct http_window *w,
			       const struct http_chunk *ch, __u64 ts)
{
	struct ht_scan_io target = {};
	__u32 mlen = 0;
	http_exchange_reset(x);
	x->method = (__u8)ht_method(w, ch->win_len, &mlen);
	x->phase = HTTP_PHASE_REQUEST;
	x->start_ns = ts;
	x->req_end_ns = ts;
	ht_msg_begin(&x->req);
	target.want_target = 1;
	target.target_start = mlen + 1;
	ht_msg_feed(&x->req, w, ch, &x->ctx, &target);
	if (x->req.invalid)
		return 0;
	ht_path_append(x, w, mlen + 1, ht_target_end(x, ch, &target));
	return 1;
}

/* More of a request: its target may go on from the previous read. */
HT_INLINE void ht_continue_request(struct http_exchange *x, const struct http_window *w,
				   const struct http_chunk *ch)
{
	struct ht_scan_io target = {};
	if (!x->path_open) {
		ht_msg_feed(&x->req, w, ch, &x->ctx, 0);
		return;
	}
	x->path_open = 0;
	target.want_target = 1;
	ht_msg_feed(&x->req, w, ch, &x->ctx, &target);
	ht_path_append(x, w, 0, ht_target_end(x, ch, &target));
}

HT_INLINE void ht_begin_response(struct http_exchange *x, __u16 status)
{
	x->status = status;
	x->phase = HTTP_PHASE_RESPONSE;
	ht_msg_begin(&x->resp);
	x->resp_ctx.response = 1;
	if (x->method == HTTP_METHOD_HEAD || status == 204 || status == 304)
		x->resp.no_body = 1;
}

/* An interim (1xx) response starts the data. When the final response
 * follows it in the same data (a reader that was slower than the two
 * writes, or a server that wrote both at once), the interim one is cut off
 * the front of the window and the chunk, and HTTP_ACT_INTERIM asks for the
 * rest to be fed again; otherwise the final one comes in a later syscall. */
HT_INLINE int ht_cut_interim(struct http_exchange *x, struct http_window *w,
			     struct http_chunk *ch)
{
	struct ht_scan_io io = {};
	__u32 rest, hdr_done;

	/* The response message is unused until the final response begins
	 * (which starts it afresh): the interim head is scanned in it, not in
	 * a message of its own on a stack that has no room to spare. */
	ht_msg_begin(&x->resp);
	io.len = ch->win_len;
	ht_scan_window(w, &x->resp, 0, &io);
	hdr_done = x->resp.hdr_done;
	__builtin_memset(&x->resp, 0, sizeof(x->resp));
	if (!hdr_done || io.hdr_end == 0 || io.hdr_end >= ch->win_len || ch->win_len > HTTP_WIN)
		return HTTP_ACT_NONE;
	rest = (ch->win_len - io.hdr_end) & HTTP_WIN_MASK;
	HT_MOVE_DOWN(&w->data[0], &w->data[io.hdr_end & HTTP_WIN_MASK], rest);
	ch->win_len = rest;
	ch->total_len -= io.hdr_end;
	return HTTP_ACT_INTERIM;
}

/* One syscall moved data on a connection (struct http_chunk says when). */
HT_INLINE int http_on_data(struct http_exchange *x, struct http_window *w,
			   struct http_chunk *ch)
{
	int kind = http_classify(w, ch->win_len);
	int dir = ch->dir;
	__u64 ts_enter = ch->ts_enter, ts_exit = ch->ts_exit;
	int req_dir, role_known = x->role != HTTP_ROLE_UNKNOWN;
	__u16 status;

	if (!role_known) {
		if (kind != HTTP_START_REQUEST)
			return HTTP_ACT_IGNORED;
		x->role = dir == HTTP_DIR_INGRESS ? HTTP_ROLE_SERVER : HTTP_ROLE_CLIENT;
	}
	req_dir = x->role == HTTP_ROLE_SERVER ? HTTP_DIR_INGRESS : HTTP_DIR_EGRESS;

	if (dir == req_dir) {
		if (x->phase == HTTP_PHASE_REQUEST) {
			ht_continue_request(x, w, ch);
			x->req_end_ns = ts_exit;
			return HTTP_ACT_NONE;
		}
		if (kind != HTTP_START_REQUEST)
			return HTTP_ACT_IGNORED;
		if (x->phase == HTTP_PHASE_RESPONSE)
			return HTTP_ACT_EMIT_RETRY; /* a response of unknown length ended */
		if (!ht_begin_request(x, w, ch, dir == HTTP_DIR_INGRESS ? ts_exit : ts_enter)) {
			http_exchange_reset(x);
			if (!role_known)
				x->role = HTTP_ROLE_UNKNOWN; /* it only looked like HTTP */
			return HTTP_ACT_IGNORED;
		}
		x->req_end_ns = ts_exit;
		return HTTP_ACT_NONE;
	}

	/* response direction */
	if (x->phase == HTTP_PHASE_IDLE)
		return HTTP_ACT_IGNORED;
	if (x->phase == HTTP_PHASE_REQUEST) {
		status = kind == HTTP_START_RESPONSE ? ht_status(w, ch->win_len) : 0;
		if (!status)
			return HTTP_ACT_IGNORED;
		if (status < 200)
			return ht_cut_interim(x, w, ch); /* 100 Continue: the final one follows */
		ht_begin_response(x, status);
	}
	/* A server's response may name its span (traceresponse). */
	ht_msg_feed(&x->resp, w, ch, x->role == HTTP_ROLE_SERVER ? &x->resp_ctx : 0, 0);
	x->end_ns = ts_exit;
	if (x->resp.invalid) {
		http_exchange_reset(x);
		return HTTP_ACT_IGNORED;
	}
	return x->resp.complete ? HTTP_ACT_EMIT : HTTP_ACT_NONE;
}

/* The connection closed (or its reader saw end of file). A response without
 * a length ends here; a request without any response is emitted unanswered
 * (status 0) so that it is not lost. */
HT_INLINE int http_on_close(struct http_exchange *x, __u64 ts)
{
	if (x->phase == HTTP_PHASE_RESPONSE)
		return HTTP_ACT_EMIT;
	if (x->phase == HTTP_PHASE_REQUEST) {
		x->end_ns = ts;
		return HTTP_ACT_EMIT;
	}
	return HTTP_ACT_NONE;
}

HT_INLINE void ht_finish(struct http_exchange *x, struct http_exchange *done, __u8 reason)
{
	/* everything but the path's append room */
	HT_COPY(done, x, __builtin_offsetof(struct http_exchange, path) + HTTP_PATH_MAX);
	done->end_reason = reason;
	http_exchange_reset(x);
}

/* Feeds one syscall's data (window w, described by ch; an interim response
 * at their front is cut off both) to a connection's exchange. The four
 * never overlap: __restrict lets the compiler keep their fields in
 * registers across stores, as it did when this was inlined (as a global
 * function it otherwise reloads them after every store: +45 ns a request
 * in boundary-cost, +20 ns with __restrict). When that finishes an exchange, it is copied to *done and the
 * connection's state is reset (and a request that ended a previous
 * unknown-length response is started). A global function: the verifier
 * checks it once, not at each caller. */
HT_GLOBAL int http_feed(struct http_exchange *__restrict x, struct http_window *__restrict w,
			struct http_chunk *__restrict ch, struct http_exchange *__restrict done)
{
	int act, i;

	if (!x || !w || !ch || !done)
		return HTTP_FEED_NONE;
	act = http_on_data(x, w, ch);
	/* 100 Continue, then 103 Early Hints, then the final response */
	HT_NO_UNROLL
	for (i = 0; i < 2 && act == HTTP_ACT_INTERIM; i++)
		act = http_on_data(x, w, ch);
	if (act == HTTP_ACT_EMIT_RETRY) {
		ht_finish(x, done, HTTP_END_NEXT);
		/* This data starts a request: it cannot finish one too. */
		http_on_data(x, w, ch);
		return HTTP_FEED_DONE;
	}
	if (act == HTTP_ACT_EMIT) {
		ht_finish(x, done, HTTP_END_COMPLETE);
		return HTTP_FEED_DONE;
	}
	return act == HTTP_ACT_IGNORED ? HTTP_FEED_IGNORED : HTTP_FEED_NONE;
}

/* The connection closed, or its reader saw end of file. */
HT_GLOBAL int http_close(struct http_exchange *x, __u64 ts, struct http_exchange *done)
{
	if (!x || !done)
		return HTTP_FEED_NONE;
	if (http_on_close(x, ts) == HTTP_ACT_EMIT) {
		ht_finish(x, done, HTTP_END_CLOSE);
		return HTTP_FEED_DONE;
	}
	http_exchange_reset(x);
	return HTTP_FEED_NONE;
}

/* Fills a chunk's tail from its window when the window holds all the data. */
HT_INLINE void http_tail_from_window(const struct http_window *w, struct http_chunk *ch)
{
	__u32 n, k;
	if (ch->total_len != ch->win_len || ch->win_len == 0)
		return;
	n = ch->win_len < HTTP_TAIL ? ch->win_len : HTTP_TAIL;
	HT_NO_UNROLL
	for (k = 0; k < HTTP_TAIL; k++) {
		if (k >= n)
			break;
		ch->tail[k] = ht_byte(w, ch->win_len - n + k);
	}
	ch->tail_len = n;
}

#endif /* DIFFTRACE_HTTP1_BOUNDARY_H */
