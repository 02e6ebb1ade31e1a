/* The HTTP/1.x exchange state machine: a message's body counted to its
 * end (Content-Length, chunked, or close), requests and responses matched
 * on a connection, interim responses cut off; http1_feed and http1_close,
 * the protocol's side of include/protocols/protocol.h. */
#ifndef DIFFTRACE_HTTP1_EXCHANGE_H
#define DIFFTRACE_HTTP1_EXCHANGE_H

#include "protocols/http1/scan.h"

/* Does the data end with the last chunk ("0\r\n\r\n")? */
DT_INLINE int ht_ends_chunked(const struct dt_chunk *ch)
{
	__u32 n = ch->tail_len;
	const __u8 *t = ch->tail;
	if (n < 5 || n > DT_TAIL)
		return 0;
	if (t[n - 5] != '0' || t[n - 4] != '\r' || t[n - 3] != '\n' || t[n - 2] != '\r' ||
	    t[n - 1] != '\n')
		return 0;
	/* The zero chunk follows the previous chunk's CRLF, or starts the data. */
	if (ch->total_len == 5)
		return 1;
	return n >= 7 && t[n - 7] == '\r' && t[n - 6] == '\n';
}

/* Feeds one syscall's data to a message that has started. With a target
 * query (requests), io says where the request target ends in this data. */
DT_INLINE void ht_msg_feed(struct http_msg *m, const struct dt_window *w,
			   const struct dt_chunk *ch, struct dt_trace_ctx *ctx,
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

DT_INLINE void ht_msg_begin(struct http_msg *m)
{
	__builtin_memset(m, 0, sizeof(*m));
	m->in_start_line = 1;
}

/* Forgets the exchange but not the connection's role. The path needs no
 * clearing: path_len bounds it and a new request overwrites it. */
DT_INLINE void http_exchange_reset(struct http_exchange *x)
{
	__u8 role = x->role;
	__builtin_memset(x, 0, __builtin_offsetof(struct http_exchange, path));
	x->path[0] = 0;
	x->role = role;
}

/* Appends the request target's bytes [start, end) of this window to the
 * path, which keeps at most HTTP_PATH_MAX - 1 of them. */
DT_INLINE void ht_path_append(struct http_exchange *x, const struct dt_window *w,
			      __u32 start, __u32 end)
{
	__u32 have = x->path_len & HTTP_PATH_MASK, n;
	n = end > start ? end - start : 0;
	if (n > HTTP_PATH_MAX - 1 - have)
		n = HTTP_PATH_MAX - 1 - have;
	DT_COPY(&x->path[have], &w->data[start & DT_WIN_MASK], HTTP_PATH_MAX - 1);
	have += n;
	x->path_len = (__u8)have;
	x->path[have & HTTP_PATH_MASK] = 0;
}

/* Where the target ends in this data; the whole window when the data
 * stopped inside it (then the next read goes on with it). */
DT_INLINE __u32 ht_target_end(struct http_exchange *x, const struct dt_chunk *ch,
			      const struct ht_scan_io *io)
{
	__u32 win = ch->win_len < DT_WIN ? ch->win_len : DT_WIN;
	if (io->target_found)
		return io->target_end;
	/* Still inside the start line at the end of all of this data. */
	x->path_open = x->req.in_start_line && ch->total_len == ch->win_len;
	return win;
}

/* A request with this method starts in this window, its target at
 * target_start, after held_len bytes (held) read before it (0: none;
 * start_line.h's HT_HELD_MAX). */
DT_INLINE int ht_begin_request(struct http_exchange *x, const struct dt_window *w,
			       const struct dt_chunk *ch, __u64 ts, int method,
			       __u32 target_start, __u64 held, __u32 held_len)
{
	struct ht_scan_io target = {};
	http_exchange_reset(x);
	x->method = (__u8)method;
	x->held = held;
	x->held_len = (__u8)held_len;
	x->phase = HTTP_PHASE_REQUEST;
	x->start_ns = ts;
	x->req_end_ns = ts;
	ht_msg_begin(&x->req);
	x->req.total_bytes = held_len;
	target.want_target = 1;
	target.target_start = target_start;
	ht_msg_feed(&x->req, w, ch, &x->ctx, &target);
	if (x->req.invalid)
		return 0;
	ht_path_append(x, w, target_start, ht_target_end(x, ch, &target));
	return 1;
}

/* More of a request: its target may go on from the previous read. */
DT_INLINE void ht_continue_request(struct http_exchange *x, const struct dt_window *w,
				   const struct dt_chunk *ch)
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

DT_INLINE void ht_begin_response(struct http_exchange *x, __u16 status)
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
DT_INLINE int ht_cut_interim(struct http_exchange *x, struct dt_window *w,
			     struct dt_chunk *ch)
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
	if (!hdr_done || io.hdr_end == 0 || io.hdr_end >= ch->win_len || ch->win_len > DT_WIN)
		return HTTP_ACT_NONE;
	rest = (ch->win_len - io.hdr_end) & DT_WIN_MASK;
	DT_MOVE_DOWN(&w->data[0], &w->data[io.hdr_end & DT_WIN_MASK], rest);
	ch->win_len = rest;
	ch->total_len -= io.hdr_end;
	return HTTP_ACT_INTERIM;
}

