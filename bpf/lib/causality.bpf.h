/* In-process causality: which inbound request (a SERVER exchange) of a
 * process caused an outbound one (a CLIENT exchange it starts), from what
 * the syscalls show, and the TCP sequence number of each request's first
 * byte, by which user space pairs a CLIENT span with the SERVER span at the
 * other end of the connection (through NAT and connection pools).
 *
 * Each thread that reads inbound requests counts them (struct
 * dt_thread_io): open (request started, response not begun) and, of those,
 * unmatched (no outbound request attributed to it yet), and remembers L, the
 * inbound request it last started to read. When the thread starts an
 * outbound request, L is its cause when L is still open and either
 *   R1: L is the only inbound request open on the thread. A thread that
 *       serves one request at a time (a thread per request, a pool) sends
 *       only for it; so does an event loop with one request open.
 *   R2: L is the only unmatched one, and the outbound request is the
 *       thread's very next I/O on a traced connection after L's last read.
 *       An event-loop proxy (nginx, haproxy) that has read a whole request
 *       sends it upstream in the same handler before it touches another
 *       connection; a write for another request (an upstream connection that
 *       became writable, a retry) comes after other I/O, or while another
 *       request is unmatched.
 *   R3: of the thread's open unmatched inbound requests (all of them among
 *       the last DT_RECENT_IN it started), exactly one has the outbound
 *       request's request line (method, target, version). An event loop
 *       that reads a batch before it forwards any (haproxy: reads A and B,
 *       then sends A, then B) forwards each request line as it came.
 * Otherwise the cause is ambiguous (inbound requests are open) or unknown
 * (none is), and counted, never guessed.
 *
 * What it assumes, and where it does not hold:
 *   - every outbound request sent while a thread has one inbound request
 *     open is for that request: a background request (a health check, a
 *     timer's) at that moment is taken for it;
 *   - R3: a proxy that forwards a request line unchanged sends it for that
 *     request; a retry of an already forwarded request with the same line
 *     as one still waiting would be taken for that one;
 *   - the inbound requests are on connections difftrace parses (HTTP/1.x in
 *     clear): a request served over TLS or HTTP/2 is not counted;
 *   - the thread that reads a request serves it. Go breaks this: goroutines
 *     move between threads (an M runs whichever goroutine is ready, and the
 *     netpoller parks a goroutine's read on one thread and wakes it on
 *     another), so a Go server's outbound request is often written on a
 *     thread that read another request: R1 and R2 can both be wrong there.
 *     Go processes need goroutine ids (uprobes on the runtime), not threads.
 * A connection whose state the LRU drops unseen leaves its thread's counts
 * high: that thread's causes stay ambiguous (absent, not wrong). */
#ifndef DIFFTRACE_CAUSALITY_BPF_H
#define DIFFTRACE_CAUSALITY_BPF_H

#include "dt/chunk_build.h"

/* Threads that read inbound requests (432 bytes each, preallocated: 7 MB). When full, a
 * new thread's outbound requests have no cause (counted as thread_map_full). */
#define DT_MAX_THREADS 16384

enum {
	DT_COUNTED_OPEN = 1,      /* in the thread's open count */
	DT_COUNTED_UNMATCHED = 2, /* in its unmatched count */
};

/* A power of two: haproxy with 16 connections a thread reads batches of up to 16. */
#define DT_RECENT_IN 16

/* An inbound exchange: its socket, connection and number. */
struct dt_exch_ref {
	__u64 sock;
	__u64 conn_id;
	__u32 exch;
	__u32 _pad;
};

/* Inbound requests of one thread. */
struct dt_thread_io {
	struct dt_exch_ref recent[DT_RECENT_IN]; /* the last ones started, for R3 */
	__u32 next_recent;
	__u32 _pad;
	__u64 l_sock;     /* L: the socket, connection and exchange last started */
	__u64 l_conn_id;
	__u32 l_exch;
	__u32 open;
	__u32 unmatched;
	__u32 epoch;      /* I/Os of the thread on traced connections */
	__u32 l_epoch;    /* epoch after L's last read */
	__u32 gen;        /* this entry's number: a reused thread id has another */
};

