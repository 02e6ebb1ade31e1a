/* HTTP/2 (h2c, and so gRPC) in the capture program (docs/http2.md).
 *
 * dt_on_io hands an I/O of an HTTP/2 connection over (h2_hand_over), and
 * sys_exit tail-calls h2_io, a program of its own with its own verifier
 * budget: it runs the frame follower (include/protocols/http2/follow.h)
 * over the whole I/O, piece by piece, re-reading the window at each piece's
 * offset. Each header block fragment feeds the connection's HPACK shadow
 * (what the filter needs: :status, grpc-status, :method) and is copied for
 * its stream; each finished stream goes through emit, the filter step every
 * protocol shares, and when reported carries its blocks after the event
 * (struct h2_span_tail) for user space to decode with HPACK. */
#ifndef DIFFTRACE_HTTP2_BPF_H
#define DIFFTRACE_HTTP2_BPF_H

#include "protocols/http1/message.h" /* enum http_method */

/* HTTP/2 connections whose HPACK shadow is kept at once. */
#define H2_MAX_CONNS 4096
/* Pieces of one I/O followed: each stops at a finished stream, a header
 * block fragment, or the end of its window. Bytes left after them are
 * lost to the follower (h2_lost), and counted. A read of 100 concurrent
 * gRPC requests takes about 200 (a HEADERS and a DATA frame each), their
 * responses' write up to 300: 64 lost most of them. A bpf_loop's count
 * costs the verifier nothing; each piece only runs while bytes are left. */
#define H2_PIECES 1024
/* Streams a close finishes (the rest stay in the LRU stream map). */
#define H2_CLOSE_STREAMS 64

/* A header block that comes in pieces (a HEADERS frame cut by the end of
 * an I/O: grpc-core's server reads a connection in parts, and after some
 * calls one cuts a request's HEADERS) is gathered up to this many bytes and
 * walked when it ends; a longer one makes the direction's shadow lose count. */
#define H2_CARRY 256

/* Each direction's shadow of its encoder's dynamic table. */
struct h2_shadow {
	struct h2s_table t[2];  /* by enum dt_dir of the bytes */
	__u8 block_open[2];     /* a block's first fragment was seen, not its last */
	__u16 carry_len[2];     /* bytes of the open block gathered in carry */
	__u8 _pad[2];
	__u8 carry[2][2 * H2_CARRY]; /* twice: a copy at any offset below H2_CARRY fits */
};

/* The gathered block as a window for the shadow's walk (per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_window);
} h2_carry_win SEC(".maps");

/* What the shadow's walk of a block read (per CPU: too big for the stack
 * of h2_on_fragment's call chain, which 6.1 holds to 512 bytes). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h2s_result);
} h2_walk_result SEC(".maps");

/* The shadow's walk of one block, as a global function: verified once, for
 * the window of the I/O or the gathered block alike. H2_WALK_REQUEST in len:
 * a request's block (five arguments at most). */
#define H2_WALK_REQUEST 0x80000000u

__noinline int h2_shadow_walk(struct h2s_table *t, const struct dt_window *w, __u32 off,
			      __u32 len, struct h2s_result *r)
{
	if (!t || !w || !r)
		return 0;
	h2s_block(t, w, off, len & ~H2_WALK_REQUEST, (len & H2_WALK_REQUEST) != 0, r);
	return 0;
}

/* Gathers fragment f (in the window: win bytes valid) of a block that comes
 * in pieces into the direction's carry; at its last fragment, copies the
 * block into the per-CPU carry window and returns its length (0: not yet,
 * or lost: *lost). first: the block's first fragment. */
