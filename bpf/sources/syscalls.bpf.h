/* Hook source: the raw syscall tracepoints.
 *
 * One program at syscall entry and one at exit (raw_tracepoint sys_enter and
 * sys_exit) serve every syscall followed: a raw tracepoint costs less per hit
 * than the per-syscall tracepoints, which also copy every call's arguments
 * into a perf buffer. The entry remembers where a targeted thread's
 * send/receive buffer is; the exit builds the I/O's chunk, finds the fd's
 * socket and hands both to dt_on_io (bpf/lib/on_io.bpf.h). The fd's socket
 * is cached per (tgid, fd): close, accept and connect renew the entry, and
 * a message that starts on an fd not looked at for a second has its socket
 * checked again (an fd reused without a close seen: dup2 over it). */
#ifndef DIFFTRACE_SOURCE_SYSCALLS_BPF_H
#define DIFFTRACE_SOURCE_SYSCALLS_BPF_H

#include "lib/syscalls.bpf.h"

#define DT_EINPROGRESS 115

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
	__u64 ts;         /* the entry's time: sends only (0 for a receive) */
	__u32 nr;         /* the syscall: its exit must be the same one */
	__u32 fd;
	__u8 kind;
	__u8 dir;
	__u8 valid;       /* set by enter, cleared by exit */
	__u8 _pad[5];
};

/* A thread's pending I/O lives in a slot of an array indexed by the low
 * bits of its tid: the JIT inlines an array lookup, where the task storage
 * costs two helper calls at each followed entry and at every exit of a
 * targeted thread (about 10% of difftrace's BPF time on nginx). A slot
 * belongs to the thread whose tid its owner word holds:
 *   owner = tid << 32 | pending
 * and only that thread writes the rest of it, while pending. A thread takes
 * a slot whose owner has nothing pending, its own or another's, and marks it
 * pending in one compare-and-swap (two threads sharing the slot may try at
 * once: one wins, the other's I/O goes to its task storage); when the slot's
 * other thread has an I/O pending there
 * (it is blocked in a read, say), the I/O goes to the thread's task storage
 * instead, as all of them did before. The exit looks in the task storage
 * only when the slot is not the thread's: a thread that owns its slot has
 * nothing anywhere else, as only it makes the slot another's. */
struct io_slot {
	__u64 owner;
	struct io_args a;
	/* The HTTP/1 server connection this thread last moved data on: its fd,
	 * while fd_socks_gen is still the one read before its socket was found
	 * (server_tid: whose it is; written and read by that thread only). A
	 * send there is a response, which begins no exchange: its entry reads
	 * no clock (a response's times are taken at its exit). */
	__u32 server_tid;
	__u32 server_fd;
	__u32 server_gen;
	__u32 _pad;
};

#define DT_IO_SLOTS 65536

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DT_IO_SLOTS);
	__type(key, __u32);
	__type(value, struct io_slot);
} inflight_slots SEC(".maps");

/* The pending I/O of a thread whose slot another thread's I/O held. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct io_args);
} inflight_io SEC(".maps");

/* Where sys_exit takes its thread's I/O to: per CPU, off its stack (6.1
 * refuses a deeper one along sys_exit's longest chain of calls). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct io_args);
} exit_args SEC(".maps");

static __always_inline struct io_slot *io_slot_of(__u32 tid)
{
	__u32 i = tid & (DT_IO_SLOTS - 1);

	return bpf_map_lookup_elem(&inflight_slots, &i);
}

/* Takes slot s for thread tid's entry when no I/O is pending in it (the
 * thread's own slot, or one another thread left), marking it pending in
 * the same compare-and-swap: a check and then a store would race another
 * thread taking the same slot in between. */
static __always_inline int io_slot_take(struct io_slot *s, __u32 tid)
{
	__u64 v = *(volatile __u64 *)&s->owner;

	return (v & 1) == 0 && __sync_val_compare_and_swap(&s->owner, v, (__u64)tid << 32 | 1) == v;
}

/* The current thread's pending syscall, taken (cleared) as it is read. */
static __always_inline int take_io(__u32 tid, struct io_args *out)
{
	struct io_slot *s = io_slot_of(tid);
	struct io_args *p;
	__u64 v;

	if (s) {
		v = *(volatile __u64 *)&s->owner;
		if ((__u32)(v >> 32) == tid) {
			if (!(v & 1))
				return 0;
			*out = s->a;
			*(volatile __u64 *)&s->owner = (__u64)tid << 32;
			return 1;
		}
	}
	p = bpf_task_storage_get(&inflight_io, bpf_get_current_task_btf(), 0, 0);
	if (!p || !p->valid)
		return 0;
	*out = *p;
	p->valid = 0;
	return 1;
}

