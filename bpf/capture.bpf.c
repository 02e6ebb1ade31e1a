// SPDX-License-Identifier: GPL-2.0
/* HTTP/1.x span capture from the raw syscall tracepoints.
 *
 * One program at syscall entry and one at exit (raw_tracepoint sys_enter and
 * sys_exit) serve every syscall followed: a raw tracepoint costs less per hit
 * than the per-syscall tracepoints, which also copy every call's arguments
 * into a perf buffer. The entry remembers where a targeted thread's
 * send/receive buffer is; the exit copies the first HTTP_WIN bytes the
 * syscall moved and feeds them
 * to the shared boundary logic (include/http1_boundary.h), which tells when
 * an exchange is complete; then a span event goes to the ring buffer.
 * Connection state is keyed by (tgid, fd); close, accept and connect renew
 * it, and a changed socket behind the same fd is noticed at the next request.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#include "capture.h"
#include "lib/targets.bpf.h"
#include "lib/sock.bpf.h"
#include "lib/syscalls.bpf.h"
#include "lib/filter_maps.bpf.h"
#include "span_filter.h"

char LICENSE[] SEC("license") = "GPL";

#define DT_EINPROGRESS 115
#define DT_CLONE_THREAD 0x00010000

enum io_kind {
	IO_BUF = 0,      /* read/write/recvfrom/sendto: one buffer */
	IO_IOV = 1,      /* readv/writev: iovec array */
	IO_MSG = 2,      /* recvmsg/sendmsg: msghdr */
	IO_SENDFILE = 3, /* sendfile: bytes only */
	IO_CONNECT = 4,
	IO_ACCEPT = 5,   /* accept/accept4: the new fd is the return value */
	IO_CLOSE = 6,    /* close: handled at entry, nothing saved */
};

/* What an enter hook leaves for its exit hook, per thread. */
struct io_args {
	__u64 ptr;
	__u64 ts;
	__u32 nr;         /* the syscall: its exit must be the same one */
	__u32 fd;
	__u8 kind;
	__u8 dir;
	__u8 valid;       /* set by enter, cleared by exit */
	__u8 _pad[5];
};

/* Task-local: no hashing per syscall, and freed when the thread exits. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct io_args);
} inflight_io SEC(".maps");

/* The current thread's pending syscall, taken (cleared) as it is read. */
static __always_inline int take_io(struct io_args *out)
{
	struct io_args *p = bpf_task_storage_get(&inflight_io, bpf_get_current_task_btf(), 0, 0);

	if (!p || !p->valid)
		return 0;
	*out = *p;
	p->valid = 0;
	return 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_CONNS);
	__type(key, __u64);
	__type(value, struct dt_conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct http_window);
} windows SEC(".maps");

/* Zeroed template for new connections: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_conn);
} conn_scratch SEC(".maps");

/* Where a finished exchange is copied before it is sent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct http_exchange);
} done_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DT_RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DT_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

__u64 next_conn_id = 0;

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);
	if (v)
		*v += 1;
}

static __always_inline __u64 conn_key(__u64 pid_tgid, __u32 fd)
{
	return (pid_tgid & 0xffffffff00000000ULL) | fd;
}

/* The client end of a TCP connection (address, port, family): what a server
 * sees as its peer. DNAT on the way (a Kubernetes ClusterIP, kube-proxy)
 * rewrites the server end of the client's tuple, never this one. */
struct dt_client_end {
	__u8 addr[16];
	__u16 port;
	__u16 family;
	__u32 _pad;
};

static __always_inline void client_end_of(struct dt_client_end *k, const __u8 *addr, __u16 port,
					  __u16 family)
{
	__builtin_memcpy(k->addr, addr, sizeof(k->addr));
	k->port = port;
	k->family = family;
	k->_pad = 0;
}

/* The client ends of the targets' client connections: a SERVER span whose
 * peer is one has a traced caller (DT_SPAN_F_PEER_TRACED). An entry lives as
 * long as its connection's state: forgotten at close, when the fd is taken
 * by another connection, and when the process exits. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_CONNS);
	__type(key, struct dt_client_end);
	__type(value, __u8);
} client_ends SEC(".maps");

/* Forgets a client connection's end. */
static __always_inline void forget_client_end(const struct dt_conn *c)
{
	struct dt_client_end k;

	client_end_of(&k, c->tuple.local_addr, c->tuple.local_port, c->tuple.family);
	bpf_map_delete_elem(&client_ends, &k);
}