__u32 next_thread_gen = 0;
/* A zeroed entry, never written: a new thread's start (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_thread_io);
} thread_zero SEC(".maps");

/* tid -> its inbound requests. A hash, not an LRU: a thread's counts lost
 * to eviction would make it look idle. Deleted when the thread exits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DT_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct dt_thread_io);
} threads SEC(".maps");

/* Processes whose threads tell nothing of their requests' causes: Go programs,
 * whose goroutines move between threads (the note at the top). User space
 * writes each as it finds one (user/capture/go_process.h); their outbound
 * requests' causes are unknown, and start traces of their own. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DT_MAX_TARGET_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} no_thread_causes SEC(".maps");

/* bpf/lib/go_causality.bpf.h: causes by goroutine in Go processes. */
__noinline int go_note_server_read(struct dt_conn *c, __u64 sock, __u64 id);
__noinline int go_client_cause(struct dt_conn *c, __u64 id);
__noinline int go_note_server_done(struct dt_conn *c, __u64 sock, __u64 id);
/* bpf/sources/syscalls.bpf.h: a thread's I/O on an fd was a server connection's. */
__noinline int note_server_fd(__u32 gen, __u64 id);

/* Set by user space once a Go process has its uprobes (a go_procs entry):
 * until then no I/O has a Go process to note, and skips the calls and
 * their go_procs lookups (a miss each): two per request a server answers,
 * one per request a client sends. */
volatile __u32 go_procs_known = 0;

/* The SERVER exchange of c leaves the counts of t, the thread it is counted
 * on (counted_tid's entry, or 0 when it has none). */
static __always_inline void uncount_from(struct dt_conn *c, struct dt_thread_io *t)
{
	if (t && t->gen == c->counted_gen) {
		if ((c->counted & DT_COUNTED_OPEN) && t->open)
			t->open--;
		if ((c->counted & DT_COUNTED_UNMATCHED) && t->unmatched)
			t->unmatched--;
	}
	c->counted = 0;
}

/* The SERVER exchange of c leaves its thread's counts (its response began,
 * it ended, or its connection went). A global function: verified once. */
__noinline int cause_uncount(struct dt_conn *c)
{
	__u32 tid;

	if (!c || !c->counted)
		return 0;
	tid = c->counted_tid;
	uncount_from(c, bpf_map_lookup_elem(&threads, &tid));
	return 0;
}

/* The thread's counts, made when create and it has none. */
static __always_inline struct dt_thread_io *thread_io(__u32 tid, int create)
{
	struct dt_thread_io *t = bpf_map_lookup_elem(&threads, &tid), *zero;
	__u32 k = 0;

	if (t || !create)
		return t;
	zero = bpf_map_lookup_elem(&thread_zero, &k);
	if (!zero)
		return 0;
	if (bpf_map_update_elem(&threads, &tid, zero, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&threads, &tid)) {
		count(DT_C_THREAD_MAP_FULL);
		return 0;
	}
	t = bpf_map_lookup_elem(&threads, &tid);
	if (t && !t->gen)
		t->gen = __sync_fetch_and_add(&next_thread_gen, 1) + 1;
	return t;
}

/* FNV-1a of the request line: its held_len bytes read before (held, the
 * first in the lowest byte: http1's HT_HELD_MAX), then the start of window w
 * (up to its CR, at most DT_LINE_HASH_MAX bytes of the len there). */
