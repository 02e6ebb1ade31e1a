/* HTTP/1.x start lines: the method of a request and the status of a
 * response, matched a word at a time (this runs on every I/O), and
 * http1_infer, the protocol's answer to "does this I/O start a message?". */
#ifndef DIFFTRACE_HTTP1_START_LINE_H
#define DIFFTRACE_HTTP1_START_LINE_H

#include "protocols/http1/message.h"

DT_INLINE __u8 ht_byte(const struct dt_window *w, __u32 i)
{
	return w->data[i & DT_WIN_MASK];
}

DT_INLINE __u8 ht_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? (__u8)(c + 32) : c;
}

/* Case-insensitive compare of the window at off with a lowercase literal. */
#define HT_MATCH_CI(w, off, lit) ht_match_ci((w), (off), (lit), sizeof(lit) - 1)
DT_INLINE int ht_match_ci(const struct dt_window *w, __u32 off, const char *lit, __u32 n)
{
	__u32 k;
	DT_NO_UNROLL
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

/* Method at the start of the n bytes whose first eight are v (little-endian);
 * *len gets the method's length (no space). */
DT_INLINE int ht_method_word(__u64 v, __u32 n, __u32 *len)
{
	__u64 want;
	__u32 m;
	int method;

	if (n < 4)
		return HTTP_METHOD_NONE;
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

/* Method at the window start; *len gets the method's length (no space). */
DT_INLINE int ht_method(const struct dt_window *w, __u32 n, __u32 *len)
{
	return n < 4 ? HTTP_METHOD_NONE : ht_method_word(DT_LOAD64(w, 0), n, len);
}

/* A request's first bytes may come alone, ahead of the rest (Go's net/http
 * server reads one byte ahead while a handler runs, to see the client go):
 * up to HT_HELD_MAX bytes that begin with a method's first letter, on a
 * connection between exchanges, are held (http_exchange.held), and the next
 * read in the same direction starts a request when they and it do. */
#define HT_HELD_MAX 7

DT_INLINE int ht_may_hold(const struct dt_window *w, __u32 n)
{
	__u8 c = w->data[0];

	/* a method's first letter; the rest is checked with the next read */
	return n >= 1 && n <= HT_HELD_MAX &&
	       (c == 'G' || c == 'P' || c == 'H' || c == 'D' || c == 'O' || c == 'C' || c == 'T');
}

/* The request that the held bytes (held_len of them, the first in the lowest
 * byte of held) and a read start, whose first eight bytes are v (n bytes in
 * all): its method | its length from the held bytes' start << 8, or 0. The
 * target's first byte must be one a request target starts with (as in
 * http1_infer). A global function: verified once, not on every I/O path. */
DT_GLOBAL int ht_held_start(__u64 v, __u64 held, __u32 held_len, __u32 n)
{
	__u32 len = 0;
	__u8 t, l;
	int method;

	if (held_len == 0 || held_len > HT_HELD_MAX || n < 8)
		return 0;
	method = ht_method_word((v << (8 * held_len)) | held, n + held_len, &len);
	if (method == HTTP_METHOD_NONE || len < held_len)
		return 0;
	t = (__u8)(v >> (8 * ((len + 1 - held_len) & 7)));
	l = ht_lower(t);
	if (t == '/' || t == '*' || l == 'h')
		return method | (int)(len << 8);
	return 0;
}

DT_INLINE int ht_is_digit(__u8 c)
{
	return c >= '0' && c <= '9';
}

/* "HTTP/1.x NNN" at the window start: returns the status or 0. */
DT_INLINE __u16 ht_status(const struct dt_window *w, __u32 n)
{
	__u64 v = DT_LOAD64(w, 0);
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
DT_INLINE int http1_infer(const struct dt_window *w, __u32 n)
{
	__u32 mlen = 0;
	int method = ht_method(w, n, &mlen);
	if (method != HTTP_METHOD_NONE) {
		__u8 t = ht_byte(w, mlen + 1);
		__u8 l = ht_lower(t);
		if (n <= mlen + 1)
			return DT_START_NONE;
		/* origin-form "/", asterisk-form "*", absolute-form "http://" */
		if (t == '/' || t == '*' || l == 'h')
			return DT_START_REQUEST;
		/* authority-form "host:port", CONNECT only */
		if (method == HTTP_METHOD_CONNECT && ((l >= 'a' && l <= 'z') || ht_is_digit(t)))
			return DT_START_REQUEST;
		return DT_START_NONE;
	}
	if (ht_status(w, n))
		return DT_START_RESPONSE;
	return DT_START_NONE;
}

#endif /* DIFFTRACE_HTTP1_START_LINE_H */
