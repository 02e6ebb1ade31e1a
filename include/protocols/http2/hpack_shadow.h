/* The kernel's bounded HPACK shadow (docs/http2.md): what the filter needs
 * from a header block without decoding it, in plain C for both sides.
 *
 * A ring of the newest H2S_ENTRIES dynamic table entries per direction,
 * each only a name id and a value id: never the text. Index k of the
 * dynamic table is always the k-th newest entry, and an encoder never
 * names an entry it evicted, so the ring needs no size rule to be right: an
 * index among the entries it holds is certain; one past them (added before
 * we looked, or older than the ring) is unresolved, counted, never guessed.
 * (Sizes would need Huffman-decoded lengths, which the wire does not give.)
 *
 * Name ids: a static table index (1-61) when the name came from it, else
 * H2S_LITERAL | a hash of the name's wire bytes. Value ids: for :status and
 * grpc-status written as plain digits, the number | H2S_NUMBER; else a hash
 * of the wire bytes. What a block gives: :status, grpc-status, whether
 * content-type was seen, how many fields were unresolved, a request's
 * W3C traceparent as text (h2s_traceparent: raw, or Huffman-coded), and
 * its :path as text (h2s_path_value; the values of the newest :path
 * entries are kept, struct h2s_path_slot). */
#ifndef DIFFTRACE_HTTP2_HPACK_SHADOW_H
#define DIFFTRACE_HTTP2_HPACK_SHADOW_H

#include "dt/trace_context.h"
#include "protocols/http2/frame.h"
#include "protocols/http2/huffman.h"

#define H2S_ENTRIES 64 /* power of two */
#define H2S_MASK (H2S_ENTRIES - 1)
#define H2S_STATIC 61
#define H2S_LITERAL 0x80000000u
#define H2S_NUMBER 0x40000000u
/* Representations walked per block, and bytes of a number read. */
#define H2S_FIELDS 64

/* Static table names the filter needs (RFC 7541 appendix A). */
#define H2S_NAME_PATH 4          /* :path "/" (5: "/index.html", the same name) */
#define H2S_NAME_PATH_INDEX 5
#define H2S_NAME_STATUS 8        /* :status (8-14 with values) */
#define H2S_NAME_CONTENT_TYPE 31

/* A request's :path as text, for the endpoint key and the kept span: its
 * first H2S_PATH_MAX bytes (DT_KEEP_PATH, DT_TEMPLATE_MAX). The values of
 * the newest H2S_PATHS dynamic entries named :path are kept per direction
 * (struct h2s_table.paths), so that a client indexing its paths (grpc-core
 * does) still gives them; an entry older than those, or from before we
 * looked, gives an unresolved path, never a guessed one. */
#define H2S_PATH_MAX 64
#define H2S_PATH_MASK (H2S_PATH_MAX - 1)
#define H2S_PATHS 4 /* power of two */

enum h2s_path_state {
	H2S_PATH_NONE = 0,       /* no :path in the block */
	H2S_PATH_FOUND = 1,      /* text[0, len) */
	H2S_PATH_UNRESOLVED = 2, /* the block may name one the shadow does not hold:
				  * a field indexed past it, an evicted :path entry,
				  * an undecodable value, a lost or cut block */
};

struct h2s_path {
	char text[H2S_PATH_MAX];
	__u8 len;
	__u8 truncated;  /* the value was longer than text */
	__u8 state;      /* enum h2s_path_state */
	__u8 _pad;
};

/* A dynamic entry named :path and its value. */
struct h2s_path_slot {
	__u32 entry;     /* the entry's number (h2s_table.added when added) + 1; 0: empty */
	struct h2s_path path;
};

struct h2s_entry {
	__u32 name;  /* name id (above); 0: unknown */
	__u32 value; /* value id; 0: unknown */
};