static __always_inline __u32 h2_carry(struct h2_shadow *sh, __u32 d,
				      const struct dt_window *w, const struct h2_fragment *f,
				      __u32 win, int first, int *lost)
{
	__u32 zero = 0, at, n;
	struct dt_window *cw;

	if (first)
		sh->carry_len[d & 1] = 0;
	at = sh->carry_len[d & 1];
	n = f->len;
	if (f->off > win || n > win - f->off || at >= H2_CARRY || n > H2_CARRY - at) {
		*lost = 1;
		return 0;
	}
	DT_BOUND(n);
	if (n > H2_CARRY)
		return 0; /* never: a bound the verifier can see */
	if (n && DT_COPY(&sh->carry[d & 1][at & (H2_CARRY - 1)],
			 w->data + (f->off & DT_WIN_MASK), n)) {
		*lost = 1;
		return 0;
	}
	at += n;
	sh->carry_len[d & 1] = (__u16)at;
	if (!f->last)
		return 0;
	cw = bpf_map_lookup_elem(&h2_carry_win, &zero);
	if (!cw || !at || at > H2_CARRY || DT_COPY(cw->data, sh->carry[d & 1], H2_CARRY)) {
		*lost = 1;
		return 0;
	}
	return at;
}

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, H2_MAX_CONNS);
	__type(key, __u64); /* struct h2_conn.key */
	__type(value, struct h2_shadow);
} h2_shadows SEC(".maps");

/* An open stream's header blocks and what the shadow read in them. */
struct h2_stream_info {
	struct h2_span_tail tail;
	struct h2s_trace trace;   /* the request's traceparent (trace.found) */
	struct h2s_path path;     /* the request's :path (path.state) */
	__u16 status;          /* :status of the final response, 0: none resolved */
	__u8 method;           /* :method by static index: 2 GET, 3 POST */
	__u8 grpc_status;
	__u8 has_grpc_status;
	__u8 last_resp_unresolved; /* the newest response block had unresolved fields */
	__u8 _pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, H2_MAX_LIVE_STREAMS);
	__type(key, struct h2_stream_key);
	__type(value, struct h2_stream_info);
} h2_infos SEC(".maps");

/* Zeroed values to create entries from (too big for the stack); never written. */
struct h2_zero {
	struct h2_shadow shadow;
	struct h2_stream_info info;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h2_zero);
} h2_zeros SEC(".maps");

/* The I/O that sys_exit hands to h2_io: per CPU, as a tail call stays on it. */
struct h2_job {
	struct dt_io io;
	struct dt_chunk ch;
	__u64 id;
	__u32 seq_end;  /* the socket's sequence number after the I/O (h2_hand_over) */
	__u8 pending;
	__u8 _pad[3];
};

/* One HTTP/2 connection's I/O order. Its I/Os may come from several threads
 * (grpcio's C core writes one connection from five), so two exit hooks can
 * run its follower at once on two CPUs, or the later I/O's first: the
 * follower's state would be torn, or fed bytes out of order. So the follower
 * runs for one I/O of a connection at a time (busy), and takes an I/O only
 * when it starts where the last one of its direction ended (next_seq): the
 * TCP sequence number after the I/O, read at its exit, less its length. An
 * I/O that does not (another one of that direction came between, and moved
 * the sequence number first) cannot be placed: it is dropped, counted, and
 * the direction resyncs at the next one that starts where the sequence
 * number was (h2_lost). */
struct h2_order {
	__u32 busy;          /* a CPU is in the follower for this connection */
	__u32 next_seq[2];   /* by enum dt_dir: where the next I/O must start */
	__u8 known[2];       /* next_seq[dir] is set */
	__u8 _pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, H2_MAX_CONNS);
	__type(key, __u64); /* struct h2_conn.key */
	__type(value, struct h2_order);
} h2_orders SEC(".maps");

/* Tries to take the connection's follower while another CPU holds it: the
 * holder runs a bounded walk (tracepoints with preemption off), so this
 * waits microseconds, and gives up after H2_CLAIM_TRIES. */
#define H2_CLAIM_TRIES 8192

