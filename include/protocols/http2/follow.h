/* The HTTP/2 frame follower: h2_feed and h2_close, the protocol's side of
 * include/protocols/protocol.h. It walks each direction's frames, opens a
 * stream at a request's HEADERS, closes it at END_STREAM both ways (after
 * the header block's CONTINUATIONs), at RST_STREAM, above a GOAWAY's last
 * stream id, or at the connection's close, and reports where each header
 * block fragment lies so that whoever has the bytes (replay; the kernel's
 * event) can decode it with HPACK. Payloads are only counted: no payload
 * byte is read but a frame's padding length, priority and GOAWAY's last
 * stream id.
 *
 * One call takes a "piece" of one I/O: its first DT_WIN bytes in the
 * window, its length in ch->total_len. It stops early, with out->consumed
 * short of the piece, when a stream finished (DT_FEED_DONE, the stream
 * copied to *done), a fragment was found (H2_FEED_FRAGMENT, out->frag), a
 * frame head lies past the window, or H2_STEPS frames were walked; the
 * caller then feeds the rest of the I/O again (the kernel re-reads the
 * window at the new offset). A call consumes at least one byte unless it
 * finished a stream, so a caller that loops on it ends. A frame head cut
 * by the end of an I/O is kept (struct h2_dir.head) for the next. */
#ifndef DIFFTRACE_HTTP2_FOLLOW_H
#define DIFFTRACE_HTTP2_FOLLOW_H

#include "protocols/http2/stream_store.h"

#define H2_ROLE_SERVER 1 /* enum http_role's values */
#define H2_ROLE_CLIENT 2

/* One call's walk, shared with the per-frame step. */
struct h2_walk {
	struct h2_conn *c;
	const struct dt_window *w;
	const struct dt_chunk *ch;
	struct h2_stream *done;
	struct h2_out *out;
	__u32 pos;     /* next byte of the piece */
	__u32 total;   /* bytes in the piece */
	__u32 win;     /* of which in the window */
	__u32 res;     /* result bits so far */
	__u8 dir;
	__u8 _pad[7];
};

DT_INLINE int h2_req_dir(const struct h2_conn *c)
{
	return c->role == H2_ROLE_SERVER ? DT_DIR_INGRESS : DT_DIR_EGRESS;
}

/* Copies a finished stream to *done and forgets it. */
DT_INLINE void h2_finish_to(struct h2_conn *c, struct h2_stream *st, __u8 reason,
			    struct h2_stream *done)
{
	DT_COPY(done, st, sizeof(*st));
	done->end_reason = reason;
	h2_free(c, st);
}

/* What a frame does to its stream, by plain arguments: global functions in
 * BPF, each verified once. Inlined in the frame step (a bpf_loop callback),
 * their stream map lookups and branches multiplied its paths, several
 * hundred thousand verified instructions. */

/* Frame bytes moved on stream id in direction dir at ts: counted, and its
 * times moved on. */
DT_GLOBAL int h2_stream_bytes(struct h2_conn *c, __u32 id, __u32 n, __u32 dir, __u64 ts)
{
	struct h2_stream *st;
	if (!c)
		return 0;
	st = h2_find(c, id);
	if (!st)
		return 0;
	if (dir == (__u32)h2_req_dir(c)) {
		st->req_bytes += n;
		st->req_end_ns = ts;
	} else {
		st->resp_bytes += n;
		st->end_ns = ts;
	}
	return 0;
}

/* END_STREAM from direction dir on stream id: DT_FEED_DONE when that ends
 * it (copied to *done). */
DT_GLOBAL int h2_stream_end(struct h2_conn *c, __u32 id, __u32 dir, struct h2_stream *done)
{
	struct h2_stream *st;
	if (!c || !done)
		return 0;
	st = h2_find(c, id);
	if (!st)
		return 0;
	st->bits |= dir == (__u32)h2_req_dir(c) ? H2_S_REQ_END : H2_S_RESP_END;
	if (!(st->bits & H2_S_REQ_END) || !(st->bits & H2_S_RESP_END))
		return 0;
	h2_finish_to(c, st, H2_END_COMPLETE, done);
	return DT_FEED_DONE;
}

/* RST_STREAM on stream id: DT_FEED_DONE when a followed stream ends. */
DT_GLOBAL int h2_stream_reset(struct h2_conn *c, __u32 id, struct h2_stream *done)
{
	struct h2_stream *st;
	if (!c || !done)
		return 0;
	st = h2_find(c, id);
	if (!st)
		return 0;
	st->bits |= H2_S_RESET;
	h2_finish_to(c, st, H2_END_RESET, done);
	return DT_FEED_DONE;
}

