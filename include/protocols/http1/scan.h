/* The scan of a window's start line and headers, a word at a time: it
 * stops only at bytes that matter (newlines; in the start line anything
 * unprintable and the spaces around the target) and hands each complete
 * header line to headers.h. */
#ifndef DIFFTRACE_HTTP1_SCAN_H
#define DIFFTRACE_HTTP1_SCAN_H

#include "protocols/http1/headers.h"

/* State of one scan over a window, shared with the per-byte callback. */
struct ht_scan {
	const struct dt_window *win;
	struct http_msg *msg;
	struct dt_trace_ctx *ctx;   /* NULL: none wanted (a client's response) */
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
DT_INLINE long ht_scan_newline(struct ht_scan *s, __u32 i)
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
DT_INLINE __u32 ht_lowest_byte(__u64 t)
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
DT_INLINE __u64 ht_bytes_eq(__u64 w, __u8 b)
{
	__u64 x = w ^ HT_REP(b);
	/* low 7 bits + 0x7f reach the high bit unless they are all zero */
	return ~(((x & HT_LOW7) + HT_LOW7) | x) & HT_REP(0x80);
}

/* Bytes a start line may not hold as they are: controls (CR and LF too,
 * which end it), DEL and everything above ASCII. */
DT_INLINE __u64 ht_bytes_unprintable(__u64 w)
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
DT_INLINE __u64 ht_word_events(const struct ht_scan *s, __u32 base, __u32 i, int start_line)
{
	__u64 w = DT_LOAD64(s->win, base), t;

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
DT_INLINE long ht_start_line_byte(struct ht_scan *s, __u32 i)
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
DT_GLOBAL int ht_scan_window(const struct dt_window *w, struct http_msg *m,
			     struct dt_trace_ctx *ctx, struct ht_scan_io *io)
{
	struct ht_scan s = {};
	if (!w || !m || !io)
		return 0;
	s.win = w;
	s.msg = m;
	s.ctx = ctx;
	s.len = io->len < DT_WIN ? io->len : DT_WIN;
	s.target_start = io->target_start;
	s.want_target = io->want_target;
	/* zeros, which the verifier must not follow step by step (DT_UNKNOWN) */
	s.pos = DT_UNKNOWN(0);
	s.line_start = DT_UNKNOWN(0);
	s.hdr_end = DT_UNKNOWN(0);
	s.target_end = DT_UNKNOWN(0);
	s.target_found = DT_UNKNOWN(0);
	DT_LOOP(s.len, ht_scan_step, &s);
	io->target_end = s.target_end;
	io->target_found = s.target_found;
	io->hdr_end = s.hdr_end;
	return 0;
}


#endif /* DIFFTRACE_HTTP1_SCAN_H */
