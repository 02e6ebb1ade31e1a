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

#include "protocols/http2/stream.h"

#define H2_ROLE_SERVER 1 /* enum http_role's values */
#define H2_ROLE_CLIENT 2
#define H2_STREAM_MASK (H2_MAX_STREAMS - 1)

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

/* The table slot of a followed stream, -1 if none. */
DT_INLINE int h2_find(const struct h2_conn *c, __u32 id)
{
	int i;
	if (!id)
		return -1;
	DT_NO_UNROLL
	for (i = 0; i < H2_MAX_STREAMS; i++)
		if (c->streams[i].id == id)
			return i;
	return -1;
}

DT_INLINE void h2_finish(struct h2_walk *s, int i, __u8 reason)
{
	struct h2_stream *st = &s->c->streams[i & H2_STREAM_MASK];
	DT_COPY(s->done, st, sizeof(*st));
	s->done->end_reason = reason;
	__builtin_memset(st, 0, sizeof(*st));
	s->res |= DT_FEED_DONE;
}

/* Frame bytes moved for a stream: counted, and its times moved on. */
DT_INLINE void h2_account(struct h2_walk *s, __u32 id, __u32 n)
{
	int i = h2_find(s->c, id);
	struct h2_stream *st;
	if (i < 0)
		return;
	st = &s->c->streams[i & H2_STREAM_MASK];
	if (s->dir == h2_req_dir(s->c)) {
		st->req_bytes += n;
		st->req_end_ns = s->ch->ts_exit;
	} else {
		st->resp_bytes += n;
		st->end_ns = s->ch->ts_exit;
	}
}

/* END_STREAM from this direction. */
DT_INLINE void h2_half_close(struct h2_walk *s, __u32 id)
{
	int i = h2_find(s->c, id);
	struct h2_stream *st;
	if (i < 0)
		return;
	st = &s->c->streams[i & H2_STREAM_MASK];
	st->bits |= s->dir == h2_req_dir(s->c) ? H2_S_REQ_END : H2_S_RESP_END;
	if ((st->bits & H2_S_REQ_END) && (st->bits & H2_S_RESP_END))
		h2_finish(s, i, H2_END_COMPLETE);
}

/* A free slot for a new stream, -1 when the table is full. */
DT_INLINE int h2_open(struct h2_walk *s, __u32 id)
{
	struct h2_stream *st;
	int k;
	DT_NO_UNROLL
	for (k = 0; k < H2_MAX_STREAMS; k++) {
		st = &s->c->streams[k];
		if (st->id)
			continue;
		__builtin_memset(st, 0, sizeof(*st));
		st->id = id;
		st->bits = H2_S_REQ_HEADERS;
		/* A server's span starts when it has read the request, a
		 * client's when it begins writing it (as HTTP/1's). */
		st->start_ns = s->dir == DT_DIR_INGRESS ? s->ch->ts_exit : s->ch->ts_enter;
		st->req_end_ns = s->ch->ts_exit;
		s->res |= DT_FEED_STARTED;
		return k;
	}
	s->c->streams_untracked++;
	return -1;
}