struct h2s_table {
	struct h2s_entry e[H2S_ENTRIES];
	__u32 added;  /* entries added since we looked: the newest min(added, H2S_ENTRIES) */
	__u32 broken; /* a malformed block: every later index is unresolved */
	__u32 paths_added; /* :path entries added: the newest min(paths_added, H2S_PATHS) */
	__u32 _pad;
	struct h2s_path_slot paths[H2S_PATHS];
};

/* A request's traceparent, as the text HTTP/1's header scan copies
 * (struct dt_trace_ctx's fields): user space checks the hex. */
struct h2s_trace {
	char trace_id[32];
	char parent_id[16];
	char flags[2];
	__u8 found;   /* the three above were read */
	__u8 unread;  /* traceparent fields whose value could not be read (indexed
		       * whole, so its text is not held; Huffman symbols outside
		       * [0-9a-f-]; not of traceparent's shape) */
};

struct h2s_result {
	struct h2s_path path; /* a request's :path */
	struct h2s_trace trace;
	__u32 unresolved;   /* fields indexed past what the shadow holds */
	__u16 status;       /* :status, 0: none resolved */
	__u8 grpc_status;   /* valid when has_grpc_status */
	__u8 has_grpc_status;
	__u8 content_type;  /* a content-type field was seen */
	__u8 malformed;
	__u8 method;        /* :method by static index: 2 GET, 3 POST; 0: other or unresolved */
	__u8 cut;           /* more than H2S_FIELDS representations: the walk stopped, and
	                       the table is unknown from then on (t->broken) */
};

/* :status values of static indices 8-14. */
DT_INLINE __u16 h2s_static_status(__u32 i)
{
	switch (i) {
	case 8: return 200;
	case 9: return 204;
	case 10: return 206;
	case 11: return 304;
	case 12: return 400;
	case 13: return 404;
	case 14: return 500;
	default: return 0;
	}
}

struct h2s_hash_walk {
	const struct dt_window *w;
	__u32 off;
	__u32 h;
};

static long h2s_hash_step(__u32 k, void *vctx)
{
	struct h2s_hash_walk *s = (struct h2s_hash_walk *)vctx;

	s->h = (s->h ^ h2_byte(s->w, s->off + k)) * 16777619u;
	return 0;
}

/* FNV-1a of n wire bytes at off, never 0 and never a flag bit pattern. A
 * bpf_loop: as a byte loop in the field step, the verifier walked each of
 * its DT_WIN turns once per state of the step. */
DT_INLINE __u32 h2s_hash(const struct dt_window *w, __u32 off, __u32 n)
{
	struct h2s_hash_walk s = {.w = w, .off = off, .h = 2166136261u};

	if (n > DT_WIN)
		n = DT_WIN;
	DT_LOOP(n, h2s_hash_step, &s);
	return (s.h & 0x3fffffffu) | 1;
}

/* An HPACK integer with an n-bit prefix at *at (RFC 7541 5.1). 0: cut or
 * too long. This and h2s_string are global functions in BPF: verified once,
 * and *at unknown after each call, where inlined they multiplied the field
 * step's states by each way their loops can end. */
DT_GLOBAL int h2s_int(const struct dt_window *w, __u32 *at, __u32 end, int n, __u32 *out)
{
	__u32 max = (1u << (n & 7)) - 1, v, k;
	if (!w || !at || !out)
		return 0;
	if (*at >= end)
		return 0;
	v = h2_byte(w, *at) & max;
	(*at)++;
	if (v < max) {
		*out = v;
		return 1;
	}
	DT_NO_UNROLL
	for (k = 0; k < 4; k++) {
		__u8 c;
		if (*at >= end)
			return 0;
		c = h2_byte(w, *at);
		(*at)++;
		v += (__u32)(c & 0x7f) << (7 * k);
		if (!(c & 0x80)) {
			*out = v;
			return 1;
		}
	}
	return 0;
}

/* A string literal at *at: its wire id, or for a status name plain digits
 * as a number. 0: cut. */