/* A HEADERS frame from direction dir (an I/O between ts_enter and ts_exit)
 * begins a header block on stream id: which one is it (enum h2_block)?
 * DT_FEED_STARTED << 8 is added when it opened a stream. */
DT_GLOBAL int h2_stream_headers(struct h2_conn *c, __u32 id, __u32 dir, __u64 ts_enter,
				__u64 ts_exit)
{
	struct h2_stream *st;

	if (!c)
		return H2_BLOCK_UNTRACKED;
	if (!c->role) /* whoever sends the first HEADERS opens streams */
		c->role = dir == DT_DIR_INGRESS ? H2_ROLE_SERVER : H2_ROLE_CLIENT;
	st = h2_find(c, id);
	if (dir == (__u32)h2_req_dir(c)) {
		if (st)
			return H2_BLOCK_REQ_TRAILERS;
		/* Past a GOAWAY's last id a stream is never processed. */
		if (c->goaway_last && id > c->goaway_last)
			return H2_BLOCK_UNTRACKED;
		st = h2_new(c, id);
		if (!st) {
			c->streams_untracked++;
			return H2_BLOCK_UNTRACKED;
		}
		st->bits = H2_S_REQ_HEADERS;
		/* A server's span starts when it has read the request, a
		 * client's when it begins writing it (as HTTP/1's). */
		st->start_ns = dir == DT_DIR_INGRESS ? ts_exit : ts_enter;
		st->req_end_ns = ts_exit;
		return H2_BLOCK_REQUEST | DT_FEED_STARTED << 8;
	}
	if (!st)
		return H2_BLOCK_UNTRACKED; /* opened before us, or pushed */
	st->bits |= H2_S_RESP_HEADERS;
	if (st->resp_blocks < 255)
		st->resp_blocks++;
	if (st->resp_blocks == 1)
		return H2_BLOCK_RESPONSE;
	st->bits |= H2_S_TRAILERS;
	return H2_BLOCK_TRAILERS;
}

DT_INLINE void h2_finish(struct h2_walk *s, struct h2_stream *st, __u8 reason)
{
	h2_finish_to(s->c, st, reason, s->done);
	s->res |= DT_FEED_DONE;
}

DT_INLINE void h2_account(struct h2_walk *s, __u32 id, __u32 n)
{
	h2_stream_bytes(s->c, id, n, s->dir, s->ch->ts_exit);
}

DT_INLINE void h2_report(struct h2_walk *s, __u32 len, __u8 last)
{
	struct h2_dir *d = &s->c->dir[s->dir & 1];
	s->out->frag.off = s->pos;
	s->out->frag.len = len;
	s->out->frag.stream = d->block_stream;
	s->out->frag.kind = d->block_kind;
	s->out->frag.last = last;
	s->out->frag.dir = s->dir;
	s->res |= H2_FEED_FRAGMENT;
}

DT_INLINE void h2_invalid(struct h2_walk *s)
{
	s->c->state = H2_CONN_INVALID;
	s->res |= DT_FEED_INVALID;
}

/* The current frame's payload is all here (direction dir): what it ends;
 * DT_FEED_DONE when a stream finished (copied to *done). */
DT_GLOBAL int h2_frame_done(struct h2_conn *c, struct h2_dir *d, __u32 dir,
			    struct h2_stream *done)
{
	if (!c || !d || !done)
		return 0;
	switch (d->type) {
	case H2_HEADERS:
	case H2_CONTINUATION:
	case H2_PUSH_PROMISE:
		if (!(d->flags & H2_F_END_HEADERS))
			break;
		d->block_open = 0;
		/* END_STREAM counts once the block (with its CONTINUATIONs) ends. */
		if (d->block_end_stream)
			return h2_stream_end(c, d->block_stream, dir, done);
		break;
	case H2_DATA:
		if (d->flags & H2_F_END_STREAM)
			return h2_stream_end(c, d->stream, dir, done);
		break;
	case H2_RST_STREAM:
		return h2_stream_reset(c, d->stream, done);
	default:
		break;
	}
	return 0;
}

DT_INLINE void h2_frame_end(struct h2_walk *s, struct h2_dir *d)
{
	s->res |= (__u32)h2_frame_done(s->c, d, s->dir, s->done);
}