/* A HEADERS frame begins a header block on stream id: which one is it? */
DT_INLINE __u8 h2_begin_headers(struct h2_walk *s, __u32 id)
{
	struct h2_conn *c = s->c;
	struct h2_stream *st;
	int i;

	if (!c->role) /* whoever sends the first HEADERS opens streams */
		c->role = s->dir == DT_DIR_INGRESS ? H2_ROLE_SERVER : H2_ROLE_CLIENT;
	i = h2_find(c, id);
	if (s->dir == h2_req_dir(c)) {
		if (i >= 0)
			return H2_BLOCK_REQ_TRAILERS;
		/* Past a GOAWAY's last id a stream is never processed. */
		if (c->goaway_last && id > c->goaway_last)
			return H2_BLOCK_UNTRACKED;
		return h2_open(s, id) >= 0 ? H2_BLOCK_REQUEST : H2_BLOCK_UNTRACKED;
	}
	if (i < 0)
		return H2_BLOCK_UNTRACKED; /* opened before us, or pushed */
	st = &c->streams[i & H2_STREAM_MASK];
	st->bits |= H2_S_RESP_HEADERS;
	if (st->resp_blocks < 255)
		st->resp_blocks++;
	if (st->resp_blocks == 1)
		return H2_BLOCK_RESPONSE;
	st->bits |= H2_S_TRAILERS;
	return H2_BLOCK_TRAILERS;
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

/* The current frame's payload is all here: what it ends. */
DT_INLINE void h2_frame_end(struct h2_walk *s, struct h2_dir *d)
{
	int i;
	switch (d->type) {
	case H2_HEADERS:
	case H2_CONTINUATION:
	case H2_PUSH_PROMISE:
		if (!(d->flags & H2_F_END_HEADERS))
			break;
		d->block_open = 0;
		/* END_STREAM counts once the block (with its CONTINUATIONs) ends. */
		if (d->block_end_stream)
			h2_half_close(s, d->block_stream);
		break;
	case H2_DATA:
		if (d->flags & H2_F_END_STREAM)
			h2_half_close(s, d->stream);
		break;
	case H2_RST_STREAM:
		i = h2_find(s->c, d->stream);
		if (i >= 0) {
			s->c->streams[i & H2_STREAM_MASK].bits |= H2_S_RESET;
			h2_finish(s, i, H2_END_RESET);
		}
		break;
	default:
		break;
	}
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
	__u32 have = d->head_len, want, k;
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
	DT_NO_UNROLL
	for (k = 0; k < H2_HEAD_MAX; k++) {
		if (k >= want)
			break;
		d->head[(have + k) & (H2_HEAD_MAX - 1)] = h2_byte(s->w, s->pos + k);
	}
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

/* A frame header (and prefix) is complete in d->head: the frame begins. */
DT_INLINE void h2_frame_begin(struct h2_walk *s, struct h2_dir *d, const struct h2_frame *f,
			      __u32 prefix)
{
	__u32 payload = f->length - prefix, pad = 0;

	s->c->frames++;
	if (d->block_open && (f->type != H2_CONTINUATION || f->stream != d->block_stream)) {
		h2_invalid(s); /* a header block is interrupted: a protocol error */
		return;
	}
	if ((f->type == H2_HEADERS || f->type == H2_PUSH_PROMISE) && (f->flags & H2_F_PADDED))
		pad = d->head[H2_FRAME_HEADER];
	if (pad > payload) {
		h2_invalid(s);
		return;
	}
	d->type = f->type;
	d->flags = f->flags;
	d->stream = f->stream;
	d->remaining = payload;
	d->frag_left = 0;
	switch (f->type) {
	case H2_HEADERS:
		d->block_kind = h2_begin_headers(s, f->stream);
		d->block_end_stream = (f->flags & H2_F_END_STREAM) != 0;
		break;
	case H2_PUSH_PROMISE: /* its block is the promised request's: kept in step only */
		d->block_kind = H2_BLOCK_UNTRACKED;
		d->block_end_stream = 0;
		break;
	case H2_CONTINUATION:
		if (!d->block_open) {
			h2_invalid(s);
			return;
		}
		break;
	case H2_GOAWAY:
		s->c->goaway_last = h2_be32(d->head + H2_FRAME_HEADER) & 0x7fffffffu;
		s->c->goaway = 1;
		break;
	default:
		break;
	}
	if (f->type == H2_HEADERS || f->type == H2_PUSH_PROMISE || f->type == H2_CONTINUATION) {
		d->block_stream = f->stream;
		d->block_open = 1;
		d->frag_left = payload - pad;
		if (!d->frag_left && (f->flags & H2_F_END_HEADERS))
			h2_report(s, 0, 1); /* an empty block still ends */
	}
	h2_account(s, f->stream, H2_FRAME_HEADER + prefix);
	if (!d->remaining)
		h2_frame_end(s, d);
}

/* At a frame head: gather it, check it, begin the frame. */
DT_INLINE void h2_head(struct h2_walk *s, struct h2_dir *d)
{
	struct h2_frame f;
	int prefix;

	if (!h2_gather(s, d, H2_FRAME_HEADER))
		return;
	h2_frame_decode(d->head, &f);
	prefix = h2_prefix_len(&f);
	if (!h2_frame_valid(&f, 0) || (__u32)prefix > f.length) {
		h2_invalid(s);
		return;
	}
	if (!h2_gather(s, d, H2_FRAME_HEADER + prefix))
		return;
	d->head_len = 0;
	h2_frame_begin(s, d, &f, prefix);
}

/* Skips the client preface, checking each byte the window holds. */
DT_INLINE long h2_preface(struct h2_walk *s, struct h2_dir *d)
{
	__u32 k, n = s->total - s->pos;

	if (n > d->preface_left)
		n = d->preface_left;
	DT_NO_UNROLL
	for (k = 0; k < H2_PREFACE_LEN; k++) {
		__u32 at = H2_PREFACE_LEN - d->preface_left + k;
		if (k >= n || s->pos + k >= s->win)
			break;
		if (h2_byte(s->w, s->pos + k) != h2_preface_byte(at)) {
			h2_invalid(s);
			return 1;
		}
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
	int i;
	DT_NO_UNROLL
	for (i = 0; i < H2_MAX_STREAMS; i++) {
		struct h2_stream *st = &c->streams[i];
		if (st->id && st->id > c->goaway_last) {
			st->bits |= H2_S_REFUSED;
			h2_finish(s, i, H2_END_GOAWAY);
			return 1;
		}
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
	int i;

	if (!c || !done)
		return DT_FEED_NEED_MORE;
	s.c = c;
	s.done = done;
	if (c->goaway && h2_sweep(&s))
		return DT_FEED_DONE;
	DT_NO_UNROLL
	for (i = 0; i < H2_MAX_STREAMS; i++) {
		struct h2_stream *st = &c->streams[i];
		if (!st->id)
			continue;
		if (!(st->bits & H2_S_RESP_HEADERS))
			st->end_ns = ts; /* unanswered: it ends at the close */
		h2_finish(&s, i, H2_END_CLOSE);
		return DT_FEED_DONE;
	}
	/* Every slot is free (and zeroed by h2_finish): the rest is cleared. */
	__builtin_memset(c->dir, 0, sizeof(c->dir));
	c->goaway_last = 0;
	c->streams_untracked = 0;
	c->frames = 0;
	c->state = H2_CONN_NEW;
	c->role = 0;
	c->goaway = 0;
	return DT_FEED_NEED_MORE;
}

/* Streams still open (a caller that does not close counts them). */
DT_INLINE __u32 h2_open_streams(const struct h2_conn *c)
{
	__u32 n = 0;
	int i;
	for (i = 0; i < H2_MAX_STREAMS; i++)
		n += c->streams[i].id != 0;
	return n;
}

#endif /* DIFFTRACE_HTTP2_FOLLOW_H */
