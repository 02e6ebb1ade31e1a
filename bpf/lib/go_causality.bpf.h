/* Causality in Go programs, by goroutine: which inbound request (a SERVER
 * exchange) caused an outbound one, where threads cannot tell
 * (bpf/lib/causality.bpf.h: goroutines move between threads, and net/http's
 * Transport writes a request from its connection's writeLoop goroutine, not
 * from the handler's).
 *
 * What holds in net/http (HTTP/1.x, Go >= 1.17 on amd64: register ABI, the
 * running goroutine's g in R14 and at the thread's fsbase + the binary's TLS
 * offset, -8 for an internally linked one):
 *   1. the goroutine that reads a request's headers (conn.serve) runs its
 *      handler, and reads no other request until the handler returns: the
 *      syscall source notes, for each inbound request read, the reading
 *      goroutine (g read from TLS: no uprobe) -> that exchange (go_serving),
 *      and the connection's last reading goroutine (go_conn_reader);
 *   2. uprobe on net/http.(*persistConn).roundTrip(pc, treq), entered on the
 *      goroutine that sends the request (the handler): the request's
 *      *Request (treq's first word) -> the exchange that goroutine serves,
 *      with the exchange's trace id (go_req_causes);
 *   3. uprobe on net/http.(*Request).write(r, ...), entered on the writeLoop
 *      goroutine that writes r: that goroutine -> r's cause (go_send_causes);
 *   4. the request's first write on a connection the syscall source follows,
 *      made by that goroutine (g from TLS again), takes the cause.
 *   5. deferred work: a SERVER exchange answered 202 Accepted ("accepted for
 *      processing, not yet done") leaves its request line (hashed) pending in
 *      its process (go_deferred). A request later sent by a goroutine that
 *      serves no inbound request, with the same request line, is the deferred
 *      invocation of the one pending 202 with that line. With several pending
 *      it is ambiguous (counted), and so is every one after it until none is
 *      pending: which one was sent first is unknown. Pending entries go after
 *      DT_GO_DEFERRED_NS (an invocation that never came). Wrong only where a
 *      worker sends, unprompted, a request with a pending 202's very line.
 * Two uprobe hits per outbound request, none per inbound one.
 *
 * Correct or absent:
 *   - (1) is believed only while the goroutine is its connection's last
 *     reader and the exchange is the connection's current one, not yet
 *     answered: a goroutine gone with its connection closed, its g reused by
 *     another goroutine, finds its entry stale; so does the background reader
 *     of net/http that reads a next request's first byte (the handler's
 *     goroutine reads the rest, after it, and becomes the last reader; the
 *     HTTP/1 parser holds that byte: start_line.h's HT_HELD_MAX); and a
 *     request the kernel missed leaves the one before it answered. A handler
 *     that sends after it began its response has no cause (absent);
 *   - every uprobe hit checks R14 against the g read from TLS: a binary where
 *     they differ (an older ABI, another TLS layout) is marked bad, and its
 *     requests' causes are unknown from then on (counted);
 *   - a request sent by a goroutine that serves no inbound request (a worker
 *     fed from a queue, a timer) has no cause by goroutine. One such case is
 *     decided from HTTP itself (note 5): a deferred (asynchronous) invocation;
 *     the others start traces of their own.
 *   - HTTP/2 (x/net/http2, Transport's h2 path) and hand-written protocols are
 *     not followed.
 * Uprobes are entry-only: a uretprobe's return trampoline breaks when Go moves
 * a goroutine's stack. An entry probe fires again when the function's stack
 * check grows the stack and restarts it: every write here is idempotent, or
 * taken once. User space puts each probe on that stack check's jbe, not on the
 * function's first instruction, where the prologue has one (user/capture/
 * go_probe_sites.h): the kernel emulates a jump, so a hit is one trap instead
 * of a trap and a single-step (~75 us on this VM); registers are the entry's. */
#ifndef DIFFTRACE_GO_CAUSALITY_BPF_H
#define DIFFTRACE_GO_CAUSALITY_BPF_H

#include "go_causality.h" /* struct dt_go_proc: user space writes one per process */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DT_MAX_TARGET_PIDS);
	__type(key, __u32);
	__type(value, struct dt_go_proc);
} go_procs SEC(".maps");

/* A goroutine or an object of process tgid (addresses are per process). */
struct dt_go_key {
	__u64 addr;
	__u32 tgid;
	__u32 _pad;
};