/* Forgets a connection's state and, for a client's, its end. */
static __always_inline void drop_conn(const __u64 *key, const struct dt_conn *c)
{
	if (c->client_published)
		forget_client_end(c);
	bpf_map_delete_elem(&conns, key);
}

/* Fresh state for the connection at key, on socket sk; 0 when made. A
 * global function: verified once, not at each place a connection starts. */
__noinline int new_conn_state(__u64 key, __u64 sk)
{
	__u32 zero = 0;
	struct dt_conn *old = bpf_map_lookup_elem(&conns, &key);
	struct dt_conn *c;

	/* The fd now names another connection: the old one's tuple goes too,
	 * or an unrelated connection that reuses it would pass for traced. */
	if (old && old->client_published)
		forget_client_end(old);
	c = bpf_map_lookup_elem(&conn_scratch, &zero);
	if (!c)
		return -1;
	__builtin_memset(c, 0, sizeof(*c));
	tuple_of_sock((struct sock *)sk, &c->tuple);
	c->sock = sk;
	c->conn_id = __sync_fetch_and_add(&next_conn_id, 1) + 1;
	if (bpf_map_update_elem(&conns, &key, c, BPF_ANY)) {
		count(DT_C_CONN_MAP_FULL);
		return -1;
	}
	count(DT_C_CONNS_TRACKED);
	return 0;
}

static __always_inline struct dt_conn *new_conn(__u64 key, struct sock *sk)
{
	if (new_conn_state(key, (__u64)sk))
		return 0;
	return bpf_map_lookup_elem(&conns, &key);
}

static __always_inline void publish_client(struct dt_conn *c)
{
	struct dt_client_end k;
	__u8 one = 1;

	if (c->client_published || c->x.role != HTTP_ROLE_CLIENT)
		return;
	client_end_of(&k, c->tuple.local_addr, c->tuple.local_port, c->tuple.family);
	if (!bpf_map_update_elem(&client_ends, &k, &one, BPF_ANY))
		c->client_published = 1;
}

/* Is the other end of this connection a target's client connection? */
static __always_inline int peer_traced(const struct dt_tuple *t)
{
	struct dt_client_end k;

	client_end_of(&k, t->peer_addr, t->peer_port, t->family);
	return bpf_map_lookup_elem(&client_ends, &k) != 0;
}

/* Filters a finished exchange of connection c and sends it as a span event
 * when the filter reports it. A global function: verified once on its own,
 * not again at each of its callers. */
__noinline int emit(const struct dt_conn *c, const struct http_exchange *x, __u32 tgid)
{
	__u32 zero = 0;
	/* built where the filter step reads it, then (maybe) sent */
	struct dt_span_event *e = dt_filter_span_event();
	struct dt_filter_scratch *fs = bpf_map_lookup_elem(&filter_scratch, &zero);
	struct dt_filter_settings set = {};
	enum dt_filter_outcome out;
	__u64 flags;

	if (!e || !fs || !c || !x)
		return 0;
	count(DT_C_SPANS_SEEN);
	if (x->req.hdr_lost || x->resp.hdr_lost)
		count(DT_C_HDR_LOST);
	if (x->phase == HTTP_PHASE_REQUEST)
		count(DT_C_UNANSWERED);
	dt_span_event_fill(e, x, &c->tuple, c->conn_id, tgid, c->tid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (e->kind == DT_SPAN_SERVER && peer_traced(&c->tuple))
		e->flags |= DT_SPAN_F_PEER_TRACED;
	/* Read field by field: through a non-volatile pointer the compiler
	 * would fold the initial values in, and miss what user space set. */
	set.no_filter = filter_settings.no_filter;
	set.default_role = filter_settings.default_role;
	set.keep_spans = filter_settings.keep_spans;
	out = dt_filter_span_bpf(&set, hist_epoch & 1);
	if (fs->overwritten)
		count(DT_C_KEEP_OVERWRITTEN);
	if (fs->hist_full)
		count(DT_C_HIST_MAP_FULL);
	if (out == DT_OUT_KEPT) {
		count(DT_C_SPANS_KEPT);
		return 0;
	}
	if (out == DT_OUT_DROPPED) {
		count(DT_C_SPANS_DROPPED);
		return 0;
	}
	/* Waking the reader for every span costs a context switch each; wake
	 * it once a batch is waiting (it also drains on its poll timeout). */
	flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= DT_WAKEUP_BYTES
			? BPF_RB_FORCE_WAKEUP
			: BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, e, sizeof(*e), flags)) {
		count(DT_C_RINGBUF_LOST);
		if (dt_reason_is_anomaly(e->reason))
			count(DT_C_ANOMALIES_LOST);
		return 0;
	}
	count(DT_C_SPANS_REPORTED);
	if (e->reason < DT_REASON_MAX)
		count(DT_C_REASON_FIRST + e->reason);
	return 0;
}

