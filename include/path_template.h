/* The endpoint part of a request target, as a bounded template: the query and
 * fragment are dropped, and segments that are ids collapse into placeholders,
 * so that /item/17 and /item/18 are one endpoint and per-endpoint state stays
 * bounded whatever ids clients send:
 *   all digits                                   -> {n}
 *   hex digits and '-', 8 or more, some digit    -> {id}   (uuids, hashes)
 * Plain C for BPF and host alike (the in-kernel filter keys its thresholds by
 * it); one bpf_loop step per byte of the target. */
#ifndef DIFFTRACE_PATH_TEMPLATE_H
#define DIFFTRACE_PATH_TEMPLATE_H

#include "dt/chunk.h" /* DT_TARGET_MAX */

#define DT_TEMPLATE_MAX 64 /* bytes, NUL included */
#define DT_TEMPLATE_MASK (DT_TEMPLATE_MAX - 1)
#define DT_ID_MIN_LEN 8

struct dt_path_template {
	char text[DT_TEMPLATE_MAX];
	__u32 len;
	__u32 _pad;
};

struct pt_scan {
	const char *path;     /* at least DT_TARGET_MAX bytes */
	struct dt_path_template *out;
	__u32 len;            /* bytes of path to read */
	__u32 seg_out;        /* where the current segment starts in out */
	__u32 seg_len;
	__u8 digits;          /* the segment so far is all digits */
	__u8 hexish;          /* ... all hex digits and '-' */
	__u8 has_digit;
	__u8 _pad;
};

DT_INLINE void pt_put(struct pt_scan *s, char c)
{
	if (s->out->len < DT_TEMPLATE_MAX - 1) {
		s->out->text[s->out->len & DT_TEMPLATE_MASK] = c;
		s->out->len++;
	}
}

DT_INLINE void pt_start_segment(struct pt_scan *s)
{
	s->seg_out = s->out->len;
	s->seg_len = 0;
	s->digits = 1;
	s->hexish = 1;
	s->has_digit = 0;
}

/* The segment was copied as it came; an id is replaced by its placeholder. */
DT_INLINE void pt_end_segment(struct pt_scan *s)
{
	if (!s->seg_len)
		return;
	if (s->digits) {
		s->out->len = s->seg_out;
		pt_put(s, '{');
		pt_put(s, 'n');
		pt_put(s, '}');
	} else if (s->hexish && s->has_digit && s->seg_len >= DT_ID_MIN_LEN) {
		s->out->len = s->seg_out;
		pt_put(s, '{');
		pt_put(s, 'i');
		pt_put(s, 'd');
		pt_put(s, '}');
	}
}

static long pt_step(__u32 i, void *vctx)
{
	struct pt_scan *s = (struct pt_scan *)vctx;
	char c;
	__u8 digit, lower;

	if (i >= s->len) {
		pt_end_segment(s);
		return 1;
	}
	c = s->path[i & DT_TARGET_MASK];
	if (c == '?' || c == '#' || c == 0) {
		pt_end_segment(s);
		return 1;
	}
	if (c == '/') {
		pt_end_segment(s);
		pt_put(s, '/');
		pt_start_segment(s);
		return 0;
	}
	digit = c >= '0' && c <= '9';
	lower = (__u8)(c | 0x20);
	if (!digit)
		s->digits = 0;
	else
		s->has_digit = 1;
	if (!digit && c != '-' && !(lower >= 'a' && lower <= 'f'))
		s->hexish = 0;
	s->seg_len++;
	pt_put(s, c);
	return 0;
}

/* A request target's bytes: a struct, so that a global BPF function knows
 * the size behind its pointer. */
struct dt_path_text {
	char text[DT_TARGET_MAX];
};

/* Template of the first len bytes of path into out, NUL terminated. A
 * global function: verified once, not on every path of its caller. */
DT_GLOBAL int dt_path_template_text(const struct dt_path_text *path, __u32 len,
				    struct dt_path_template *out)
{
	struct pt_scan s = {};

	if (!path || !out)
		return 0;
	s.path = path->text;
	s.out = out;
	s.len = len < DT_TARGET_MAX ? len : DT_TARGET_MAX - 1;
	out->len = 0;
	pt_start_segment(&s);
	/* the same values, which the verifier must not follow step by step */
	s.seg_len = DT_UNKNOWN(0);
	s.digits = (__u8)DT_UNKNOWN(1);
	s.hexish = (__u8)DT_UNKNOWN(1);
	s.has_digit = (__u8)DT_UNKNOWN(0);
	/* one step more than the bytes, so that the last segment ends too */
	DT_LOOP(s.len + 1, pt_step, &s);
	out->text[out->len & DT_TEMPLATE_MASK] = 0;
	return 0;
}

/* The same, for a buffer of DT_TARGET_MAX bytes or more. */
DT_INLINE void dt_path_template_of(const char *path, __u32 len, struct dt_path_template *out)
{
	dt_path_template_text((const struct dt_path_text *)path, len, out);
}

#endif /* DIFFTRACE_PATH_TEMPLATE_H */