/* An outbound request's cause, on its way from the handler to the write. */
struct dt_go_cause {
	__u64 sock;       /* the inbound exchange: its socket, connection, number */
	__u64 conn_id;
	__u32 exch;
	__u8 found;       /* 0: its goroutine served no inbound request */
	__u8 trace_src;   /* the exchange's trace id below (enum dt_trace_src), 0: none */
	__u8 live;        /* go_req_causes, go_send_causes: not taken yet (see below) */
	__u8 _pad;
	struct dt_trace_key trace;
};

#define DT_MAX_GOROUTINES 16384

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_GOROUTINES);
	__type(key, struct dt_go_key);
	__type(value, struct dt_exch_ref);
} go_serving SEC(".maps");

/* Socket of a Go server connection -> the goroutine that last read its request. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_GOROUTINES);
	__type(key, __u64);
	__type(value, __u64);
} go_conn_reader SEC(".maps");

/* A request's cause (by its *Request), then a writeLoop goroutine's (by its
 * g), each taken once: its taker clears live rather than deleting it, and
 * the next cause under the same key is written over it in place (Go reuses
 * a freed *Request's memory; a connection keeps its writeLoop goroutine).
 * An LRU map's update and delete each take or give back an element under a
 * lock, several times a lookup's cost; once per request and hop here. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_GOROUTINES);
	__type(key, struct dt_go_key);
	__type(value, struct dt_go_cause);
} go_req_causes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_GOROUTINES);
	__type(key, struct dt_go_key);
	__type(value, struct dt_go_cause);
} go_send_causes SEC(".maps");

/* Deferred invocations pending in a process (note 5). */
struct dt_go_deferred {
	struct dt_go_cause cause; /* the last 202's exchange (believed when pending is 1) */
	__u64 ts;                 /* when the last one was answered */
	__u32 pending;            /* 202s with this line not yet invoked */
	__u32 ambiguous;          /* more than one was pending since the list was last empty */
};

#define DT_GO_DEFERRED_NS (60ULL * 1000000000ULL)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct dt_go_key); /* addr: the request line's hash */
	__type(value, struct dt_go_deferred);
} go_deferred SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_go_deferred);
} go_deferred_scratch SEC(".maps");

/* A cause built here, not on the stack (the syscall path's stack is full). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_go_cause);
} go_cause_scratch SEC(".maps");

/* The goroutine running on this thread (its g), 0 when unreadable. */
static __always_inline __u64 go_current_g(const struct dt_go_proc *p)
{
#if defined(__TARGET_ARCH_x86)
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 fsbase = BPF_CORE_READ(task, thread.fsbase), g = 0;

	if (!fsbase || bpf_probe_read_user(&g, sizeof(g), (const void *)(fsbase + p->g_tls_off)))
		return 0;
	return g;
#else
	return 0;
#endif
}

/* SERVER connection c (socket sock) of process/thread id moved inbound data
 * of its current request: the goroutine reading it serves it (note 1 above).
 * A global function: verified once. */
__noinline int go_note_server_read(struct dt_conn *c, __u64 sock, __u64 id)
{
	__u32 tgid = id >> 32;
	struct dt_go_proc *p;
	struct dt_go_key k = {.tgid = tgid};
	struct dt_exch_ref ref = {.sock = sock}, *cur;
	__u64 *reader;

	/* the connection's own tests first: go_procs misses for other processes */
	if (!c || !c->exch_seq || c->st.http1.phase != HTTP_PHASE_REQUEST)
		return 0;
	p = bpf_map_lookup_elem(&go_procs, &tgid);
	if (!p || p->bad)
		return 0;
	k.addr = go_current_g(p);
	if (!k.addr)
		return 0;
	ref.conn_id = c->conn_id;
	ref.exch = c->exch_seq;
	/* Written in place when the entries exist (a keep-alive connection's
	 * goroutine reads request after request): an LRU map's update takes a
	 * free element and links it in, several times a lookup's cost. Only
	 * the goroutine itself reads its go_serving entry (go_round_trip), and
	 * a go_conn_reader entry is one word. */
	cur = bpf_map_lookup_elem(&go_serving, &k);
	if (cur)
		*cur = ref;
	else
		bpf_map_update_elem(&go_serving, &k, &ref, BPF_ANY);
	reader = bpf_map_lookup_elem(&go_conn_reader, &sock);
	if (reader)
		*(volatile __u64 *)reader = k.addr;
	else
		bpf_map_update_elem(&go_conn_reader, &sock, &k.addr, BPF_ANY);
	return 0;
}