/* Bytes of the current frame's payload: a fragment's, or counted. */
DT_INLINE void h2_payload(struct h2_walk *s, struct h2_dir *d)
{
	__u32 n = s->total - s->pos, f;
	if (n > d->remaining)
		n = d->remaining;
	if (d->frag_left) {
		f = n < d->frag_left ? n : d->frag_left;
		h2_report(s, f, f == d->frag_left && (d->flags & H2_F_END_HEADERS));
		d->frag_left -= f;
		n = f;
	}
	h2_account(s, d->stream, n);
	s->pos += n;
	d->remaining -= n;
	if (!d->remaining)
		h2_frame_end(s, d);
}

/* Gathers the frame head's first `need` bytes into d->head. 1: all there;
 * 0: the piece ended (kept for the next I/O) or the window did (the
 * caller re-reads it at s->pos): the call stops either way. */
DT_INLINE int h2_gather(struct h2_walk *s, struct h2_dir *d, __u32 need)
{
	__u32 have = d->head_len, want;
	if (have >= need)
		return 1;
	want = need - have;
	if (s->pos + want > s->win) {
		if (s->total > s->win) {
			if (!s->pos)
				h2_invalid(s); /* cannot happen with a full window */
			return 0;          /* the caller gives a window from pos */
		}
		want = s->total - s->pos; /* the I/O ends inside the head */
	}
	/* One copy, no loop: a byte loop here had the verifier walk a state
	 * per (have, want) pair in the step callback, past 1,000,000. */
	DT_BOUND(want);
	if (want > H2_HEAD_MAX - have || have >= H2_HEAD_MAX) {
		h2_invalid(s); /* never: a frame head and its prefix fit */
		return 0;
	}
	if (want)
		DT_COPY(d->head + (have & (H2_HEAD_MAX - 1)), &s->w->data[s->pos & DT_WIN_MASK],
			want & (H2_HEAD_MAX * 2 - 1));
	d->head_len = (__u8)(have + want);
	s->pos += want;
	return d->head_len >= need;
}

/* Bytes of the payload read with the frame header, -1: none fit. */
DT_INLINE int h2_prefix_len(const struct h2_frame *f)
{
	int pad = (f->flags & H2_F_PADDED) ? 1 : 0;
	switch (f->type) {
	case H2_HEADERS:
		return pad + ((f->flags & H2_F_PRIORITY) ? 5 : 0);
	case H2_PUSH_PROMISE:
		return pad + 4;
	case H2_GOAWAY:
		return 4;
	default:
		return 0;
	}
}

/* h2_frame_setup's result bits, beside DT_FEED_STARTED. */
#define H2_SETUP_INVALID 0x100     /* the frame breaks the framing */
#define H2_SETUP_EMPTY_BLOCK 0x200 /* an empty header block that ends here */

/* The frame head in d->head: -1 if it breaks its type's rules, else how
 * many bytes of its payload are read with it. */
DT_GLOBAL int h2_head_prefix(const struct h2_dir *d)
{
	struct h2_frame f;
	int prefix;

	if (!d)
		return -1;
	h2_frame_decode(d->head, &f);
	prefix = h2_prefix_len(&f);
	if (!h2_frame_valid(&f, 0) || (__u32)prefix > f.length)
		return -1;
	return prefix;
}

/* A frame header and its prefix are complete in d->head (the I/O ch, its
 * direction and times): the frame begins. Bits:
 * DT_FEED_STARTED, H2_SETUP_INVALID, H2_SETUP_EMPTY_BLOCK. A global
 * function in BPF: the frame types' branches, inlined in the step, each
 * carried their own copy of the rest of it through the verifier. */