/* A targeted thread enters syscall nr: remember its fd and buffer. */
static __always_inline void save_io(struct pt_regs *regs, __u32 nr, __u8 kind, __u8 dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct io_args *a;

	if (!is_target(id))
		return;
	a = bpf_task_storage_get(&inflight_io, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!a) {
		count(DT_C_IO_MAP_FULL);
		return;
	}
	a->nr = nr;
	a->fd = (__u32)DT_SYSCALL_ARG0(regs);
	a->ptr = kind == IO_ACCEPT || kind == IO_CONNECT ? 0 : DT_SYSCALL_ARG1(regs);
	a->kind = kind;
	a->dir = dir;
	a->ts = bpf_ktime_get_ns();
	a->valid = 1;
}

/* First buffer of an iovec array: its address and length. */
static __always_inline int first_iov(__u64 iov_ptr, __u64 *base, __u64 *len)
{
	struct iovec v = {};
	if (bpf_probe_read_user(&v, sizeof(v), (void *)iov_ptr))
		return -1;
	*base = (__u64)v.iov_base;
	*len = v.iov_len;
	return 0;
}

/* Iovecs a writev/sendmsg may pass (UIO_MAXIOV): the walk to the end of
 * the data looks at as many. */
#define DT_MAX_IOVS 1024

/* A walk over an iovec array to the one where the data ends. */
struct iov_walk {
	__u64 iov_ptr;
	__u64 ret;        /* bytes the syscall moved */
	__u64 seen;       /* bytes in the iovecs before the current one */
	__u64 prev_base;  /* the last non-empty iovec before the end one */
	__u64 prev_len;
	__u64 end_base;   /* the iovec where the data ends ... */
	__u64 end_len;    /* ... and how much of it holds data */
	__u32 found;
	__u32 _pad;
};

static long iov_walk_step(__u32 i, void *vctx)
{
	struct iov_walk *w = vctx;
	struct iovec v = {};

	if (bpf_probe_read_user(&v, sizeof(v), (void *)(w->iov_ptr + (__u64)i * sizeof(v))))
		return 1;
	if (!v.iov_len)
		return 0;
	if (w->seen + v.iov_len < w->ret) {
		w->seen += v.iov_len;
		w->prev_base = (__u64)v.iov_base;
		w->prev_len = v.iov_len;
		return 0;
	}
	w->end_base = (__u64)v.iov_base;
	w->end_len = w->ret - w->seen;
	w->found = 1;
	return 1;
}

/* The last bytes of data scattered over an iovec array of total length ret.
 * They may span two iovecs: a chunked body's terminal "0\r\n\r\n" is often
 * an iovec of its own after the previous chunk's "\r\n". Not inlined: its
 * walk's state would sit in sys_exit's stack frame, under the parser's. */
static __noinline void tail_of_iov(__u64 iov_ptr, __u64 ret, struct http_chunk *ch)
{
	struct iov_walk w = {};
	__u64 last = 0, prev = 0;
	__u32 n, k;

	w.iov_ptr = iov_ptr;
	w.ret = ret;
	bpf_loop(DT_MAX_IOVS, iov_walk_step, &w, 0);
	if (!w.found)
		return;
	n = w.end_len < HTTP_TAIL ? (__u32)w.end_len : HTTP_TAIL;
	barrier_var(n);
	if (n > HTTP_TAIL)
		return; /* never: a bound the verifier can see */
	if (bpf_probe_read_user(&last, n, (void *)(w.end_base + w.end_len - n)))
		return;
	k = 0;
	if (n < HTTP_TAIL) {
		/* the rest from the end of the iovec before */
		k = HTTP_TAIL - n;
		if (k > w.prev_len)
			k = (__u32)w.prev_len;
		barrier_var(k);
		if (k > HTTP_TAIL)
			return;
		if (k && bpf_probe_read_user(&prev, k, (void *)(w.prev_base + w.prev_len - k)))
			k = 0;
		/* little-endian: prev's k bytes first, then the end iovec's n */
		last = prev | last << (k * 8);
	}
	__builtin_memcpy(ch->tail, &last, HTTP_TAIL);
	ch->tail_len = n + k;
}