DT_GLOBAL int h2s_string(const struct dt_window *w, __u32 *at, __u32 end, int number,
			 __u32 *id)
{
	__u32 len, v = 0, k, s;
	int huffman;
	if (!w || !at || !id)
		return 0;
	s = *at;
	if (*at >= end)
		return 0;
	huffman = h2_byte(w, *at) & 0x80;
	if (!h2s_int(w, at, end, 7, &len) || len > end - *at)
		return 0;
	*id = h2s_hash(w, s, *at - s + len); /* H bit and length included */
	if (number && !huffman && len && len <= 3) {
		DT_NO_UNROLL
		for (k = 0; k < 3; k++) {
			__u8 c;
			if (k >= len)
				break;
			c = h2_byte(w, *at + k);
			if (c < '0' || c > '9') {
				v = ~0u;
				break;
			}
			v = v * 10 + (c - '0');
		}
		if (v != ~0u)
			*id = v | H2S_NUMBER;
	}
	*at += len;
	return 1;
}

/* One character of a Huffman-coded traceparent at each bpf_loop turn. */
struct h2s_tp_walk {
	const struct dt_window *w;
	struct h2s_trace *out;
	__u32 at;    /* the string's first byte in the window */
	__u32 bit;   /* bits of it decoded */
	__u32 bits;  /* its length in bits */
	__u8 bad;
	__u8 _pad[3];
};

/* A byte of the coded string, or all ones past its end (HPACK pads the
 * last byte with the EOS code's ones). */
DT_INLINE __u32 h2s_tp_byte(const struct h2s_tp_walk *s, __u32 k)
{
	return k < (s->bits >> 3) ? h2_byte(s->w, s->at + k) : 0xff;
}

/* The symbol at s->bit among the only ones a traceparent uses (RFC 7541
 * appendix B): 5-bit 0 1 2 a c e, 6-bit - 3-9 b d f. Anything else ends the
 * decoding: it is not a traceparent we can read. */
static long h2s_tp_step(__u32 k, void *vctx)
{
	struct h2s_tp_walk *s = (struct h2s_tp_walk *)vctx;
	__u32 byte = s->bit >> 3, v, v5, v6, n = 6;
	char c;

	v = (h2s_tp_byte(s, byte) << 8) | h2s_tp_byte(s, byte + 1);
	v6 = (v >> (10 - (s->bit & 7))) & 0x3f;
	v5 = v6 >> 1;
	if (v5 <= 2)
		c = (char)('0' + v5), n = 5;
	else if (v5 <= 5)
		c = (char)('a' + 2 * (v5 - 3)), n = 5;
	else if (v6 == 0x16)
		c = '-';
	else if (v6 >= 0x19 && v6 <= 0x1f)
		c = (char)('3' + (v6 - 0x19));
	else if (v6 >= 0x23 && v6 <= 0x25)
		c = (char)('b' + 2 * (v6 - 0x23));
	else
		c = 0;
	if (!c || s->bit + n > s->bits) {
		s->bad = 1;
		return 1;
	}
	s->bit += n;
	if (k == 2 || k == DT_TP_PARENT - 1 || k == DT_TP_FLAGS - 1) {
		if (c != '-') {
			s->bad = 1;
			return 1;
		}
		return 0;
	}
	if (c == '-') {
		s->bad = 1;
		return 1;
	}
	if (k >= DT_TP_TRACE && k < DT_TP_TRACE + 32)
		s->out->trace_id[(k - DT_TP_TRACE) & 31] = c;
	else if (k >= DT_TP_PARENT && k < DT_TP_PARENT + 16)
		s->out->parent_id[(k - DT_TP_PARENT) & 15] = c;
	else if (k >= DT_TP_FLAGS && k < DT_TP_FLAGS + 2)
		s->out->flags[(k - DT_TP_FLAGS) & 1] = c;
	return 0;
}

