/* Hook source: the TCP socket layer, by fentry/fexit (BPF trampolines).
 *
 * Where the kernel has trampolines and these functions in its BTF, the
 * capture follows TCP sockets, not syscalls: a process's file I/O, pipes and
 * every other syscall never enter a difftrace program, and a socket I/O of an
 * untargeted thread leaves at its cached verdict (is_target_thread). The
 * hooks hand the same struct dt_io to the same dt_on_io as the syscalls
 * source (bpf/sources/syscalls.bpf.h), keyed by the same struct sock, so the
 * spans are the same.
 *
 *   tcp_sendmsg   fentry saves the msghdr's iterator, fexit reads the data
 *                 with the length sent (a splice/sendfile's pages on 6.5+,
 *                 MSG_SPLICE_PAGES over a BVEC iterator: bytes only)
 *   tcp_recvmsg   the same; a return of 0 is the peer's end of file
 *   tcp_sendpage  sendfile/splice before 6.5: bytes only
 *   inet_csk_accept, tcp_connect   a connection starts (like track_fd)
 *   tcp_close     the socket's last reference goes (no fd counting needed)
 *
 * The iterator is saved at entry because the I/O consumes it: by the exit
 * its position has moved past the data. Its layout differs between kernels:
 * ITER_UBUF (6.0+: one user buffer, the common read/write/send/recv) keeps
 * the buffer in ubuf; ITER_IOVEC keeps the kernel's copy of the iovec array
 * in iov (before 6.4) or __iov (6.4+). The enum's values differ too (6.1:
 * ITER_IOVEC 0, ITER_UBUF 6; 6.12: ITER_UBUF 0, ITER_IOVEC 1): CO-RE gives
 * this kernel's. */
#ifndef DIFFTRACE_SOURCE_SOCKETS_BPF_H
#define DIFFTRACE_SOURCE_SOCKETS_BPF_H

#define DT_MSG_PEEK 0x2
#define DT_MSG_ERRQUEUE 0x2000

enum sk_op {
	SK_OP_SEND = 1,
	SK_OP_RECV = 2,
};

/* What a socket hook's entry leaves for its exit, per thread. */
struct sk_io_args {
	__u64 sk;
	__u64 data;   /* DT_IO_BUF: the buffer; DT_IO_KIOV: the kernel's iovec array */
	__u64 ts;
	__u8 layout;  /* enum dt_io_layout */
	__u8 op;      /* enum sk_op; 0: nothing saved */
	__u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sk_io_args);
} sk_inflight SEC(".maps");

/* struct iov_iter before 6.4, whose iovec array was iov (then __iov). */
struct iov_iter___iov {
	const struct iovec *iov;
} __attribute__((preserve_access_index));

/* Where the data of msg's iterator lies, for an I/O that has not moved it
 * yet: a user buffer, the kernel's copy of an iovec array, or pages
 * (DT_IO_NODATA: a splice's, or an iovec array already partly consumed). */
static __always_inline void sk_msg_layout(struct msghdr *msg, struct sk_io_args *a)
{
	__u8 type = BPF_CORE_READ(msg, msg_iter.iter_type);
	__u64 off = BPF_CORE_READ(msg, msg_iter.iov_offset);

	a->layout = DT_IO_NODATA;
	a->data = 0;
	if (bpf_core_enum_value_exists(enum iter_type, ITER_UBUF) &&
	    type == bpf_core_enum_value(enum iter_type, ITER_UBUF)) {
		a->data = (__u64)BPF_CORE_READ(msg, msg_iter.ubuf) + off;
		a->layout = DT_IO_BUF;
	} else if (type == bpf_core_enum_value(enum iter_type, ITER_IOVEC) && off == 0) {
		if (bpf_core_field_exists(msg->msg_iter.__iov))
			a->data = (__u64)BPF_CORE_READ(msg, msg_iter.__iov);
		else
			a->data = (__u64)BPF_CORE_READ((struct iov_iter___iov *)&msg->msg_iter, iov);
		a->layout = DT_IO_KIOV;
	}
}

/* A targeted thread enters a send or receive on sk: remember its data. */
static __always_inline void sk_save_io(struct sock *sk, struct msghdr *msg, __u8 op)
{
	struct sk_io_args *a;

	if (!is_target_thread(bpf_get_current_pid_tgid()))
		return;
	a = bpf_task_storage_get(&sk_inflight, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!a) {
		count(DT_C_IO_MAP_FULL);
		return;
	}
	sk_msg_layout(msg, a);
	a->sk = (__u64)sk;
	a->ts = bpf_ktime_get_ns();
	a->op = op;
}

/* The current thread's saved I/O on sk, taken (cleared) as it is read. An
 * untargeted thread has none: one task-storage lookup. */
static __always_inline int sk_take_io(struct sock *sk, __u8 op, struct sk_io_args *out)
{
	struct sk_io_args *p = bpf_task_storage_get(&sk_inflight, bpf_get_current_task_btf(), 0, 0);

	if (!p || p->op != op || p->sk != (__u64)sk)
		return 0;
	*out = *p;
	p->op = 0;
	return 1;
}