DT_GLOBAL int h2_frame_setup(struct h2_conn *c, struct h2_dir *d, const struct dt_chunk *ch,
			     __u32 prefix)
{
	struct h2_frame f;
	__u32 payload, pad = 0, dir;
	int res = 0, kind;

	if (!c || !d || !ch)
		return H2_SETUP_INVALID;
	dir = ch->dir & 1;
	h2_frame_decode(d->head, &f);
	payload = f.length - prefix;
	c->frames++;
	if (d->block_open && (f.type != H2_CONTINUATION || f.stream != d->block_stream))
		return H2_SETUP_INVALID; /* a header block is interrupted: a protocol error */
	if ((f.type == H2_HEADERS || f.type == H2_PUSH_PROMISE) && (f.flags & H2_F_PADDED))
		pad = d->head[H2_FRAME_HEADER];
	if (pad > payload)
		return H2_SETUP_INVALID;
	d->type = f.type;
	d->flags = f.flags;
	d->stream = f.stream;
	d->remaining = payload;
	d->frag_left = 0;
	switch (f.type) {
	case H2_HEADERS:
		kind = h2_stream_headers(c, f.stream, dir, ch->ts_enter, ch->ts_exit);
		res |= (kind >> 8) & DT_FEED_STARTED;
		d->block_kind = (__u8)kind;
		d->block_end_stream = (f.flags & H2_F_END_STREAM) != 0;
		break;
	case H2_PUSH_PROMISE: /* its block is the promised request's: kept in step only */
		d->block_kind = H2_BLOCK_UNTRACKED;
		d->block_end_stream = 0;
		break;
	case H2_CONTINUATION:
		if (!d->block_open)
			return H2_SETUP_INVALID;
		break;
	case H2_GOAWAY:
		c->goaway_last = h2_be32(d->head + H2_FRAME_HEADER) & 0x7fffffffu;
		c->goaway = 1;
		break;
	default:
		break;
	}
	if (f.type == H2_HEADERS || f.type == H2_PUSH_PROMISE || f.type == H2_CONTINUATION) {
		d->block_stream = f.stream;
		d->block_open = 1;
		d->frag_left = payload - pad;
		if (!d->frag_left && (f.flags & H2_F_END_HEADERS))
			res |= H2_SETUP_EMPTY_BLOCK; /* an empty block still ends */
	}
	h2_stream_bytes(c, f.stream, H2_FRAME_HEADER + prefix, dir, ch->ts_exit);
	return res;
}

DT_INLINE void h2_frame_begin(struct h2_walk *s, struct h2_dir *d, __u32 prefix)
{
	int r = h2_frame_setup(s->c, d, s->ch, prefix);

	if (r & H2_SETUP_INVALID) {
		h2_invalid(s);
		return;
	}
	s->res |= (__u32)r & DT_FEED_STARTED;
	if (r & H2_SETUP_EMPTY_BLOCK)
		h2_report(s, 0, 1);
	if (!d->remaining)
		h2_frame_end(s, d);
}

/* At a frame head: gather it, check it, begin the frame. */
DT_INLINE void h2_head(struct h2_walk *s, struct h2_dir *d)
{
	int prefix;

	if (!h2_gather(s, d, H2_FRAME_HEADER))
		return;
	prefix = h2_head_prefix(d);
	if (prefix < 0 || prefix > H2_HEAD_MAX - H2_FRAME_HEADER) {
		h2_invalid(s);
		return;
	}
	if (!h2_gather(s, d, H2_FRAME_HEADER + (__u32)prefix))
		return;
	d->head_len = 0;
	h2_frame_begin(s, d, (__u32)prefix);
}

/* Skips the client preface, checking each byte the window holds. */
DT_INLINE long h2_preface(struct h2_walk *s, struct h2_dir *d)
{
	__u32 n = s->total - s->pos, seen;

	if (n > d->preface_left)
		n = d->preface_left;
	seen = s->pos < s->win ? s->win - s->pos : 0; /* bytes of it the window has */
	if (seen > n)
		seen = n;
	if (!h2_preface_match(s->w, s->pos, H2_PREFACE_LEN - d->preface_left, seen)) {
		h2_invalid(s);
		return 1;
	}
	d->preface_left -= n;
	s->pos += n;
	return 0;
}

/* One step: the preface, a frame head, or a run of payload. 1 stops. */
static long h2_step(__u32 unused, void *vctx)
{
	struct h2_walk *s = (struct h2_walk *)vctx;
	struct h2_dir *d = &s->c->dir[s->dir & 1];
	__u32 before = s->pos;

	(void)unused;
	if (s->res || s->pos >= s->total)
		return 1;
	if (d->preface_left)
		return h2_preface(s, d);
	if (d->remaining)
		h2_payload(s, d);
	else
		h2_head(s, d);
	/* A head that waits for a window from here ends the call; so does a
	 * GOAWAY, whose refused streams finish first on the next. */
	return (s->pos == before && !s->res) || s->c->goaway;
}

/* Streams above a GOAWAY's last id were never processed: one finishes per
 * call. 1 when one did. */
DT_INLINE int h2_sweep(struct h2_walk *s)
{
	struct h2_conn *c = s->c;
	struct h2_stream *st = h2_first_above(c, c->goaway_last);
	if (st) {
		st->bits |= H2_S_REFUSED;
		h2_finish(s, st, H2_END_GOAWAY);
		return 1;
	}
	c->goaway = 0;
	return 0;
}

/* One piece of an I/O on a connection (see the top of this file). */
DT_GLOBAL int h2_feed(struct h2_conn *__restrict c, const struct dt_window *__restrict w,
		      const struct dt_chunk *__restrict ch, struct h2_stream *__restrict done,
		      struct h2_out *__restrict out)
{
	struct h2_walk s = {};