/* A traceparent value, the string literal at `at`, into out (found), or
 * counted as unread. Raw: copied as HTTP/1's header scan copies it (its
 * dashes checked; the hex is user space's to check). Huffman-coded (as
 * grpc-go and nghttp2 send it whenever that is shorter, which for hex it
 * is): decoded symbol by symbol, 55 of them, each one of the 17 that
 * traceparent's alphabet has, and then only the padding may be left (a
 * longer value, a later version's, is left unread). A
 * global function in BPF: verified once. */
DT_GLOBAL int h2s_traceparent(const struct dt_window *w, __u32 at, __u32 end,
			      struct h2s_trace *out)
{
	struct h2s_tp_walk s = {};
	__u32 len;
	int huffman;

	if (!w || !out)
		return 0;
	out->found = 0;
	if (at >= end)
		goto unread;
	huffman = h2_byte(w, at) & 0x80;
	if (!h2s_int(w, &at, end, 7, &len) || len > end - at || len > DT_WIN)
		goto unread;
	if (!huffman) { /* as HTTP/1's header scan reads it */
		if (!dt_parse_traceparent(w, at, at + len, out->trace_id, out->parent_id,
					  out->flags))
			goto unread;
		out->found = 1;
		return 1;
	}
	s.w = w;
	s.out = out;
	s.at = at;
	s.bits = len * 8;
	/* unknown to the verifier: from a known 0 it would walk each turn's
	 * bit offset as a state of its own (include/dt/portable.h) */
	s.bit = DT_UNKNOWN(0);
	DT_LOOP(DT_TP_LEN, h2s_tp_step, &s);
	/* 55 symbols, then only the padding: fewer than 8 bits, all ones */
	if (s.bad || s.bit + 8 <= s.bits ||
	    (s.bit < s.bits && (~h2_byte(w, at + (s.bit >> 3)) & (0xffu >> (s.bit & 7)))))
		goto unread;
	out->found = 1;
	return 1;
unread:
	out->unread++;
	return 0;
}

/* One symbol of a Huffman-coded :path at each bpf_loop turn. */
struct h2s_huff_walk {
	const struct dt_window *w;
	struct h2s_path *out;
	__u32 at;    /* the string's first byte in the window */
	__u32 bit;   /* bits of it decoded */
	__u32 bits;  /* its length in bits */
	__u8 bad;
	__u8 _pad[3];
};

/* A byte of the coded string, or all ones past its end (HPACK pads the
 * last byte with the EOS code's ones). */
DT_INLINE __u32 h2s_huff_byte(const struct h2s_huff_walk *s, __u32 k)
{
	return k < (s->bits >> 3) ? h2_byte(s->w, s->at + k) : 0xff;
}

static long h2s_huff_step(__u32 k, void *vctx)
{
	struct h2s_huff_walk *s = (struct h2s_huff_walk *)vctx;
	__u32 byte = s->bit >> 3, left, v, n;
	__u64 x;
	int sym;

	(void)k;
	if (s->bit >= s->bits)
		return 1;
	left = s->bits - s->bit;
	x = ((__u64)h2s_huff_byte(s, byte) << 32) | ((__u64)h2s_huff_byte(s, byte + 1) << 24) |
	    ((__u64)h2s_huff_byte(s, byte + 2) << 16) | ((__u64)h2s_huff_byte(s, byte + 3) << 8) |
	    (__u64)h2s_huff_byte(s, byte + 4);
	v = (__u32)(x >> (8 - (s->bit & 7)));
	/* the padding: fewer than 8 bits, all ones (no code of 7 bits or
	 * fewer is all ones) */
	if (left < 8 && (v >> (32 - left)) == (1u << left) - 1) {
		s->bit = s->bits;
		return 1;
	}
	sym = h2_huff_symbol(v);
	n = (__u32)sym >> 16;
	sym &= 0xffff;
	if (sym == H2_HUFF_EOS || n > left) {
		s->bad = 1;
		return 1;
	}
	if (s->out->len >= H2S_PATH_MAX) {
		s->out->truncated = 1;
		return 1;
	}
	s->out->text[s->out->len & H2S_PATH_MASK] = (char)sym;
	s->out->len++;
	s->bit += n;
	return 0;
}

