/* HTTP/2 frames (RFC 9113, section 4 and 6): the 9-byte frame header, the
 * rules each frame type's header must keep, and inference (is this I/O
 * the client preface, or frames on a connection already open?). Plain C
 * for the BPF programs and the host alike. */
#ifndef DIFFTRACE_HTTP2_FRAME_H
#define DIFFTRACE_HTTP2_FRAME_H

#include "dt/chunk.h"
#include "protocols/protocol.h"

#define H2_FRAME_HEADER 9
/* "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": the client's first bytes. */
#define H2_PREFACE_LEN 24
/* The first 16 bytes of the preface are enough to tell it. */
#define H2_PREFACE_MATCH 16
/* SETTINGS_MAX_FRAME_SIZE's default. Larger frames need a setting the
 * follower may not have seen, so inference (where binary protocols must not
 * pass for HTTP/2) holds to it; a connection already followed accepts the
 * protocol's maximum, 2^24 - 1. */
#define H2_DEFAULT_MAX_FRAME 16384
/* Frame headers that inference checks in one window. */
#define H2_INFER_FRAMES 8

enum h2_frame_type {
	H2_DATA = 0,
	H2_HEADERS = 1,
	H2_PRIORITY = 2,
	H2_RST_STREAM = 3,
	H2_SETTINGS = 4,
	H2_PUSH_PROMISE = 5,
	H2_PING = 6,
	H2_GOAWAY = 7,
	H2_WINDOW_UPDATE = 8,
	H2_CONTINUATION = 9,
};

enum h2_frame_flag {
	H2_F_END_STREAM = 0x1,  /* DATA, HEADERS */
	H2_F_ACK = 0x1,         /* SETTINGS, PING */
	H2_F_END_HEADERS = 0x4, /* HEADERS, PUSH_PROMISE, CONTINUATION */
	H2_F_PADDED = 0x8,      /* DATA, HEADERS, PUSH_PROMISE */
	H2_F_PRIORITY = 0x20,   /* HEADERS */
};

struct h2_frame {
	__u32 length;  /* payload bytes */
	__u32 stream;  /* reserved bit cleared */
	__u8 type;     /* enum h2_frame_type */
	__u8 flags;
	__u8 _pad[2];
};

DT_INLINE __u32 h2_be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

DT_INLINE void h2_frame_decode(const __u8 *h, struct h2_frame *f)
{
	f->length = (__u32)h[0] << 16 | (__u32)h[1] << 8 | h[2];
	f->type = h[3];
	f->flags = h[4];
	f->stream = h2_be32(h + 5) & 0x7fffffffu;
}

/* Does a frame header keep its type's rules (stream 0 or not, fixed
 * lengths)? Unknown types are legal HTTP/2 (and skipped) but say nothing
 * for inference: known_only refuses them. */
DT_INLINE int h2_frame_valid(const struct h2_frame *f, int known_only)
{
	switch (f->type) {
	case H2_DATA:
	case H2_HEADERS:
	case H2_PUSH_PROMISE:
	case H2_CONTINUATION:
		return f->stream != 0;
	case H2_PRIORITY:
		return f->stream != 0 && f->length == 5;
	case H2_RST_STREAM:
		return f->stream != 0 && f->length == 4;
	case H2_SETTINGS:
		return f->stream == 0 && f->length % 6 == 0 && (!(f->flags & H2_F_ACK) || !f->length);
	case H2_PING:
		return f->stream == 0 && f->length == 8;
	case H2_GOAWAY:
		return f->stream == 0 && f->length >= 8;
	case H2_WINDOW_UPDATE:
		return f->length == 4;
	default:
		return !known_only;
	}
}

/* The flags a known frame type defines (RFC 9113 section 6). A receiver
 * ignores the others, but no sender we know sets them: inference refuses a
 * header with one, as garbage that passes the type's other rules (a TLS
 * ClientHello's cipher list read as a HEADERS frame) often has some. */
DT_INLINE __u8 h2_defined_flags(__u8 type)
{
	switch (type) {
	case H2_DATA:
		return H2_F_END_STREAM | H2_F_PADDED;
	case H2_HEADERS:
		return H2_F_END_STREAM | H2_F_END_HEADERS | H2_F_PADDED | H2_F_PRIORITY;
	case H2_SETTINGS:
	case H2_PING:
		return H2_F_ACK;
	case H2_PUSH_PROMISE:
		return H2_F_END_HEADERS | H2_F_PADDED;
	case H2_CONTINUATION:
		return H2_F_END_HEADERS;
	default:
		return 0;
	}
}