static __always_inline void on_data(struct io_args *a, __u64 id, __u64 ret)
{
	__u32 zero = 0, tgid = id >> 32;
	__u64 key = conn_key(id, a->fd);
	__u64 base = a->ptr, first_len = ret, iov_ptr = 0, now;
	struct http_window *w;
	struct http_chunk ch = {};
	struct dt_conn *c;
	struct http_exchange *done;
	__u32 win_len;
	__u64 prev_start;
	int res, kind;

	w = bpf_map_lookup_elem(&windows, &zero);
	if (!w)
		return;
	if (a->kind == IO_IOV) {
		iov_ptr = a->ptr;
	} else if (a->kind == IO_MSG) {
		/* only msg_iov: the whole msghdr would take stack the parser needs */
		if (bpf_probe_read_user(&iov_ptr, sizeof(iov_ptr),
					&((struct user_msghdr *)a->ptr)->msg_iov))
			return;
	}
	if (iov_ptr) {
		if (first_iov(iov_ptr, &base, &first_len))
			return;
		if (first_len > ret)
			first_len = ret;
	}
	if (a->kind == IO_SENDFILE)
		first_len = 0;

	win_len = first_len < HTTP_WIN ? (__u32)first_len : HTTP_WIN;
	barrier_var(win_len);
	if (win_len > HTTP_WIN)
		return;
	if (win_len && bpf_probe_read_user(w->data, win_len, (void *)base))
		return;
	ch.win_len = win_len;
	ch.total_len = ret;
	ch.dir = a->dir;
	ch.ts_enter = a->ts;
	kind = http_classify(w, win_len);

	c = bpf_map_lookup_elem(&conns, &key);
	if (!c) {
		/* Only a request start makes an untracked socket worth state. */
		struct sock *sk;
		if (kind != HTTP_START_REQUEST)
			return;
		sk = tcp_sock_of_fd(a->fd);
		if (!sk)
			return;
		c = new_conn(key, sk);
		if (!c)
			return;
	} else if (c->x.phase == HTTP_PHASE_IDLE && kind == HTTP_START_REQUEST &&
		   a->ts - c->last_ns > DT_RECHECK_IDLE_NS) {
		/* The fd may now name another socket (dup2 over it, a missed close). */
		struct sock *sk = tcp_sock_of_fd(a->fd);
		if (!sk)
			return;
		if ((__u64)sk != c->sock) {
			c = new_conn(key, sk);
			if (!c)
				return;
		}
	}
	count(DT_C_IO_CALLS);

	if (ret == win_len)
		http_tail_from_window(w, &ch);
	else if (iov_ptr)
		tail_of_iov(iov_ptr, ret, &ch);
	else if (a->kind == IO_BUF &&
		 !bpf_probe_read_user(ch.tail, HTTP_TAIL, (void *)(base + ret - HTTP_TAIL)))
		ch.tail_len = HTTP_TAIL;

	done = bpf_map_lookup_elem(&done_scratch, &zero);
	if (!done)
		return;
	now = bpf_ktime_get_ns();
	c->last_ns = now;
	ch.ts_exit = now;
	prev_start = c->x.start_ns;
	res = http_feed(&c->x, w, &ch, done);
	publish_client(c);
	if (c->x.phase == HTTP_PHASE_REQUEST && c->x.start_ns != prev_start)
		c->tid = (__u32)id; /* the thread that took the new request */
	if (res == HTTP_FEED_DONE)
		emit(c, done, tgid);
	else if (res == HTTP_FEED_IGNORED)
		count(DT_C_NON_HTTP);
}

/* The connection closed or its reader saw EOF: finish its exchange. */
static __always_inline void close_exchange(struct dt_conn *c, __u32 tgid)
{
	__u32 zero = 0;
	struct http_exchange *done = bpf_map_lookup_elem(&done_scratch, &zero);

	if (done && http_close(&c->x, bpf_ktime_get_ns(), done) == HTTP_FEED_DONE)
		emit(c, done, tgid);
}

/* A reader saw end of file: a response without a length ends here. */
static __always_inline void on_eof(struct io_args *a, __u64 id)
{
	__u64 key = conn_key(id, a->fd);
	struct dt_conn *c = bpf_map_lookup_elem(&conns, &key);

	if (!c || c->x.phase != HTTP_PHASE_RESPONSE || c->x.role != HTTP_ROLE_CLIENT)
		return;
	close_exchange(c, id >> 32);
}

/* A targeted thread has a new connection on fd: fresh state for it. */
static __always_inline void track_fd(__u64 id, __u32 fd)
{
	struct sock *sk = tcp_sock_of_fd(fd);

	if (sk)
		new_conn(conn_key(id, fd), sk);
}