/* A :path value, the string literal at `at`, into out: raw, its first
 * H2S_PATH_MAX bytes copied; Huffman-coded, decoded symbol by symbol up to
 * as many. 1: found; 0: unreadable (cut, or not a valid code), out's state
 * unresolved. A global function in BPF: verified once. */
DT_GLOBAL int h2s_path_value(const struct dt_window *w, __u32 at, __u32 end,
			     struct h2s_path *out)
{
	struct h2s_huff_walk s = {};
	__u32 len, n;
	int huffman;

	if (!w || !out)
		return 0;
	out->len = 0;
	out->truncated = 0;
	out->state = H2S_PATH_UNRESOLVED;
	if (at >= end)
		return 0;
	huffman = h2_byte(w, at) & 0x80;
	if (!h2s_int(w, &at, end, 7, &len) || len > end - at || len > DT_WIN)
		return 0;
	if (!huffman) {
		n = len < H2S_PATH_MAX ? len : H2S_PATH_MAX;
		DT_BOUND(n);
		if (n > H2S_PATH_MAX)
			return 0; /* never: a bound the verifier can see */
		if (n) /* within the window's slack; a failed copy leaves zeros */
			DT_COPY(out->text, &w->data[at & DT_WIN_MASK], n);
		out->len = (__u8)n;
		out->truncated = len > n;
		out->state = H2S_PATH_FOUND;
		return 1;
	}
	s.w = w;
	s.out = out;
	s.at = at;
	s.bits = len * 8;
	s.bit = DT_UNKNOWN(0); /* as h2s_traceparent's walk */
	DT_LOOP(H2S_PATH_MAX + 1, h2s_huff_step, &s);
	if (s.bad) {
		out->len = 0;
		return 0;
	}
	out->state = H2S_PATH_FOUND;
	return 1;
}

/* The :path text of entry number `entry` (h2s_table.added when it was
 * added), into out: unresolved when its slot was taken by a newer one. */
DT_INLINE void h2s_path_of_entry(const struct h2s_table *t, __u32 entry, struct h2s_path *out)
{
	__u32 k;

	DT_NO_UNROLL
	for (k = 0; k < H2S_PATHS; k++) {
		if (t->paths[k].entry == entry + 1) {
			*out = t->paths[k].path;
			return;
		}
	}
	out->len = 0;
	out->state = H2S_PATH_UNRESOLVED;
}

/* The ids ":path" has as a literal name (encoders name it by its static
 * index, but may not): plain "\x05:path", and Huffman-coded
 * "\x84\xb9\x58\xd3\x3f" (tests/unit/test_hpack_shadow.cpp checks both). */
#define H2S_PATH_NAME 0x986006a5u
#define H2S_PATH_HUFF 0xa20f9ca5u

DT_INLINE int h2s_is_path_name(__u32 name)
{
	return name == H2S_NAME_PATH || name == H2S_NAME_PATH_INDEX || name == H2S_PATH_NAME ||
	       name == H2S_PATH_HUFF;
}

/* The entry behind a dynamic index d (0: newest); 0 when not held. */
DT_INLINE const struct h2s_entry *h2s_dynamic(const struct h2s_table *t, __u32 d)
{
	if (t->broken || d >= t->added || d >= H2S_ENTRIES)
		return 0;
	return &t->e[(t->added - 1 - d) & H2S_MASK];
}

/* :path of static index 4 ("/") or 5 ("/index.html"). */
DT_INLINE void h2s_static_path(struct h2s_path *out, __u32 idx)
{
	/* stores of immediates: no string in .rodata */
	__u64 index_html = 0x682e7865646e692full; /* "/index.h" little-endian */

	out->truncated = 0;
	out->state = H2S_PATH_FOUND;
	if (idx == H2S_NAME_PATH) {
		out->text[0] = '/';
		out->len = 1;
		return;
	}
	__builtin_memcpy(out->text, &index_html, 8);
	out->text[8] = 't';
	out->text[9] = 'm';
	out->text[10] = 'l';
	out->len = 11;
}