/* The bytes of the window at off (masked: in bounds for the verifier). */
DT_INLINE __u8 h2_byte(const struct dt_window *w, __u32 off)
{
	return w->data[off & DT_WIN_MASK];
}

/* Byte k of the client preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", from
 * three little-endian words: no string in .rodata for the BPF side. */
DT_INLINE __u8 h2_preface_byte(__u32 k)
{
	__u64 word = k < 8 ? 0x5448202a20495250ULL        /* "PRI * HT" */
		     : k < 16 ? 0x0a0d302e322f5054ULL /* "TP/2.0\r\n" */
			      : 0x0a0d0a0d4d530a0dULL; /* "\r\nSM\r\n\r\n" */
	return (__u8)(word >> ((k & 7) * 8));
}

/* 1: the n window bytes at pos are the preface's from its byte at on. A
 * global function in BPF: verified once; inlined, its loop was walked once
 * per state of each caller (the follower's step among them). */
DT_GLOBAL int h2_preface_match(const struct dt_window *w, __u32 pos, __u32 at, __u32 n)
{
	__u32 k;
	if (!w)
		return 0;
	DT_NO_UNROLL
	for (k = 0; k < H2_PREFACE_LEN; k++) {
		if (k >= n)
			break;
		if (h2_byte(w, pos + k) != h2_preface_byte(at + k))
			return 0;
	}
	return 1;
}

/* The window starts with the preface (its first 16 bytes), or is shorter
 * and all of it is the preface's start (an I/O cut that short; what follows
 * is checked as it is skipped). */
DT_INLINE int h2_is_preface(const struct dt_window *w, __u32 len)
{
	if (!len)
		return 0;
	return h2_preface_match(w, 0, 0, len < H2_PREFACE_MATCH ? len : H2_PREFACE_MATCH);
}

/* Inference's walk over the frame headers of a window. */
struct h2_infer_walk {
	const struct dt_window *w;
	__u32 at;   /* the next frame header */
	__u32 len;  /* bytes in the window */
	int res;    /* DT_START_FRAMES until a header breaks a rule */
	__u32 _pad;
};

/* One frame header: 1 stops (past the window, or a rule broken). A
 * bpf_loop callback: unrolled, the frame types' rules multiplied the
 * verifier's states by each header checked. */
static long h2_infer_step(__u32 unused, void *vctx)
{
	struct h2_infer_walk *s = (struct h2_infer_walk *)vctx;
	struct h2_frame f;
	__u8 h[H2_FRAME_HEADER];

	(void)unused;
	if (s->at >= DT_WIN || s->at + H2_FRAME_HEADER > s->len)
		return 1;
	DT_COPY(h, &s->w->data[s->at & DT_WIN_MASK], H2_FRAME_HEADER);
	h2_frame_decode(h, &f);
	/* reserved bit and undefined flags: set by no sender we know */
	if ((h[5] & 0x80) || f.length > H2_DEFAULT_MAX_FRAME || !h2_frame_valid(&f, 1) ||
	    (f.flags & ~h2_defined_flags(f.type))) {
		s->res = DT_START_NONE;
		return 1;
	}
	s->at += H2_FRAME_HEADER + f.length;
	return 0;
}

/* Does this I/O start HTTP/2? DT_START_REQUEST for the client preface;
 * DT_START_FRAMES for a run of well-formed frame headers (a connection
 * already open): every frame header that starts inside the window (up to
 * H2_INFER_FRAMES of them) keeps its type's rules and the default maximum
 * size, and one cut by the window's end is not judged. */
DT_INLINE int h2_infer(const struct dt_window *w, __u32 len)
{
	struct h2_infer_walk s = {};

	if (len > DT_WIN)
		len = DT_WIN;
	if (h2_is_preface(w, len) && (len >= H2_PREFACE_MATCH || len < H2_FRAME_HEADER))
		return DT_START_REQUEST;
	if (len < H2_FRAME_HEADER)
		return DT_START_NONE;
	s.w = w;
	s.at = DT_UNKNOWN(0);
	s.len = len;
	s.res = DT_START_FRAMES;
	DT_LOOP(H2_INFER_FRAMES, h2_infer_step, &s);
	return s.res;
}

#endif /* DIFFTRACE_HTTP2_FRAME_H */
