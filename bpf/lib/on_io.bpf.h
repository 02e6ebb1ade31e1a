/* The one entry point of every hook source (bpf/sources/): an I/O on a
 * connection (struct dt_io, its window and chunk already built), a reader's
 * end of file, a socket's close. From here on nothing depends on how the
 * I/O was seen: connection state by socket, protocol dispatch, emit. */
#ifndef DIFFTRACE_ON_IO_BPF_H
#define DIFFTRACE_ON_IO_BPF_H

#include "dt/chunk_build.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_window);
} windows SEC(".maps");

/* This CPU's window, for a source to build a chunk in. */
static __always_inline struct dt_window *io_window(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&windows, &zero);
}

#include "lib/http2.bpf.h"

/* HTTP/2's inference, a global function: verified once, not on every
 * path of sys_exit. */
__noinline int dt_h2_infer(const struct dt_window *w, __u32 len)
{
	return w ? h2_infer(w, len) : DT_START_NONE;
}

/* Does the data start a message of a protocol difftrace parses
 * (enum dt_start_kind)? A new connection's protocol is the one that says
 * DT_START_REQUEST (HTTP/1.x, or HTTP/2's client preface), or
 * DT_START_FRAMES (HTTP/2 frames on a connection open before we looked). */
static __always_inline int dt_infer(const struct dt_window *w, __u32 len)
{
	int start = http1_infer(w, len);

	return start != DT_START_NONE ? start : dt_h2_infer(w, len);
}

/* An I/O of process/thread id on the connection io->sock; start is what
 * dt_infer said of its data. Only a request start (or HTTP/2 frames) makes
 * an untracked connection worth state. HTTP/2 goes on in h2_io
 * (bpf/lib/http2.bpf.h), after sys_exit's dt_tail_continue. */
static __always_inline void dt_on_io(const struct dt_io *io, struct dt_window *w,
				     struct dt_chunk *ch, int start, __u64 id)
{
	__u32 zero = 0, tgid = id >> 32;
	__u64 sock = io->sock;
	struct dt_conn *c = bpf_map_lookup_elem(&conns, &sock);
	union dt_proto_state *done;
	int res;

	if (!c) {
		if (start != DT_START_REQUEST && start != DT_START_FRAMES)
			return;
		c = new_conn(sock, tgid);
		if (!c)
			return;
	}
	count(DT_C_IO_CALLS);
	if (c->protocol == DT_PROTO_UNKNOWN) {
		/* state from accept/connect: the first request names the protocol */
		if (start != DT_START_REQUEST && start != DT_START_FRAMES) {
			count(DT_C_NON_HTTP);
			return;
		}
		c->protocol = start == DT_START_FRAMES || h2_is_preface(w, ch->win_len)
				      ? DT_PROTO_HTTP2
				      : DT_PROTO_HTTP1;
		c->st.h2.key = c->conn_id; /* read only if HTTP/2 */
	}
	/* a source may have read the clock at the exit already (a receive) */
	if (!ch->ts_exit)
		ch->ts_exit = bpf_ktime_get_ns();
	if (c->protocol == DT_PROTO_HTTP2) {
		c->tid = (__u32)id;
		h2_hand_over(io, ch, id);
		return;
	}
	dt_chunk_tail(io, w, ch);
	done = bpf_map_lookup_elem(&done_scratch, &zero);
	if (!done)
		return;
	res = http1_feed(&c->st.http1, w, ch, &done->http1);
	publish_client(c);
	if (res & DT_FEED_STARTED)
		c->tid = (__u32)id; /* the thread that took the new request */
	if (res & DT_FEED_DONE)
		emit(c, done, tgid);
	else if (res & DT_FEED_INVALID)
		count(DT_C_NON_HTTP);
	dt_causality(c, io, w, res, id);
}

/* The connection closed or its reader saw EOF: finish its exchange. */
static __always_inline void close_exchange(struct dt_conn *c, __u32 tgid)
{
	__u32 zero = 0;
	union dt_proto_state *done = bpf_map_lookup_elem(&done_scratch, &zero);

	if (done && c->protocol == DT_PROTO_HTTP1 &&
	    http1_close(&c->st.http1, bpf_ktime_get_ns(), &done->http1) & DT_FEED_DONE)
		emit(c, done, tgid);
	if (c->counted)
		cause_uncount(c);
}

/* A reader saw end of file on the connection: a client's response without
 * a length ends here. */
static __always_inline void dt_on_eof(__u64 sock, __u32 tgid)
{
	struct dt_conn *c = bpf_map_lookup_elem(&conns, &sock);

	if (!c || c->protocol != DT_PROTO_HTTP1 || c->st.http1.phase != HTTP_PHASE_RESPONSE ||
	    c->st.http1.role != HTTP_ROLE_CLIENT)
		return;
	close_exchange(c, tgid);
}

/* The connection's socket closed: finish its exchange and forget it. */
static __always_inline void dt_on_close(__u64 sock, __u32 tgid)
{
	struct dt_conn *c = bpf_map_lookup_elem(&conns, &sock);

	if (!c)
		return;
	if (c->protocol == DT_PROTO_HTTP2) {
		h2_close_conn(sock);
		c = bpf_map_lookup_elem(&conns, &sock);
		if (!c)
			return;
	}
	close_exchange(c, tgid);
	drop_conn(&sock, c);
}

#endif