/* A resolved field: what it tells the filter. */
DT_INLINE void h2s_field(struct h2s_result *r, __u32 name, __u32 value)
{
	if (name == H2S_NAME_STATUS && (value & H2S_NUMBER))
		r->status = (__u16)(value & 0xffff);
	else if (name == H2S_NAME_CONTENT_TYPE)
		r->content_type = 1;
}

/* One block's state during the walk (a bpf_loop callback's context). */
struct h2s_walk {
	struct h2s_table *t;
	const struct dt_window *w;
	struct h2s_result *r;
	__u32 at, end;
	__u32 grpc_status_name; /* the id "grpc-status" has as a literal name ... */
	__u32 grpc_status_huff; /* ... and Huffman-coded */
	__u32 traceparent_name; /* the same for "traceparent" (~0: not looked for) */
	__u32 traceparent_huff;
};

static long h2s_step(__u32 unused, void *vctx)
{
	struct h2s_walk *s = (struct h2s_walk *)vctx;
	const struct h2s_entry *e = 0;
	__u32 idx = 0, name = 0, value = 0, value_at;
	__u8 c;
	int indexing, status_name;

	(void)unused;
	if (s->at >= s->end)
		return 1;
	c = h2_byte(s->w, s->at);
	if (c & 0x80) { /* indexed field */
		if (!h2s_int(s->w, &s->at, s->end, 7, &idx) || !idx)
			goto bad;
		if (idx <= H2S_STATIC) {
			if (idx == 2 || idx == 3)
				s->r->method = (__u8)idx;
			if (h2s_is_path_name(idx))
				h2s_static_path(&s->r->path, idx);
			h2s_field(s->r, idx >= 8 && idx <= 14 ? H2S_NAME_STATUS : idx,
				  h2s_static_status(idx) | H2S_NUMBER);
			return 0;
		}
		e = h2s_dynamic(s->t, idx - H2S_STATIC - 1);
		if (!e || !e->name || !e->value)
			s->r->unresolved++;
		else if (h2s_is_path_name(e->name))
			h2s_path_of_entry(s->t, s->t->added - 1 - (idx - H2S_STATIC - 1),
					  &s->r->path);
		else if (e->name == s->traceparent_name || e->name == s->traceparent_huff)
			s->r->trace.unread++; /* indexed whole: its text is not held */
		else if ((e->name == s->grpc_status_name || e->name == s->grpc_status_huff) &&
			 (e->value & H2S_NUMBER))
			s->r->grpc_status = (__u8)e->value, s->r->has_grpc_status = 1;
		else
			h2s_field(s->r, e->name, e->value);
		return 0;
	}
	if ((c & 0xe0) == 0x20) { /* table size update: nothing to keep */
		if (!h2s_int(s->w, &s->at, s->end, 5, &idx))
			goto bad;
		return 0;
	}
	indexing = (c & 0xc0) == 0x40;
	if (!h2s_int(s->w, &s->at, s->end, indexing ? 6 : 4, &idx))
		goto bad;
	if (idx) {
		if (idx <= H2S_STATIC) {
			name = idx >= 8 && idx <= 14 ? H2S_NAME_STATUS : idx;
		} else {
			e = h2s_dynamic(s->t, idx - H2S_STATIC - 1);
			name = e ? e->name : 0;
		}
	} else {
		if (!h2s_string(s->w, &s->at, s->end, 0, &name))
			goto bad;
		name |= H2S_LITERAL;
	}
	status_name = name == H2S_NAME_STATUS || name == s->grpc_status_name ||
		      name == s->grpc_status_huff;
	value_at = s->at;
	if (!h2s_string(s->w, &s->at, s->end, status_name, &value))
		goto bad;
	if (name == s->traceparent_name || name == s->traceparent_huff)
		h2s_traceparent(s->w, value_at, s->end, &s->r->trace);
	if (h2s_is_path_name(name)) {
		h2s_path_value(s->w, value_at, s->end, &s->r->path);
		if (indexing) { /* the entry added below, as entry number added */
			struct h2s_path_slot *p = &s->t->paths[s->t->paths_added & (H2S_PATHS - 1)];
			p->entry = s->t->added + 1;
			p->path = s->r->path;
			s->t->paths_added++;
		}
	}
	if (!name)
		s->r->unresolved++;
	else if ((name == s->grpc_status_name || name == s->grpc_status_huff) &&
		 (value & H2S_NUMBER))
		s->r->grpc_status = (__u8)value, s->r->has_grpc_status = 1;
	else
		h2s_field(s->r, name, value);
	if (indexing) {
		struct h2s_entry *n = &s->t->e[s->t->added & H2S_MASK];
		n->name = name;
		n->value = value;
		s->t->added++;
	}
	return 0;
bad:
	s->t->broken = 1;
	s->r->malformed = 1;
	return 1;
}