/* A new thread tid (it may reuse an exited one's tid): no slot of its own
 * yet. An exited thread's slot is left pending only when the thread died
 * inside a followed syscall without its exit being seen. */
static __always_inline void forget_io_slot(__u32 tid)
{
	struct io_slot *s = io_slot_of(tid);
	__u64 v;

	if (!s)
		return;
	v = *(volatile __u64 *)&s->owner;
	if ((__u32)(v >> 32) == tid) /* no store over a sharing thread's take */
		__sync_val_compare_and_swap(&s->owner, v, 0);
}

/* A traced fd's socket, and when it was last checked. */
struct dt_fd_sock {
	__u64 sock;
	__u64 checked_ns;
};

/* (tgid << 32 | fd) -> its socket: the walk from fd to socket once per
 * connection, not per syscall. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_CONNS);
	__type(key, __u64);
	__type(value, struct dt_fd_sock);
} fd_socks SEC(".maps");

/* Moves on at every change of fd_socks (an entry made, renewed or removed):
 * an fd a thread saw as a server connection's is still that while it has
 * not moved (struct io_slot). Changes are per connection, not per I/O. */
volatile __u32 fd_socks_gen = 0;

static __always_inline void fd_socks_changed(void)
{
	__sync_fetch_and_add(&fd_socks_gen, 1);
}

/* An fd's socket is checked again when a message starts on it this long
 * after its last check; busy keep-alive connections skip the walk. */
#define DT_RECHECK_NS 1000000000ULL

static __always_inline __u64 fd_key(__u64 pid_tgid, __u32 fd)
{
	return (pid_tgid & 0xffffffff00000000ULL) | fd;
}

/* Remembers fd's socket sk, checked at now. */
static __always_inline void remember_fd_sock(__u64 key, __u64 sk, __u64 now)
{
	struct dt_fd_sock v = {.sock = sk, .checked_ns = now};

	fd_socks_changed();
	bpf_map_update_elem(&fd_socks, &key, &v, BPF_ANY);
}

/* fd's socket, found by the walk from fd to socket and cached; 0 when fd
 * is no TCP socket. When the fd had another socket (old), that socket's
 * state is stale and goes. A global function: verified once, and off the
 * path of the I/O that follows (6.1 walks that path again for each way
 * through the walk). */
__noinline __u64 refresh_fd_sock(__u64 key, __u32 fd, __u64 old, __u64 now)
{
	struct sock *sk = tcp_sock_of_fd(fd);
	struct dt_conn *c;

	if (!sk) {
		if (old) {
			fd_socks_changed();
			bpf_map_delete_elem(&fd_socks, &key);
		}
		return 0;
	}
	if (old && old != (__u64)sk) {
		c = bpf_map_lookup_elem(&conns, &old);
		if (c)
			drop_conn(&old, c);
	}
	remember_fd_sock(key, (__u64)sk, now);
	return (__u64)sk;
}

/* The I/O's time for sock_of_fd: a send's entry time; for a receive (its
 * entry read no clock), its exit time, read into *recv_at once. */
static __always_inline __u64 io_now(__u64 sent_at, __u64 *recv_at)
{
	if (sent_at)
		return sent_at;
	if (!*recv_at)
		*recv_at = bpf_ktime_get_ns();
	return *recv_at;
}

/* The socket behind fd for data that starts with start (enum
 * dt_start_kind), or 0: fd is no TCP socket, or it is not cached and the
 * data starts no request. The I/O's time is read only when needed
 * (io_now). */
static __always_inline __u64 sock_of_fd(__u64 id, __u32 fd, int start, __u64 sent_at,
					__u64 *recv_at)
{
	__u64 key = fd_key(id, fd), old = 0;
	struct dt_fd_sock *fs = bpf_map_lookup_elem(&fd_socks, &key);

	if (fs) {
		if (start != DT_START_REQUEST ||
		    io_now(sent_at, recv_at) - fs->checked_ns <= DT_RECHECK_NS)
			return fs->sock;
		old = fs->sock;
	} else if (start != DT_START_REQUEST && start != DT_START_FRAMES) {
		/* Only a request start (or HTTP/2 frames) is worth the walk. (A response start
		 * would be too, for servers that write on another fd of the
		 * socket they read from, inetd style: +1,100 verified
		 * instructions on 6.1; not yet.) */
		return 0;
	}
	return refresh_fd_sock(key, fd, old, io_now(sent_at, recv_at));
}