static long h2_claim_step(__u32 unused, void *vctx)
{
	__u64 *key = (__u64 *)vctx;
	struct h2_order *o = bpf_map_lookup_elem(&h2_orders, key);

	if (!o)
		return 1;
	if (__sync_val_compare_and_swap(&o->busy, 0, 1) == 0) {
		*key = 0; /* taken */
		return 1;
	}
	return 0;
}

/* 1 when this CPU took connection key's follower (creating its order entry
 * if need be), 0 when it could not (counted); h2_release gives it back.
 * Global functions, as is h2_in_order: their stack stays off the follower's
 * call chain, which 6.1 holds to 512 bytes with the bpf_loop callbacks'. */
__noinline int h2_claim(__u64 key)
{
	struct h2_order fresh = {};
	__u64 k = key;

	if (!key)
		return 0;
	bpf_map_update_elem(&h2_orders, &k, &fresh, BPF_NOEXIST);
	bpf_loop(H2_CLAIM_TRIES, h2_claim_step, &k, 0);
	if (k) {
		count(DT_C_H2_BUSY);
		return 0;
	}
	return 1;
}

__noinline int h2_release(__u64 key)
{
	struct h2_order *o = bpf_map_lookup_elem(&h2_orders, &key);

	if (o)
		__sync_lock_test_and_set(&o->busy, 0); /* an exchange: a full barrier */
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h2_job);
} h2_jobs SEC(".maps");

/* [0]: the HTTP/2 follower for the hook, set by the loader
 * (user/bpf/capture_program.cpp) after load rather than here, so that each
 * program can also load on its own (the verifier budget test). One array
 * per calling hook: a tail call from fentry/fexit stays among programs
 * attached to the same kernel function (Linux 6.11 checks the attach
 * prototype), so each socket hook gets a copy of the follower of its own
 * type (bpf/sources/sockets.bpf.h). */
#define H2_PROG_ARRAY(name)                               \
	struct {                                          \
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);    \
		__uint(max_entries, 1);                   \
		__type(key, __u32);                       \
		__type(value, __u32);                     \
	} name SEC(".maps")

H2_PROG_ARRAY(h2_progs);         /* from sys_exit: h2_io */
H2_PROG_ARRAY(h2_sendmsg_progs); /* from fexit/tcp_sendmsg: sk_h2_sendmsg */
H2_PROG_ARRAY(h2_recvmsg_progs); /* from fexit/tcp_recvmsg: sk_h2_recvmsg */