#define DT_LINE_HASH_MAX 128
static __always_inline __u64 line_hash(const struct dt_window *w, __u32 len, __u64 held,
				       __u32 held_len)
{
	__u64 h = 0xcbf29ce484222325ULL;
	__u32 i;

	for (i = 0; i < HT_HELD_MAX; i++) {
		if (i >= held_len)
			break;
		h = (h ^ ((held >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
	}

	for (i = 0; i < DT_LINE_HASH_MAX; i++) {
		__u8 b;

		if (i >= len)
			break;
		b = w->data[i];
		if (b == '\r')
			break;
		h = (h ^ b) * 0x100000001b3ULL;
	}
	return h;
}

/* R3's walk over a thread's recent inbound requests (a bpf_loop callback:
 * verified once, not once per entry and way through it). */
struct dt_line_walk {
	__u32 tid;
	__u32 gen;
	__u64 hash;
	__u32 unmatched;  /* open unmatched requests among the recent ones */
	__u32 same;       /* ... of them with the request line hashed */
	__u32 found;      /* the last of those: its index in recent */
	__u32 _pad;
};

static long line_walk_step(__u32 i, void *vctx)
{
	struct dt_line_walk *lw = vctx;
	struct dt_thread_io *t = bpf_map_lookup_elem(&threads, &lw->tid);
	struct dt_exch_ref *r;
	struct dt_conn *l;
	__u64 key;

	if (!t)
		return 1;
	r = &t->recent[i & (DT_RECENT_IN - 1)];
	key = r->sock;
	if (!key)
		return 0;
	l = bpf_map_lookup_elem(&conns, &key);
	if (!l || l->conn_id != r->conn_id || l->exch_seq != r->exch ||
	    l->counted != (DT_COUNTED_OPEN | DT_COUNTED_UNMATCHED) || l->counted_tid != lw->tid ||
	    l->counted_gen != lw->gen)
		return 0;
	lw->unmatched++;
	if (l->line_hash == lw->hash) {
		lw->same++;
		lw->found = i;
	}
	return 0;
}

/* R3: the one open unmatched inbound request of thread t (tid) whose
 * request line hashes to hash, when the thread's recent ones hold all its
 * unmatched ones; else 0. */
static __always_inline struct dt_conn *same_line_cause(struct dt_thread_io *t, __u32 tid,
						     __u64 hash)
{
	struct dt_line_walk lw = {.tid = tid, .gen = t->gen, .hash = hash};
	struct dt_exch_ref *r;
	struct dt_conn *l;
	__u64 key;

	/* from unknowns, so that the callback's first state covers the rest */
	lw.unmatched = DT_UNKNOWN(0);
	lw.same = DT_UNKNOWN(0);
	lw.found = DT_UNKNOWN(0);
	bpf_loop(DT_RECENT_IN, line_walk_step, &lw, 0);
	if (lw.unmatched != t->unmatched || lw.same != 1)
		return 0;
	r = &t->recent[lw.found & (DT_RECENT_IN - 1)];
	key = r->sock;
	l = bpf_map_lookup_elem(&conns, &key);
	if (!l || l->conn_id != r->conn_id || l->exch_seq != r->exch)
		return 0;
	return l;
}

/* The cause of the outbound request c starts on thread t (R1, R2 above), or
 * of the requests a connection the thread just opened will carry: an event
 * loop that opens a connection for a request (nginx: read, connect; the
 * request goes out once the connection is up, after other I/O) decides
 * there, in the same handler as the read. Returns enum dt_cause. */
static __always_inline int decide_cause(struct dt_conn *c, struct dt_thread_io *t, __u32 tid,
					int by_line)
{
	struct dt_conn *l;
	__u64 key;
	__u32 tgid = c->tgid;
	int l_unmatched;

	c->cause = DT_CAUSE_UNKNOWN;
	c->cause_conn_id = 0;
	c->cause_exch = 0;
	c->trace_src = DT_TRACE_NONE;
	if (!t || !t->open || bpf_map_lookup_elem(&no_thread_causes, &tgid))
		return DT_CAUSE_UNKNOWN;
	c->cause = DT_CAUSE_AMBIGUOUS;
	key = t->l_sock;
	l = bpf_map_lookup_elem(&conns, &key);
	if (!l || l->conn_id != t->l_conn_id || l->exch_seq != t->l_exch ||
	    !(l->counted & DT_COUNTED_OPEN))
		l = 0;
	l_unmatched = l && (l->counted & DT_COUNTED_UNMATCHED) != 0;
	if (!l || (t->open != 1 && !(l_unmatched && t->unmatched == 1 && t->epoch == t->l_epoch))) {
		l = by_line ? same_line_cause(t, tid, c->line_hash) : 0;
		if (!l)
			return DT_CAUSE_AMBIGUOUS;
		l_unmatched = 1;
	}
	c->cause = DT_CAUSE_FOUND;
	c->cause_conn_id = l->conn_id;
	c->cause_exch = l->exch_seq;
	inherit_trace(c, l); /* bpf/lib/trace_inherit.bpf.h */
	if (l_unmatched) {
		l->counted &= ~DT_COUNTED_UNMATCHED;
		if (t->unmatched)
			t->unmatched--;
	}
	return DT_CAUSE_FOUND;
}

static __always_inline void count_cause(int cause)
{
	if (cause == DT_CAUSE_FOUND)
		count(DT_C_CAUSE_FOUND);
	else if (cause == DT_CAUSE_AMBIGUOUS)
		count(DT_C_CAUSE_AMBIGUOUS);
	else
		count(DT_C_CAUSE_UNKNOWN);
}

/* Thread id connected socket sk (state made for it already): the cause of
 * its first request, when the thread's state decides it now (decide_cause);
 * a connect is an I/O of the thread too. A global function: verified once. */
__noinline int dt_cause_at_connect(__u64 sk, __u64 id)
{
	__u32 tid = (__u32)id;
	struct dt_thread_io *t = bpf_map_lookup_elem(&threads, &tid);
	struct dt_conn *c;

	if (!t)
		return 0;
	c = bpf_map_lookup_elem(&conns, &sk);
	if (c) {
		c->cause_at_connect = decide_cause(c, t, tid, 0) == DT_CAUSE_FOUND;
		if (!c->cause_at_connect)
			c->cause = DT_CAUSE_NONE;
	}
	t->epoch++;
	return 0;
}

/* After connection c took the I/O io (its window w) on thread id, and its protocol said
 * res (enum dt_feed_result; a finished exchange already emitted): the
 * request's number and first sequence number when one started, the
 * thread's counts, and an outbound request's cause. A global function:
 * verified once, off the I/O path's own walk. */
__noinline int dt_causality(struct dt_conn *c, const struct dt_io *io,
			    const struct dt_window *w, int res, __u64 id)
{
	struct tcp_sock *tp;
	__u64 sock;
	__u32 tid = (__u32)id, len, dir;
	struct dt_thread_io *t;
	int server, started;

	if (!c || !io || !w)
		return 0;
	sock = io->sock;
	len = (__u32)io->len;
	dir = io->dir;
	tp = (struct tcp_sock *)sock;
	started = (res & DT_FEED_STARTED) != 0;
	server = conn_is_server(c);
	if (started) {
		/* The request starts this I/O's data: the socket's sequence
		 * number after the syscall, less what it moved. */
		c->exch_seq++;
		c->req_seq = (server ? BPF_CORE_READ(tp, copied_seq) : BPF_CORE_READ(tp, write_seq)) -
			     len - c->st.http1.held_len;
		c->has_seq = 1;
		c->line_hash = line_hash(w, len, c->st.http1.held, c->st.http1.held_len);
		if (server)
			c->trace_src = DT_TRACE_NONE; /* decided when needed */
	}
	if (go_procs_known && server && dir == DT_DIR_INGRESS)
		go_note_server_read(c, sock, id);
	if (go_procs_known && server && (res & DT_FEED_DONE) && !started)
		go_note_server_done(c, sock, id);
	t = thread_io(tid, started && server);
	/* (none of the above changes c's count or phase) */
	if (c->counted && (started || (res & DT_FEED_DONE) ||
			   c->st.http1.phase != HTTP_PHASE_REQUEST)) {
		/* a server's response is most often written by the thread that
		 * read its request: its entry is t, looked up once */
		if (c->counted_tid == tid)
			uncount_from(c, t);
		else
			cause_uncount(c);
	}
	if (started && server && t) {
		t->open++;
		t->unmatched++;
		c->counted = DT_COUNTED_OPEN | DT_COUNTED_UNMATCHED;
		c->counted_tid = tid;
		c->counted_gen = t->gen;
		t->l_sock = sock;
		t->l_conn_id = c->conn_id;
		t->l_exch = c->exch_seq;
		t->recent[t->next_recent & (DT_RECENT_IN - 1)].sock = sock;
		t->recent[t->next_recent & (DT_RECENT_IN - 1)].conn_id = c->conn_id;
		t->recent[t->next_recent & (DT_RECENT_IN - 1)].exch = c->exch_seq;
		t->next_recent++;
	} else if (started && !server) {
		/* its first request, when its connect found the cause */
		int go;

		if (c->exch_seq == 1 && c->cause_at_connect)
			count_cause(DT_CAUSE_FOUND);
		else if (go_procs_known && (go = go_client_cause(c, id)) >= 0)
			count_cause(go);
		else
			count_cause(decide_cause(c, t, tid, 1));
		c->cause_at_connect = 0;
		client_trace(c);
	}
	if (server && io->by_fd)
		note_server_fd(io->fd_gen, id);
	if (!t)
		return 0;
	t->epoch++;
	if (server && dir == DT_DIR_INGRESS && c->counted && t->l_conn_id == c->conn_id &&
	    t->l_exch == c->exch_seq)
		t->l_epoch = t->epoch;
	return 0;
}

/* A thread exits: its counts go (thread ids are reused). */
static __always_inline void cause_thread_exit(__u32 tid)
{
	bpf_map_delete_elem(&threads, &tid);
}

#endif