/* ret bytes of an I/O moved on a's socket: its chunk, then dt_on_io. */
static __always_inline void sk_on_data(const struct sk_io_args *a, __u64 ret)
{
	struct dt_window *w = io_window();
	struct dt_io io = {};
	struct dt_chunk ch = {};

	if (!w)
		return;
	io.sock = a->sk;
	io.data = a->data;
	io.len = ret;
	io.ts_enter = a->ts;
	io.layout = a->layout;
	io.dir = a->op == SK_OP_RECV ? DT_DIR_INGRESS : DT_DIR_EGRESS;
	if (dt_chunk_window(&io, w, &ch))
		return;
	dt_on_io(&io, w, &ch, dt_infer(w, ch.win_len), bpf_get_current_pid_tgid());
}

SEC("fentry/tcp_sendmsg")
int BPF_PROG(sk_sendmsg_enter, struct sock *sk, struct msghdr *msg, size_t size)
{
	sk_save_io(sk, msg, SK_OP_SEND);
	return 0;
}

SEC("fexit/tcp_sendmsg")
int BPF_PROG(sk_sendmsg_exit, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	struct sk_io_args a;

	if (sk_take_io(sk, SK_OP_SEND, &a) && ret > 0) {
		sk_on_data(&a, (__u64)ret);
		dt_tail_continue(ctx, &h2_sendmsg_progs); /* HTTP/2: sk_h2_sendmsg */
	}
	return 0;
}

SEC("fentry/tcp_recvmsg")
int BPF_PROG(sk_recvmsg_enter, struct sock *sk, struct msghdr *msg, size_t len, int flags)
{
	/* a peek is read again; the error queue holds no stream data */
	if (!(flags & (DT_MSG_PEEK | DT_MSG_ERRQUEUE)))
		sk_save_io(sk, msg, SK_OP_RECV);
	return 0;
}

SEC("fexit/tcp_recvmsg")
int BPF_PROG(sk_recvmsg_exit, struct sock *sk, struct msghdr *msg, size_t len, int flags,
	     int *addr_len, int ret)
{
	struct sk_io_args a;

	if (!sk_take_io(sk, SK_OP_RECV, &a))
		return 0;
	if (ret > 0) {
		sk_on_data(&a, (__u64)ret);
		dt_tail_continue(ctx, &h2_recvmsg_progs); /* HTTP/2: sk_h2_recvmsg */
	} else if (ret == 0)
		dt_on_eof(a.sk, bpf_get_current_pid_tgid() >> 32);
	return 0;
}

/* HTTP/2's follower (bpf/lib/http2.bpf.h), once per hook that tail-calls it:
 * programs of the same attach type and function as their caller. Never
 * attached on their own. */
SEC("fexit/tcp_sendmsg")
int sk_h2_sendmsg(__u64 *ctx)
{
	return h2_run_job();
}

SEC("fexit/tcp_recvmsg")
int sk_h2_recvmsg(__u64 *ctx)
{
	return h2_run_job();
}

/* sendfile/splice to a TCP socket before 6.5: a page at a time, bytes only.
 * (Since 6.5 the same path is tcp_sendmsg with MSG_SPLICE_PAGES.) */
SEC("fexit/tcp_sendpage")
int BPF_PROG(sk_sendpage_exit, struct sock *sk, struct page *page, int offset, size_t size,
	     int flags, int ret)
{
	struct sk_io_args a = {};

	if (ret <= 0 || !is_target_thread(bpf_get_current_pid_tgid()))
		return 0;
	a.sk = (__u64)sk;
	a.ts = bpf_ktime_get_ns();
	a.layout = DT_IO_NODATA;
	a.op = SK_OP_SEND;
	sk_on_data(&a, (__u64)ret);
	return 0;
}

/* The accepted connection's socket, for a targeted thread: fresh state.
 * inet_csk_accept's arguments differ between kernels (6.10 folded flags,
 * err and kern into struct proto_accept_arg): only its result is read. */
SEC("fexit/inet_csk_accept")
int sk_accept_exit(__u64 *ctx)
{
	__u64 newsk = 0, id = bpf_get_current_pid_tgid();

	if (bpf_get_func_ret(ctx, &newsk) || !newsk || !is_target_thread(id))
		return 0;
	if (BPF_CORE_READ((struct sock *)newsk, sk_protocol) != DT_IPPROTO_TCP)
		return 0;
	new_conn(newsk, id >> 32);
	return 0;
}

/* A targeted thread's connect sent its SYN: fresh state, and the request it
 * serves, if any, is the new connection's cause. The socket is taken with
 * bpf_get_func_arg, as a number: a typed pointer argument may not be passed
 * to the global new_conn_state and dt_cause_at_connect. */
SEC("fexit/tcp_connect")
int sk_connect_exit(__u64 *ctx)
{
	__u64 sk = 0, ret = 0, id = bpf_get_current_pid_tgid();

	if (bpf_get_func_arg(ctx, 0, &sk) || bpf_get_func_ret(ctx, &ret) || (int)ret != 0 || !sk ||
	    !is_target_thread(id))
		return 0;
	if (new_conn(sk, id >> 32))
		dt_cause_at_connect(sk, id);
	return 0;
}

/* The socket's last reference went (close, or the last of its dup'ed or
 * inherited fds): its exchange finishes and its state goes. */
SEC("fentry/tcp_close")
int BPF_PROG(sk_close_enter, struct sock *sk, long timeout)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (is_target_thread(id))
		dt_on_close((__u64)sk, id >> 32);
	return 0;
}

#endif