/* A targeted thread (tid) enters syscall nr: remember its fd and buffer,
 * in its slot or else its task storage (struct io_slot). */
static __always_inline void save_io(struct pt_regs *regs, __u32 tid, __u32 nr, __u8 kind,
				    __u8 dir)
{
	struct io_slot *s = io_slot_of(tid);
	struct io_args *a;

	if (s && io_slot_take(s, tid)) {
		a = &s->a;
	} else {
		s = 0;
		a = bpf_task_storage_get(&inflight_io, bpf_get_current_task_btf(), 0,
					 BPF_LOCAL_STORAGE_GET_F_CREATE);
	}
	if (!a) {
		count(DT_C_IO_MAP_FULL);
		return;
	}
	a->nr = nr;
	a->fd = (__u32)DT_SYSCALL_ARG0(regs);
	a->ptr = kind == IO_ACCEPT || kind == IO_CONNECT ? 0 : DT_SYSCALL_ARG1(regs);
	a->kind = kind;
	a->dir = dir;
	/* Only a send's entry time is read (a client's request starts when
	 * its write begins); a receive's span times are taken at its exit,
	 * so its entry skips the clock read (60 ns and more here, in a VM),
	 * and so does a send on the server connection the thread last read
	 * from or wrote to (a response: its times are taken at its exit). */
	a->ts = dir == DT_DIR_EGRESS && !(s && s->server_tid == tid && s->server_fd == a->fd &&
					  s->server_gen == fd_socks_gen)
			? bpf_ktime_get_ns()
			: 0;
	a->valid = 1; /* read in the task storage only: a slot is pending since its take */
}

/* A send/receive syscall moved ret bytes: its chunk, its socket, dt_on_io. */
static __always_inline void on_syscall_data(const struct io_args *a, __u64 id, __u64 ret)
{
	struct dt_window *w = io_window();
	struct dt_io io = {};
	struct dt_chunk ch = {};
	int start;

	if (!w)
		return;
	io.data = a->ptr;
	io.len = ret;
	io.ts_enter = a->ts;
	io.dir = a->dir;
	if (a->kind == IO_IOV) {
		io.layout = DT_IO_IOV;
	} else if (a->kind == IO_MSG) {
		/* only msg_iov: the whole msghdr would take stack the parser needs */
		if (bpf_probe_read_user(&io.data, sizeof(io.data),
					&((struct user_msghdr *)a->ptr)->msg_iov))
			return;
		io.layout = DT_IO_IOV;
	} else if (a->kind == IO_SENDFILE) {
		io.layout = DT_IO_NODATA;
	}
	if (dt_chunk_window(&io, w, &ch))
		return;
	start = dt_infer(w, ch.win_len);
	io.fd_gen = fd_socks_gen; /* before the fd's socket is looked up */
	io.sock = sock_of_fd(id, a->fd, start, a->ts, &ch.ts_exit);
	if (!io.sock)
		return; /* a file's, a pipe's: a receive reads no clock */
	io.by_fd = 1;
	if (!io.ts_enter) {
		/* a receive on a connection: one clock read, its exit time, which
		 * dt_on_io keeps (a receive's entry time is never read) */
		if (!ch.ts_exit)
			ch.ts_exit = bpf_ktime_get_ns();
		ch.ts_enter = ch.ts_exit;
		io.ts_enter = ch.ts_exit; /* HTTP/2's later pieces of this I/O */
	}
	dt_on_io(&io, w, &ch, start, id);
}

/* Thread id's I/O (sys_exit's, in exit_args) was on an HTTP/1 server
 * connection, its fd's socket found with fd_socks at gen (dt_causality
 * tells): its next send there reads no clock at its entry. Only in the
 * thread's own slot. A global function: verified once. */
__noinline int note_server_fd(__u32 gen, __u64 id)
{
	__u32 tid = (__u32)id, zero = 0;
	struct io_slot *s = io_slot_of(tid);
	struct io_args *a = bpf_map_lookup_elem(&exit_args, &zero);

	if (!s || !a || (__u32)(*(volatile __u64 *)&s->owner >> 32) != tid)
		return 0;
	s->server_tid = tid;
	s->server_fd = a->fd;
	s->server_gen = gen;
	return 0;
}

/* A targeted thread has a new connection on fd: fresh state for it; its
 * socket, or 0. */