/* One syscall moved data on a connection (struct dt_chunk says when). */
DT_INLINE int http_on_data(struct http_exchange *x, struct dt_window *w,
			   struct dt_chunk *ch)
{
	int kind = http1_infer(w, ch->win_len);
	int dir = ch->dir;
	__u64 ts_enter = ch->ts_enter, ts_exit = ch->ts_exit;
	int req_dir, role_known = x->role != HTTP_ROLE_UNKNOWN;
	__u32 held_len, mlen = 0, target_start;
	int method;
	__u16 status;

	if (!role_known) {
		if (kind != DT_START_REQUEST)
			return HTTP_ACT_IGNORED;
		x->role = dir == DT_DIR_INGRESS ? HTTP_ROLE_SERVER : HTTP_ROLE_CLIENT;
	}
	req_dir = x->role == HTTP_ROLE_SERVER ? DT_DIR_INGRESS : DT_DIR_EGRESS;

	if (dir == req_dir) {
		if (x->phase == HTTP_PHASE_REQUEST) {
			ht_continue_request(x, w, ch);
			x->req_end_ns = ts_exit;
			return HTTP_ACT_NONE;
		}
		held_len = 0;
		if (kind == DT_START_REQUEST) {
			method = ht_method(w, ch->win_len, &mlen);
		} else {
			if (x->phase != HTTP_PHASE_IDLE) {
				x->held_len = 0;
				return HTTP_ACT_IGNORED;
			}
			/* A next request's first bytes alone (start_line.h): held. */
			if (ch->total_len == ch->win_len && ht_may_hold(w, ch->win_len)) {
				x->held = DT_LOAD64(w, 0) & HT_FIRST_BYTES(ch->win_len);
				x->held_len = (__u8)ch->win_len;
				return HTTP_ACT_NONE;
			}
			held_len = x->held_len & HT_HELD_MAX;
			x->held_len = 0;
			method = ht_held_start(DT_LOAD64(w, 0), x->held, held_len, ch->win_len);
			if (!method)
				return HTTP_ACT_IGNORED;
			mlen = (__u32)method >> 8;
			method &= 0xff;
		}
		if (x->phase == HTTP_PHASE_RESPONSE)
			return HTTP_ACT_EMIT_RETRY; /* a response of unknown length ended */
		/* One state on for every method and held length, not one each: the
		 * target's start is masked where it is read. */
		target_start = DT_UNKNOWN(mlen + 1 - held_len) & 15;
		if (!ht_begin_request(x, w, ch, dir == DT_DIR_INGRESS ? ts_exit : ts_enter, method,
				      target_start, x->held, held_len)) {
			http_exchange_reset(x);
			if (!role_known)
				x->role = HTTP_ROLE_UNKNOWN; /* it only looked like HTTP */
			return HTTP_ACT_IGNORED;
		}
		x->req_end_ns = ts_exit;
		return HTTP_ACT_STARTED;
	}

	/* response direction */
	if (x->phase == HTTP_PHASE_IDLE)
		return HTTP_ACT_IGNORED;
	if (x->phase == HTTP_PHASE_REQUEST) {
		status = kind == DT_START_RESPONSE ? ht_status(w, ch->win_len) : 0;
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
DT_INLINE int http_on_close(struct http_exchange *x, __u64 ts)
{
	if (x->phase == HTTP_PHASE_RESPONSE)
		return HTTP_ACT_EMIT;
	if (x->phase == HTTP_PHASE_REQUEST) {
		x->end_ns = ts;
		return HTTP_ACT_EMIT;
	}
	return HTTP_ACT_NONE;
}

DT_INLINE void ht_finish(struct http_exchange *x, struct http_exchange *done, __u8 reason)
{
	/* everything but the path's append room */
	DT_COPY(done, x, __builtin_offsetof(struct http_exchange, path) + HTTP_PATH_MAX);
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
DT_GLOBAL int http1_feed(struct http_exchange *__restrict x, struct dt_window *__restrict w,
			 struct dt_chunk *__restrict ch, struct http_exchange *__restrict done)
{
	int act, i;

	if (!x || !w || !ch || !done)
		return DT_FEED_NEED_MORE;
	act = http_on_data(x, w, ch);
	/* 100 Continue, then 103 Early Hints, then the final response */
	DT_NO_UNROLL
	for (i = 0; i < 2 && act == HTTP_ACT_INTERIM; i++)
		act = http_on_data(x, w, ch);
	if (act == HTTP_ACT_EMIT_RETRY) {
		ht_finish(x, done, HTTP_END_NEXT);
		/* This data starts a request: it cannot finish one too. */
		if (http_on_data(x, w, ch) == HTTP_ACT_STARTED)
			return DT_FEED_DONE | DT_FEED_STARTED;
		return DT_FEED_DONE;
	}
	if (act == HTTP_ACT_EMIT) {
		ht_finish(x, done, HTTP_END_COMPLETE);
		return DT_FEED_DONE;
	}
	if (act == HTTP_ACT_STARTED)
		return DT_FEED_STARTED;
	return act == HTTP_ACT_IGNORED ? DT_FEED_INVALID : DT_FEED_NEED_MORE;
}

/* The connection closed, or its reader saw end of file. */
DT_GLOBAL int http1_close(struct http_exchange *x, __u64 ts, struct http_exchange *done)
{
	if (!x || !done)
		return DT_FEED_NEED_MORE;
	if (http_on_close(x, ts) == HTTP_ACT_EMIT) {
		ht_finish(x, done, HTTP_END_CLOSE);
		return DT_FEED_DONE;
	}
	http_exchange_reset(x);
	return DT_FEED_NEED_MORE;
}

#endif /* DIFFTRACE_HTTP1_EXCHANGE_H */