	if (!c || !w || !ch || !done || !out)
		return DT_FEED_NEED_MORE;
	__builtin_memset(out, 0, sizeof(*out));
	s.c = c;
	s.w = w;
	s.ch = ch;
	s.done = done;
	s.out = out;
	/* From unknowns: the step callback's first state then covers the
	 * later ones (include/dt/portable.h, DT_UNKNOWN). */
	s.pos = DT_UNKNOWN(0);
	s.res = DT_UNKNOWN(0);
	s.dir = ch->dir & 1;
	s.total = ch->total_len > 0xffffffffULL ? 0xffffffffu : (__u32)ch->total_len;
	s.win = ch->win_len < DT_WIN ? ch->win_len : DT_WIN;
	if (s.win > s.total)
		s.win = s.total;
	if (c->state == H2_CONN_INVALID) {
		out->consumed = s.total;
		return DT_FEED_INVALID;
	}
	if (c->goaway && h2_sweep(&s))
		return (int)s.res;
	if (c->state == H2_CONN_NEW) {
		if (h2_infer(w, s.win) == DT_START_NONE) {
			out->consumed = s.total;
			c->state = H2_CONN_INVALID;
			return DT_FEED_INVALID;
		}
		c->state = H2_CONN_FOLLOWING;
	}
	if (!c->dir[s.dir].started) {
		/* A direction's first bytes may be the preface, whoever spoke
		 * first (a server may send its SETTINGS before the preface
		 * arrives): its sender is the client. */
		c->dir[s.dir].started = 1;
		if (h2_is_preface(w, s.win) && (s.win >= H2_PREFACE_MATCH || s.win < H2_FRAME_HEADER)) {
			c->role = s.dir == DT_DIR_INGRESS ? H2_ROLE_SERVER : H2_ROLE_CLIENT;
			c->dir[s.dir].preface_left = H2_PREFACE_LEN;
		}
	}
	if (c->dir[s.dir].resync) {
		/* After lost bytes, frames must start here again (h2_lost). */
		if (h2_infer(w, s.win) != DT_START_FRAMES) {
			out->consumed = s.total;
			c->state = H2_CONN_INVALID;
			return DT_FEED_INVALID;
		}
		c->dir[s.dir].resync = 0;
	}
	DT_LOOP(H2_STEPS, h2_step, &s);
	out->consumed = s.pos;
	return (int)s.res;
}

/* Bytes of one direction were lost (a capture gap; in the kernel, data it
 * could not read). 1: the direction was between frames, so following goes
 * on if its next data starts with well-formed frames (checked then), and
 * what the lost frames said is unknown to the streams open now; 0: the loss
 * fell inside a frame, and the connection is no longer followed. */
DT_INLINE int h2_lost(struct h2_conn *c, int dir)
{
	struct h2_dir *d = &c->dir[dir & 1];
	if (c->state != H2_CONN_FOLLOWING || d->remaining || d->head_len || d->block_open ||
	    d->preface_left) {
		c->state = H2_CONN_INVALID;
		return 0;
	}
	d->resync = 1;
	return 1;
}

/* The connection closed, or its reader saw end of file: its open streams
 * finish one per call (DT_FEED_DONE); DT_FEED_NEED_MORE when none is left,
 * and the connection's state is cleared. */
DT_GLOBAL int h2_close(struct h2_conn *c, __u64 ts, struct h2_stream *done)
{
	struct h2_walk s = {};
	struct h2_stream *st;

	if (!c || !done)
		return DT_FEED_NEED_MORE;
	s.c = c;
	s.done = done;
	if (c->goaway && h2_sweep(&s))
		return DT_FEED_DONE;
	st = h2_first_above(c, 0);
	if (st) {
		if (!(st->bits & H2_S_RESP_HEADERS))
			st->end_ns = ts; /* unanswered: it ends at the close */
		h2_finish(&s, st, H2_END_CLOSE);
		return DT_FEED_DONE;
	}
	/* Every stream is finished (and forgotten by h2_finish): the rest is
	 * cleared, the key kept. */
	__builtin_memset(c->dir, 0, sizeof(c->dir));
	c->goaway_last = 0;
	c->streams_untracked = 0;
	c->frames = 0;
	c->open = 0;
	c->state = H2_CONN_NEW;
	c->role = 0;
	c->goaway = 0;
	return DT_FEED_NEED_MORE;
}

/* Streams still open (a caller that does not close counts them). */
DT_INLINE __u32 h2_open_streams(const struct h2_conn *c)
{
	return c->open;
}

#endif /* DIFFTRACE_HTTP2_FOLLOW_H */