static __always_inline void *h2_lookup_or_zero(void *map, const void *key, int zero_info)
{
	__u32 zero = 0;
	struct h2_zero *z;
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	z = bpf_map_lookup_elem(&h2_zeros, &zero);
	if (!z)
		return 0;
	if (bpf_map_update_elem(map, key, zero_info ? (void *)&z->info : (void *)&z->shadow,
				BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(map, key))
		return 0;
	return bpf_map_lookup_elem(map, key);
}

/* A header block fragment in the window at [f->off, f->off + f->len) (win
 * bytes valid): the shadow walks a block that lies whole in one fragment
 * in the window, and loses count otherwise (every later dynamic index of
 * the direction is then unresolved, in the kernel and in user space); a
 * followed stream's block is copied (its first H2_TAIL_BLOCK bytes). A
 * global function: verified once. */
__noinline int h2_on_fragment(struct h2_conn *h, const struct dt_window *w,
			      const struct h2_fragment *f, __u32 win)
{
	struct h2_stream_key k = {};
	struct h2s_result *r;
	struct h2_shadow *sh;
	struct h2_stream_info *info;
	struct h2_block_copy *b;
	struct h2s_table *t;
	const struct dt_window *bw = w;
	__u32 pos = H2_POS_UNKNOWN, n, slot, d, boff, blen = 0, zero = 0;
	__u64 key;
	int whole, first, lost = 0;

	if (!h || !w || !f)
		return 0;
	key = h->key;
	r = bpf_map_lookup_elem(&h2_walk_result, &zero);
	if (!r)
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	sh = h2_lookup_or_zero(&h2_shadows, &key, 0);
	if (!sh)
		return 0;
	d = f->dir & 1;
	t = &sh->t[d];
	first = !sh->block_open[d];
	whole = first && f->last && f->off <= win && f->len <= win - f->off;
	sh->block_open[d] = !f->last;
	boff = f->off;
	if (!t->broken) {
		pos = t->added; /* no entry is added before the block's walk */
		if (whole) {
			blen = f->len;
		} else {
			blen = h2_carry(sh, d, w, f, win, first, &lost);
			bw = bpf_map_lookup_elem(&h2_carry_win, &zero);
			boff = 0;
		}
	}
	if (lost || !bw) {
		t->broken = 1;
		pos = H2_POS_UNKNOWN;
	} else if (blen) {
		h2_shadow_walk(t, bw, boff,
			       blen | (f->kind == H2_BLOCK_REQUEST ? H2_WALK_REQUEST : 0), r);
		if (r->trace.unread)
			count(DT_C_H2_TRACE_UNREAD);
	}
	if (f->kind < H2_BLOCK_REQUEST || f->kind > H2_BLOCK_TRAILERS)
		return 0;
	/* unsigned: 6.1 loses a signed index's bounds ("unbounded min value") */
	slot = (__u32)f->kind - H2_BLOCK_REQUEST;
	k.conn = key;
	k.id = f->stream;
	info = h2_lookup_or_zero(&h2_infos, &k, 1);
	if (!info || slot >= H2_TAIL_SLOTS)
		return 0;
	b = &info->tail.block[slot];
	if (!b->present) {
		b->present = 1;
		b->pos = pos;
		n = f->off < win ? win - f->off : 0;
		if (n > f->len)
			n = f->len;
		if (n > H2_TAIL_BLOCK)
			n = H2_TAIL_BLOCK;
		if (n < f->len || !f->last)
			b->truncated = 1;
		DT_BOUND(n);
		if (n > H2_TAIL_BLOCK)
			return 0; /* never: a bound the verifier can see */
		if (n && DT_COPY(b->bytes, w->data + (f->off & DT_WIN_MASK), n))
			n = 0;
		b->len = (__u16)n;
	} else {
		b->truncated = 1; /* a CONTINUATION: only the first fragment is kept */
	}
	info->tail.unresolved += r->unresolved;
	if (f->kind != H2_BLOCK_REQUEST && f->kind != H2_BLOCK_REQ_TRAILERS)
		info->last_resp_unresolved = r->unresolved || pos == H2_POS_UNKNOWN;
	if (f->kind == H2_BLOCK_REQUEST && r->method)
		info->method = r->method;
	if (f->kind == H2_BLOCK_REQUEST && r->trace.found)
		info->trace = r->trace;
	/* the request's :path: what the walk read, or unresolved when the
	 * block could not be walked (the shadow had lost count) */
	if (f->kind == H2_BLOCK_REQUEST && info->path.state != H2S_PATH_UNRESOLVED) {
		if (pos == H2_POS_UNKNOWN)
			info->path.state = H2S_PATH_UNRESOLVED;
		else if (blen)
			info->path = r->path;
		if (info->path.state == H2S_PATH_UNRESOLVED)
			count(DT_C_H2_PATH_UNRESOLVED);
	}
	/* A block after an interim (1xx) response is the final one. */
	if (r->status && (f->kind == H2_BLOCK_RESPONSE || info->status < 200))
		info->status = r->status;
	if (f->kind != H2_BLOCK_REQUEST && r->has_grpc_status) {
		info->grpc_status = r->grpc_status;
		info->has_grpc_status = 1;
	}
	return 0;
}

/* A finished stream (st) of connection c as the span event e: the
 * follower's part (h2_span_fill), and what the shadow read. */
__noinline int h2_span_event(struct dt_span_event *e, const struct dt_conn *c,
			     const struct h2_stream *st, __u32 tgid)
{
	struct h2_stream_key k = {};
	struct h2_stream_info *info;

	if (!e || !c || !st)
		return 0;
	h2_span_fill(e, st, c->st.h2.role, &c->tuple, c->conn_id, tgid, c->tid);
	e->exch_seq = st->id;
	k.conn = c->st.h2.key;
	k.id = st->id;
	info = bpf_map_lookup_elem(&h2_infos, &k);
	if (!info)
		return 0;
	e->status = info->status;
	/* the request's trace context: a normal stream is kept under its
	 * trace id, and a flagged trace pulls it back, as HTTP/1's */
	if (info->trace.found) {
		__builtin_memcpy(e->trace_id, info->trace.trace_id, sizeof(e->trace_id));
		__builtin_memcpy(e->parent_id, info->trace.parent_id, sizeof(e->parent_id));
		__builtin_memcpy(e->trace_flags, info->trace.flags, sizeof(e->trace_flags));
		e->ctx_kind = DT_CTX_W3C;
	}
	/* the request's :path, for the endpoint key and the kept span; the
	 * reported span's is user space's decoding of the block */
	if (info->path.state == H2S_PATH_FOUND) {
		__builtin_memcpy(e->path, info->path.text, H2S_PATH_MAX);
		e->path_len = info->path.len < H2S_PATH_MAX ? info->path.len : H2S_PATH_MAX;
		if (info->path.truncated)
			e->flags |= DT_SPAN_F_PATH_TRUNCATED;
	} else if (info->path.state == H2S_PATH_UNRESOLVED) {
		e->path_unresolved = 1;
	}
	e->method = info->method == 2 ? HTTP_METHOD_GET
		    : info->method == 3 ? HTTP_METHOD_POST
					: HTTP_METHOD_NONE;
	if (info->has_grpc_status) {
		e->grpc_status = info->grpc_status;
		e->flags |= DT_SPAN_F_GRPC_STATUS;
	} else if (info->last_resp_unresolved) {
		e->status_unresolved = 1;
	}
	return 0;
}

/* Sends a reported HTTP/2 span event with its header blocks after it, and
 * forgets the stream's blocks. 0 when sent. */
__noinline int h2_ringbuf_output(const struct dt_conn *c, const struct dt_span_event *e,
				 __u64 flags)
{
	struct h2_stream_key k = {};
	struct h2_stream_info *info;
	struct h2_span_tail *tail;
	__u32 zero = 0;
	struct h2_zero *z = bpf_map_lookup_elem(&h2_zeros, &zero);
	__u8 *rec;

	if (!c || !e || !z)
		return -1;
	rec = bpf_ringbuf_reserve(&events, sizeof(*e) + sizeof(*tail), 0);
	if (!rec)
		return -1;
	k.conn = c->st.h2.key;
	k.id = e->exch_seq;
	info = bpf_map_lookup_elem(&h2_infos, &k);
	tail = (struct h2_span_tail *)(rec + sizeof(*e));
	DT_COPY(rec, e, sizeof(*e));
	DT_COPY(tail, info ? &info->tail : &z->info.tail, sizeof(*tail));
	tail->stream = e->exch_seq;
	bpf_ringbuf_submit(rec, flags);
	if (info)
		bpf_map_delete_elem(&h2_infos, &k);
	return 0;
}

/* Hands an I/O of an HTTP/2 connection to h2_io (dt_tail_continue). */
static __always_inline void h2_hand_over(const struct dt_io *io, const struct dt_chunk *ch,
					 __u64 id)
{
	__u32 zero = 0;
	struct h2_job *job = bpf_map_lookup_elem(&h2_jobs, &zero);
	struct tcp_sock *tp = (struct tcp_sock *)io->sock;

	if (!job)
		return;
	job->io = *io;
	job->ch = *ch;
	job->id = id;
	/* at once: another thread's I/O on the socket moves it on */
	job->seq_end = io->dir == DT_DIR_INGRESS ? BPF_CORE_READ(tp, copied_seq)
						 : BPF_CORE_READ(tp, write_seq);
	job->pending = 1;
}

/* At the end of an exit hook: an I/O handed over goes on in the HTTP/2
 * follower of that hook's prog array. */
static __always_inline void dt_tail_continue(void *ctx, void *progs)
{
	__u32 zero = 0;
	struct h2_job *job = bpf_map_lookup_elem(&h2_jobs, &zero);

	if (!job || !job->pending)
		return;
	job->pending = 0;
	bpf_tail_call(ctx, progs, 0);
	count(DT_C_H2_TAIL_CALL);
}

/* One I/O's walk, piece by piece. */
struct h2_io_walk {
	__u64 off;   /* bytes of the I/O fed */
	__u32 tgid;
	__u8 lost;   /* bytes could not be read */
	__u8 _pad[3];
};

static long h2_piece(__u32 unused, void *vctx)
{
	struct h2_io_walk *p = (struct h2_io_walk *)vctx;
	__u32 zero = 0;
	struct h2_job *job = bpf_map_lookup_elem(&h2_jobs, &zero);
	union dt_proto_state *done = bpf_map_lookup_elem(&done_scratch, &zero);
	struct dt_window *w = io_window();
	struct dt_chunk ch = {};
	struct h2_out out = {};
	struct dt_conn *c;
	int res;

	if (!job || !done || !w)
		return 1;
	c = bpf_map_lookup_elem(&conns, &job->io.sock);
	if (!c || c->protocol != DT_PROTO_HTTP2)
		return 1;
	if (p->off >= job->io.len) {
		/* A GOAWAY refused streams above its last id: an empty piece
		 * finishes them, one per call. */
		if (!c->st.h2.goaway)
			return 1;
		ch.dir = job->io.dir;
	} else if (p->off || job->io.layout != DT_IO_BUF) {
		if (dt_chunk_window_at(&job->io, p->off, w, &ch)) {
			p->lost = 1;
			return 1;
		}
	} else {
		ch = job->ch;
	}
	ch.ts_enter = job->ch.ts_enter;
	ch.ts_exit = job->ch.ts_exit;
	res = h2_feed(&c->st.h2, w, &ch, &done->h2_done, &out);
	if (res & H2_FEED_FRAGMENT)
		h2_on_fragment(&c->st.h2, w, &out.frag, ch.win_len);
	if (res & DT_FEED_DONE)
		emit(c, done, p->tgid);
	if (res & DT_FEED_INVALID) {
		count(DT_C_NON_HTTP);
		return 1;
	}
	if (p->off >= job->io.len)
		return !(res & DT_FEED_DONE);
	p->off += out.consumed;
	return 0;
}

/* The follower's walk over the handed-over I/O, piece by piece. */
static __always_inline void h2_follow_job(void)
{
	__u32 zero = 0;
	struct h2_job *job = bpf_map_lookup_elem(&h2_jobs, &zero);
	struct h2_io_walk p = {};
	struct dt_conn *c;
	__u32 untracked;

	if (!job)
		return;
	p.tgid = job->id >> 32;
	c = bpf_map_lookup_elem(&conns, &job->io.sock);
	if (!c)
		return;
	untracked = c->st.h2.streams_untracked;
	bpf_loop(H2_PIECES, h2_piece, &p, 0);
	c = bpf_map_lookup_elem(&conns, &job->io.sock);
	if (!c || c->protocol != DT_PROTO_HTTP2)
		return;
	if (c->st.h2.streams_untracked != untracked)
		count(DT_C_H2_UNTRACKED);
	if ((p.lost || p.off < job->io.len) && c->st.h2.state == H2_CONN_FOLLOWING) {
		count(DT_C_H2_LOST);
		h2_lost(&c->st.h2, job->io.dir);
	}
}

/* Does the handed-over I/O (job) of connection c start where its direction's
 * last one ended (struct h2_order)? If not, it is dropped and its direction
 * resyncs. The follower must be this CPU's (h2_claim). */
__noinline int h2_in_order(struct dt_conn *c, const struct h2_job *job)
{
	struct h2_order *o;
	__u64 key;
	__u32 d, start;

	if (!c || !job)
		return 0;
	key = c->st.h2.key;
	o = bpf_map_lookup_elem(&h2_orders, &key);
	if (!o)
		return 0;
	d = job->io.dir & 1;
	start = job->seq_end - (__u32)job->io.len;
	/* A read that takes the peer's FIN with its last bytes moves the
	 * sequence number one further (the FIN's). */
	if (d == DT_DIR_INGRESS && o->known[d] && start == o->next_seq[d] + 1)
		start--;
	if (!o->known[d] || start == o->next_seq[d]) {
		o->known[d] = 1;
		o->next_seq[d] = job->seq_end;
		return 1;
	}
	count(DT_C_H2_OUT_OF_ORDER);
	/* Bytes up to the sequence number now are given up on; an I/O that
	 * ended before it is one of them. */
	if ((__s32)(job->seq_end - o->next_seq[d]) > 0) {
		o->next_seq[d] = job->seq_end;
		if (c->st.h2.state == H2_CONN_FOLLOWING)
			h2_lost(&c->st.h2, d);
	}
	return 0;
}

/* The HTTP/2 follower for the I/O handed over, in each program that an
 * exit hook tail-calls: one connection's I/Os one at a time, in order. */
static __always_inline int h2_run_job(void)
{
	__u32 zero = 0;
	struct h2_job *job = bpf_map_lookup_elem(&h2_jobs, &zero);
	struct dt_conn *c;
	__u64 key;

	if (!job)
		return 0;
	c = bpf_map_lookup_elem(&conns, &job->io.sock);
	if (!c || c->protocol != DT_PROTO_HTTP2)
		return 0;
	key = c->st.h2.key;
	if (!h2_claim(key))
		return 0;
	c = bpf_map_lookup_elem(&conns, &job->io.sock);
	if (c && c->protocol == DT_PROTO_HTTP2 && h2_in_order(c, job))
		h2_follow_job();
	h2_release(key);
	return 0;
}

/* The follower reached by tail call from sys_exit. */
SEC("raw_tp")
int h2_io(void *ctx)
{
	return h2_run_job();
}

static long h2_close_step(__u32 unused, void *vctx)
{
	__u64 *sock = (__u64 *)vctx;
	__u32 zero = 0;
	union dt_proto_state *done = bpf_map_lookup_elem(&done_scratch, &zero);
	struct dt_conn *c = bpf_map_lookup_elem(&conns, sock);

	if (!done || !c || c->protocol != DT_PROTO_HTTP2)
		return 1;
	if (!(h2_close(&c->st.h2, bpf_ktime_get_ns(), &done->h2_done) & DT_FEED_DONE))
		return 1;
	emit(c, done, c->tgid);
	return 0;
}

/* The connection on socket sock closed: its open streams finish (up to
 * H2_CLOSE_STREAMS), and its shadow goes. A global function: verified
 * once. */
__noinline int h2_close_conn(__u64 sock)
{
	struct dt_conn *c = bpf_map_lookup_elem(&conns, &sock);
	__u64 key;
	int claimed;

	if (!c || c->protocol != DT_PROTO_HTTP2)
		return 0;
	key = c->st.h2.key;
	claimed = h2_claim(key); /* not while another CPU follows its last I/O */
	bpf_loop(H2_CLOSE_STREAMS, h2_close_step, &sock, 0);
	bpf_map_delete_elem(&h2_shadows, &key);
	if (claimed)
		h2_release(key);
	bpf_map_delete_elem(&h2_orders, &key);
	return 0;
}

#endif