/* The ids "grpc-status" has as a literal name: h2s_hash of its wire bytes,
 * plain "\x0bgrpc-status" (grpc-core's), and Huffman-coded
 * "\x88\x9a\xca\xc8\xb2\x12\x34\xda\x8f" (grpc-go's: Go's encoder codes a
 * string whenever that is shorter), with H2S_LITERAL (tests/unit/
 * test_hpack_shadow.cpp checks both). Its values, one or two digits, are
 * never shorter coded, so they come plain. */
#define H2S_GRPC_STATUS_NAME 0xb13b021fu
#define H2S_GRPC_STATUS_HUFF 0x8d138665u
/* The same for "traceparent": plain "\x0btraceparent", and Huffman-coded
 * "\x88\x4d\x83\x21\x6b\x1d\x85\xa9\x3f" (8 bytes for 11: grpc-go and
 * nghttp2 send it so; tests/unit/test_hpack_shadow.cpp checks both against
 * libnghttp2's encoder). */
#define H2S_TRACEPARENT_NAME 0xacce2057u
#define H2S_TRACEPARENT_HUFF 0xba0fee21u

/* Walks one complete header block that lies in the window at [off, off + len);
 * a request's (request != 0) traceparent is read too. */
DT_INLINE void h2s_block(struct h2s_table *t, const struct dt_window *w, __u32 off, __u32 len,
			 int request, struct h2s_result *r)
{
	struct h2s_walk s = {};
	__builtin_memset(r, 0, sizeof(*r));
	if (t->broken) {
		r->malformed = 1;
		if (request)
			r->path.state = H2S_PATH_UNRESOLVED;
		return;
	}
	s.t = t;
	s.w = w;
	s.r = r;
	s.at = off;
	s.end = off + len > DT_WIN ? DT_WIN : off + len;
	s.grpc_status_name = H2S_GRPC_STATUS_NAME;
	s.grpc_status_huff = H2S_GRPC_STATUS_HUFF;
	/* a name id is never ~0 (h2s_hash) */
	s.traceparent_name = request ? H2S_TRACEPARENT_NAME : ~0u;
	s.traceparent_huff = request ? H2S_TRACEPARENT_HUFF : ~0u;
	DT_LOOP(H2S_FIELDS, h2s_step, &s);
	if (s.at < s.end && !r->malformed) {
		t->broken = 1;
		r->cut = 1;
	}
	/* A field it could not resolve may have been the :path. */
	if (request && r->path.state == H2S_PATH_NONE && (r->unresolved || r->cut || r->malformed))
		r->path.state = H2S_PATH_UNRESOLVED;
}

#endif /* DIFFTRACE_HTTP2_HPACK_SHADOW_H */
