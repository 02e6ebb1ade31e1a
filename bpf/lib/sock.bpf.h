/* From a file descriptor of the current process to its TCP socket and the
 * connection's endpoints, with CO-RE reads so one object fits many kernels. */
#ifndef DIFFTRACE_SOCK_BPF_H
#define DIFFTRACE_SOCK_BPF_H

#define DT_AF_INET 2
#define DT_AF_INET6 10
#define DT_S_IFMT 00170000
#define DT_S_IFSOCK 0140000
#define DT_IPPROTO_TCP 6

/* The struct file behind fd in the current process, else 0. */
static __always_inline struct file *file_of_fd(__u32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct files_struct *files = BPF_CORE_READ(task, files);
	struct fdtable *fdt;
	struct file **fds;
	struct file *f = 0;

	if (!files)
		return 0;
	fdt = BPF_CORE_READ(files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return 0;
	return f;
}

/* The struct sock behind fd when fd is a TCP socket over IPv4/IPv6, else 0. */
static __always_inline struct sock *tcp_sock_of_fd(__u32 fd)
{
	struct file *f = file_of_fd(fd);
	struct socket *so;
	struct sock *sk;
	__u16 family, proto;
	umode_t mode;

	if (!f)
		return 0;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & DT_S_IFMT) != DT_S_IFSOCK)
		return 0;
	so = (struct socket *)BPF_CORE_READ(f, private_data);
	if (!so)
		return 0;
	sk = BPF_CORE_READ(so, sk);
	if (!sk)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != DT_AF_INET && family != DT_AF_INET6)
		return 0;
	proto = BPF_CORE_READ(sk, sk_protocol);
	if (proto != DT_IPPROTO_TCP)
		return 0;
	return sk;
}

/* struct file before 6.13, which counted its references in f_count (since
 * then f_ref, a file_ref_t that holds the count less one). */
struct file___f_count {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

/* Does fd hold the last reference to its file (a close of it closes the
 * socket)? Other fds (dup, fork) and syscalls in flight on it in other
 * threads hold references too. When it cannot tell, yes. A global
 * function: the walk is verified once, apart from its caller's. */
__noinline int last_ref_of_fd(__u32 fd)
{
	struct file *f = file_of_fd(fd);
	long refs;

	if (!f)
		return 1;
	if (bpf_core_field_exists(f->f_ref))
		refs = BPF_CORE_READ(f, f_ref.refcnt.counter) + 1;
	else
		refs = BPF_CORE_READ((struct file___f_count *)f, f_count.counter);
	return refs <= 1;
}

/* ::ffff:a.b.c.d, an IPv4 address in an IPv6 socket. */
static __always_inline int dt_v4_mapped(const __u8 *a)
{
	__u64 lo;
	__u32 mid;

	__builtin_memcpy(&lo, a, 8);
	__builtin_memcpy(&mid, a + 8, 4);
	return lo == 0 && mid == 0xffff0000; /* bytes 8-11: 00 00 ff ff */
}

static __always_inline void tuple_of_sock(struct sock *sk, struct dt_tuple *t)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	t->family = family;
	t->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->peer_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == DT_AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 p = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(t->local_addr, &l, 4);
		__builtin_memcpy(t->peer_addr, &p, 4);
	} else {
		/* &array: BPF_CORE_READ_INTO reads sizeof(*dst) bytes, and of a
		 * plain array (a pointer to its first byte) that is one byte. */
		BPF_CORE_READ_INTO(&t->local_addr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->peer_addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		if (dt_v4_mapped(t->local_addr) && dt_v4_mapped(t->peer_addr)) {
			/* An IPv4 peer of a dual-stack socket (::ffff:a.b.c.d): the
			 * same connection as its IPv4 client sees it, so that the
			 * two ends' tuples match (DT_SPAN_F_PEER_TRACED). */
			t->family = DT_AF_INET;
			__builtin_memcpy(t->local_addr, t->local_addr + 12, 4);
			__builtin_memcpy(t->peer_addr, t->peer_addr + 12, 4);
			__builtin_memset(t->local_addr + 4, 0, 12);
			__builtin_memset(t->peer_addr + 4, 0, 12);
		}
	}
}

#endif