/* SERVER connection c (socket sock) of process/thread id finished an
 * exchange (in done_scratch): a 202 leaves its request pending (note 5).
 * A global function: verified once. */
__noinline int go_note_server_done(struct dt_conn *c, __u64 sock, __u64 id)
{
	__u32 tgid = id >> 32, zero = 0;
	struct dt_go_proc *p;
	union dt_proto_state *done = bpf_map_lookup_elem(&done_scratch, &zero);
	struct dt_go_key k = {.tgid = tgid};
	struct dt_go_deferred *d, *n;
	__u64 now;

	/* the status first: go_procs misses for other processes, and only a
	 * 202 has work here */
	if (!c || !done || done->http1.status != 202)
		return 0;
	p = bpf_map_lookup_elem(&go_procs, &tgid);
	if (!p || p->bad)
		return 0;
	now = bpf_ktime_get_ns();
	k.addr = c->line_hash;
	d = bpf_map_lookup_elem(&go_deferred, &k);
	if (d && d->pending && now - d->ts < DT_GO_DEFERRED_NS) {
		d->pending++;
		d->ambiguous = 1;
		d->ts = now;
		return 0;
	}
	n = bpf_map_lookup_elem(&go_deferred_scratch, &zero);
	if (!n)
		return 0;
	n->cause.sock = sock;
	n->cause.conn_id = c->conn_id;
	n->cause.exch = c->exch_seq;
	n->cause.found = 1;
	n->cause.trace_src = c->trace_src;
	if (c->trace_src)
		copy_trace_id(n->cause.trace.id, c->trace.id);
	n->ts = now;
	n->pending = 1;
	n->ambiguous = 0;
	bpf_map_update_elem(&go_deferred, &k, n, BPF_ANY);
	return 0;
}

/* The deferred invocation CLIENT c starts (note 5): the pending 202 it
 * invokes, or 0 (ambiguous sets *ambiguous). */
static __always_inline struct dt_go_cause *go_deferred_cause(struct dt_conn *c, __u32 tgid,
							     int *ambiguous)
{
	struct dt_go_key k = {.addr = c->line_hash, .tgid = tgid};
	struct dt_go_deferred *d = bpf_map_lookup_elem(&go_deferred, &k);

	if (!d || !d->pending || bpf_ktime_get_ns() - d->ts >= DT_GO_DEFERRED_NS)
		return 0;
	d->pending--;
	if (!d->ambiguous && !d->pending)
		return &d->cause; /* the entry stays: pending 0 is empty */
	*ambiguous = 1;
	return 0;
}

/* CLIENT connection c of process/thread id starts a request: its cause, when
 * its process is a Go one with uprobes (enum dt_cause), else -1 (the thread
 * decides). A global function: verified once. */
__noinline int go_client_cause(struct dt_conn *c, __u64 id)
{
	__u32 tgid = id >> 32;
	struct dt_go_proc *p = bpf_map_lookup_elem(&go_procs, &tgid);
	struct dt_go_key k = {.tgid = tgid};
	struct dt_go_cause *v, *sent;

	if (!c || !p)
		return -1;
	c->cause = DT_CAUSE_UNKNOWN;
	c->cause_conn_id = 0;
	c->cause_exch = 0;
	c->go_cause = 0;
	c->trace_src = DT_TRACE_NONE;
	if (p->bad)
		return DT_CAUSE_UNKNOWN;
	k.addr = go_current_g(p);
	sent = k.addr ? bpf_map_lookup_elem(&go_send_causes, &k) : 0;
	if (!sent || !sent->live)
		return DT_CAUSE_UNKNOWN;
	sent->live = 0; /* taken */
	v = sent;
	if (!v->found) {
		int ambiguous = 0;

		v = go_deferred_cause(c, tgid, &ambiguous);
		if (ambiguous)
			c->cause = DT_CAUSE_AMBIGUOUS;
		if (!v)
			return c->cause;
	}
	if (v->found) {
		c->cause = DT_CAUSE_FOUND;
		c->cause_conn_id = v->conn_id;
		c->cause_exch = v->exch;
		c->go_cause = 1;
		if (v->trace_src) {
			copy_trace_id(c->trace.id, v->trace.id);
			c->trace_src = DT_TRACE_CAUSE;
			count(DT_C_TRACE_BY_CAUSE);
		}
	}
	return c->cause;
}