static __always_inline __u64 track_fd(__u64 id, __u32 fd)
{
	__u64 sk = refresh_fd_sock(fd_key(id, fd), fd, 0, bpf_ktime_get_ns());

	if (sk && new_conn(sk, id >> 32))
		return sk;
	return 0;
}

/* A targeted thread (id) closes fd: when that closes the socket, its exchange
 * finishes and its state goes. */
static __always_inline void on_close(struct pt_regs *regs, __u64 id)
{
	__u32 fd;
	__u64 key, sock;
	struct dt_fd_sock *fs;

	fd = (__u32)DT_SYSCALL_ARG0(regs);
	key = fd_key(id, fd);
	fs = bpf_map_lookup_elem(&fd_socks, &key);
	if (!fs)
		return;
	sock = fs->sock;
	fd_socks_changed();
	bpf_map_delete_elem(&fd_socks, &key);
	if (last_ref_of_fd(fd))
		dt_on_close(sock, id >> 32);
}

/* Every syscall of every process enters here: the ones not followed leave
 * at the switch, untargeted threads at their cached verdict
 * (is_target_thread). */
SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__u32 nr = (__u32)ctx->args[1];
	__u8 kind, dir = DT_DIR_EGRESS;
	__u64 id;

	switch (nr) {
	case DT_NR_read:
	case DT_NR_recvfrom:
		kind = IO_BUF;
		dir = DT_DIR_INGRESS;
		break;
	case DT_NR_readv:
		kind = IO_IOV;
		dir = DT_DIR_INGRESS;
		break;
	case DT_NR_recvmsg:
		kind = IO_MSG;
		dir = DT_DIR_INGRESS;
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
		dir = DT_DIR_INGRESS;
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
	/* Untargeted threads leave here, at their cached verdict; the compat
	 * check after it, as only targets pay for it. */
	id = bpf_get_current_pid_tgid();
	if (!is_target_thread(id) || dt_compat_syscall())
		return 0;
	if (kind == IO_CLOSE)
		on_close(regs, id);
	else
		save_io(regs, (__u32)id, nr, kind, dir);
	return 0;
}

/* Every syscall exit: only a thread whose entry was saved has work here;
 * untargeted threads leave at their cached verdict. */
SEC("raw_tracepoint/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = (long)ctx->args[1];
	__u64 id, key, sk;
	struct io_args *a;
	struct dt_fd_sock *fs;
	__u32 zero = 0;

	/* An untargeted thread leaves at its cached verdict, before take_io. */
	id = bpf_get_current_pid_tgid();
	if (known_untargeted(id))
		return 0;
	a = bpf_map_lookup_elem(&exit_args, &zero);
	if (!a || !take_io((__u32)id, a))
		return 0;
	/* A failed call (a nonblocking read's EAGAIN) has no work below: it
	 * leaves before the read of the syscall number */
	if (ret < 0 && ret != -DT_EINPROGRESS)
		return 0;
	/* An entry whose exit was never seen (difftrace attached in between)
	 * must not be taken for this call's. */
	if ((__u32)BPF_CORE_READ(regs, orig_ax) != a->nr)
		return 0;
	if (a->kind == IO_ACCEPT) {
		if (ret >= 0)
			track_fd(id, (__u32)ret);
	} else if (a->kind == IO_CONNECT) {
		/* its entry checked the target */
		if ((ret == 0 || ret == -DT_EINPROGRESS) && (sk = track_fd(id, a->fd)))
			dt_cause_at_connect(sk, id);
	} else if (ret > 0) {
		on_syscall_data(a, id, (__u64)ret);
		dt_tail_continue(ctx, &h2_progs); /* HTTP/2: h2_io (bpf/lib/http2.bpf.h) */
	} else if (ret == 0 && a->dir == DT_DIR_INGRESS) {
		key = fd_key(id, a->fd);
		fs = bpf_map_lookup_elem(&fd_socks, &key);
		if (fs)
			dt_on_eof(fs->sock, id >> 32);
	}
	return 0;
}

/* Forgets the fd cache entries of an exiting process. */
static long forget_fds_of_exited(struct bpf_map *map, const __u64 *key, struct dt_fd_sock *v,
				 void *vtgid)
{
	if ((__u32)(*key >> 32) == *(__u32 *)vtgid) {
		fd_socks_changed();
		bpf_map_delete_elem(map, key);
	}
	return 0;
}

static __always_inline void syscalls_process_exit(__u32 tgid)
{
	bpf_for_each_map_elem(&fd_socks, forget_fds_of_exited, &tgid, 0);
}

#endif