/* A targeted thread closes fd: finish its exchange and forget it. */
static __always_inline void on_close(struct pt_regs *regs)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct dt_conn *c;
	__u64 key;

	if (!is_target(id))
		return;
	key = conn_key(id, (__u32)DT_SYSCALL_ARG0(regs));
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return;
	close_exchange(c, id >> 32);
	drop_conn(&key, c);
}

/* Every syscall of every process enters here: the ones not followed leave
 * at the switch, untargeted threads at is_target. */
SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__u32 nr = (__u32)ctx->args[1];
	__u8 kind, dir = HTTP_DIR_EGRESS;

	switch (nr) {
	case DT_NR_read:
	case DT_NR_recvfrom:
		kind = IO_BUF;
		dir = HTTP_DIR_INGRESS;
		break;
	case DT_NR_readv:
		kind = IO_IOV;
		dir = HTTP_DIR_INGRESS;
		break;
	case DT_NR_recvmsg:
		kind = IO_MSG;
		dir = HTTP_DIR_INGRESS;
		break;
	case DT_NR_write:
	case DT_NR_sendto:
		kind = IO_BUF;
		break;
	case DT_NR_writev:
		kind = IO_IOV;
		break;
	case DT_NR_sendmsg:
		kind = IO_MSG;
		break;
	case DT_NR_sendfile:
		/* sendfile(out_fd, in_fd, ...): only the byte count of out_fd matters */
		kind = IO_SENDFILE;
		break;
	case DT_NR_accept:
	case DT_NR_accept4:
		kind = IO_ACCEPT;
		dir = HTTP_DIR_INGRESS;
		break;
	case DT_NR_connect:
		kind = IO_CONNECT;
		break;
	case DT_NR_close:
		kind = IO_CLOSE;
		break;
	default:
		return 0;
	}
	if (dt_compat_syscall())
		return 0;
	if (kind == IO_CLOSE)
		on_close(regs);
	else
		save_io(regs, nr, kind, dir);
	return 0;
}

/* Every syscall exit: only a thread whose entry was saved has work here. */
SEC("raw_tracepoint/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = (long)ctx->args[1];
	__u64 id;
	struct io_args a;

	if (!take_io(&a))
		return 0;
	/* An entry whose exit was never seen (difftrace attached in between)
	 * must not be taken for this call's. */
	if ((__u32)BPF_CORE_READ(regs, orig_ax) != a.nr)
		return 0;
	id = bpf_get_current_pid_tgid();
	if (a.kind == IO_ACCEPT) {
		if (ret >= 0)
			track_fd(id, (__u32)ret);
	} else if (a.kind == IO_CONNECT) {
		if (ret == 0 || ret == -DT_EINPROGRESS)
			track_fd(id, a.fd); /* its entry checked the target */
	} else if (ret > 0) {
		on_data(&a, id, (__u64)ret);
	} else if (ret == 0 && a.dir == HTTP_DIR_INGRESS) {
		on_eof(&a, id);
	}
	return 0;
}

/* Processes forked by a --pid target are targets too. */
SEC("tracepoint/task/task_newtask")
int on_newtask(struct trace_event_raw_task_newtask *ctx)
{
	__u32 parent = bpf_get_current_pid_tgid() >> 32;
	__u32 child = ctx->pid;
	__u8 one = 1;

	if (!use_pid_targets || (ctx->clone_flags & DT_CLONE_THREAD))
		return 0;
	if (bpf_map_lookup_elem(&target_pids, &parent))
		bpf_map_update_elem(&target_pids, &child, &one, BPF_ANY);
	return 0;
}

/* Each connection of an exiting process: its exchange finishes as at close
 * (a request the process never answered is a span, status 0), and its state
 * goes. The kernel closes an exiting process's fds without a close call. */
static long drop_conn_of_exited(struct bpf_map *map, const __u64 *key, struct dt_conn *c,
				void *vtgid)
{
	__u32 tgid = *(__u32 *)vtgid;

	if ((__u32)(*key >> 32) != tgid)
		return 0;
	close_exchange(c, tgid);
	drop_conn(key, c);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_process_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	/* every thread's exit comes here: act once, when the last one goes */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (is_target(id))
		bpf_for_each_map_elem(&conns, drop_conn_of_exited, &tgid, 0);
	if (use_pid_targets)
		bpf_map_delete_elem(&target_pids, &tgid);
	return 0;
}