/* At a uprobe of process tgid: its entry, when R14 is the g that TLS holds
 * (else the process is marked bad, once, and 0). */
static __always_inline struct dt_go_proc *go_probe_proc(__u32 tgid, __u64 r14)
{
	struct dt_go_proc *p = bpf_map_lookup_elem(&go_procs, &tgid);

	if (!p || p->bad)
		return 0;
	count(DT_C_GO_PROBE_HITS);
	if (!r14 || go_current_g(p) != r14) {
		p->bad = 1;
		count(DT_C_GO_G_MISMATCH);
		return 0;
	}
	return p;
}

/* The programs exist on every architecture (user space names them); they
 * read amd64's registers, and are attached on amd64 only
 * (user/capture/go_probe_sites.h). */
#if defined(__TARGET_ARCH_x86)
#define DT_GO_G(ctx) ((ctx)->r14)
#define DT_GO_ARG1(ctx) ((ctx)->ax)
#define DT_GO_ARG2(ctx) ((ctx)->bx)
#else
#define DT_GO_G(ctx) 0
#define DT_GO_ARG1(ctx) 0
#define DT_GO_ARG2(ctx) 0
#endif

/* net/http.(*persistConn).roundTrip(pc, treq *transportRequest), on the
 * sending goroutine (note 2). treq's first field is its *Request. */
SEC("uprobe")
int go_round_trip(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	struct dt_go_key g = {.addr = DT_GO_G(ctx), .tgid = tgid}, req = {.tgid = tgid};
	struct dt_go_cause *cause = bpf_map_lookup_elem(&go_cause_scratch, &zero), *cur;
	struct dt_exch_ref *ref;
	struct dt_conn *l;
	__u64 *reader, sock;

	if (!cause || !go_probe_proc(tgid, g.addr))
		return 0;
	if (bpf_probe_read_user(&req.addr, sizeof(req.addr), (const void *)DT_GO_ARG2(ctx)) ||
	    !req.addr)
		return 0;
	cause->found = 0;
	cause->trace_src = DT_TRACE_NONE;
	cause->live = 1;
	ref = bpf_map_lookup_elem(&go_serving, &g);
	if (ref) {
		sock = ref->sock;
		reader = bpf_map_lookup_elem(&go_conn_reader, &sock);
		l = bpf_map_lookup_elem(&conns, &sock);
		if (reader && *reader == g.addr && l && l->conn_id == ref->conn_id &&
		    l->exch_seq == ref->exch && l->st.http1.phase == HTTP_PHASE_REQUEST) {
			cause->sock = sock;
			cause->conn_id = ref->conn_id;
			cause->exch = ref->exch;
			cause->found = 1;
			server_trace(l, 1);
			if (l->trace_src) {
				copy_trace_id(cause->trace.id, l->trace.id);
				cause->trace_src = l->trace_src;
			}
		}
	}
	cur = bpf_map_lookup_elem(&go_req_causes, &req);
	if (cur)
		*cur = *cause;
	else
		bpf_map_update_elem(&go_req_causes, &req, cause, BPF_ANY);
	return 0;
}

/* net/http.(*Request).write(r, ...), on the writeLoop goroutine (note 3). */
SEC("uprobe")
int go_request_write(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct dt_go_key g = {.addr = DT_GO_G(ctx), .tgid = tgid};
	struct dt_go_key req = {.addr = DT_GO_ARG1(ctx), .tgid = tgid};
	struct dt_go_cause *cause, *cur;

	if (!go_probe_proc(tgid, g.addr))
		return 0;
	/* taken once: a *Request written without a roundTrip before it (Request.Write
	 * called by hand, at an address a sent one had) finds none; the hit again
	 * after a stack growth finds none either, and leaves the first one's */
	cause = bpf_map_lookup_elem(&go_req_causes, &req);
	if (cause && cause->live) {
		cur = bpf_map_lookup_elem(&go_send_causes, &g);
		if (cur)
			*cur = *cause; /* live */
		else
			bpf_map_update_elem(&go_send_causes, &g, cause, BPF_ANY);
		cause->live = 0; /* taken */
	}
	return 0;
}

#endif
