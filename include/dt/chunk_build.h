/* Chunk building: from one I/O in the traced process's memory (a buffer or
 * an iovec array) to the window and chunk that protocols parse
 * (include/dt/chunk.h). The kernel's sources read the process's memory
 * (bpf_probe_read_user); replay and the parity tests compile the same code
 * over their own buffers, so the tables test what the kernel runs. */
#ifndef DIFFTRACE_DT_CHUNK_BUILD_H
#define DIFFTRACE_DT_CHUNK_BUILD_H

#include "dt/chunk.h"

/* How an I/O's data lies in the process's memory. */
enum dt_io_layout {
	DT_IO_BUF = 0,    /* one buffer */
	DT_IO_IOV = 1,    /* an iovec array (readv/writev, the msghdr's of sendmsg/recvmsg) */
	DT_IO_NODATA = 2, /* bytes moved that are not in the process's memory (sendfile) */
	DT_IO_KIOV = 3,   /* an iovec array in kernel memory, its buffers in the process's: a
			   * socket hook's msghdr iterator (the syscall copied the array in) */
};

/* Reads an iovec array's entry: from the kernel's copy of the array
 * (DT_IO_KIOV) or from the process's memory. */
#define DT_READ_IOV(dst, n, src, in_kernel) \
	((in_kernel) ? DT_READ_KERNEL((dst), (n), (src)) : DT_READ_USER((dst), (n), (src)))

/* One I/O on a connection, as a hook source reports it (bpf/sources/). */
struct dt_io {
	__u64 sock;     /* the connection: its struct sock address (0 until known) */
	__u64 data;     /* DT_IO_BUF: the buffer; DT_IO_IOV: the iovec array */
	__u64 len;      /* bytes the I/O moved (> 0) */
	__u64 ts_enter; /* when the I/O began */
	__u8 layout;    /* enum dt_io_layout */
	__u8 dir;       /* enum dt_dir */
	__u8 by_fd;     /* a syscall's, on an fd whose socket fd_socks gave at fd_gen */
	__u8 _pad;
	__u32 fd_gen;   /* (no bigger: sys_exit's stack on 6.1 has no room left) */
};

/* struct iovec of a 64-bit process. */
struct dt_iovec {
	__u64 base;
	__u64 len;
};

/* Iovecs a writev/sendmsg may pass (UIO_MAXIOV): the walk to the end of
 * the data looks at as many. */
#define DT_MAX_IOVS 1024

/* Fills the window with the first DT_WIN bytes of the data (of its first
 * iovec) and the chunk with its lengths and direction; 0 when read. The
 * chunk's times and tail are the caller's (dt_chunk_tail). */
DT_INLINE int dt_chunk_window(const struct dt_io *io, struct dt_window *w, struct dt_chunk *ch)
{
	__u64 base = io->data, first_len = io->len;
	__u32 win_len;

	if (io->layout == DT_IO_IOV || io->layout == DT_IO_KIOV) {
		struct dt_iovec v = {};

		if (DT_READ_IOV(&v, sizeof(v), io->data, io->layout == DT_IO_KIOV))
			return -1;
		base = v.base;
		first_len = v.len < io->len ? v.len : io->len;
	} else if (io->layout == DT_IO_NODATA) {
		first_len = 0;
	}
	win_len = first_len < DT_WIN ? (__u32)first_len : DT_WIN;
	DT_BOUND(win_len);
	if (win_len > DT_WIN)
		return -1; /* never: a bound the verifier can see */
	if (win_len && DT_READ_USER(w->data, win_len, base))
		return -1;
	ch->win_len = win_len;
	ch->total_len = io->len;
	ch->dir = io->dir;
	ch->ts_enter = io->ts_enter;
	return 0;
}

/* A gather of the window from the iovecs, from byte `skip` of the data. */
struct dt_iov_gather {
	__u64 iov_ptr;
	__u64 skip;       /* bytes of the data before the window still to pass */
	__u64 base;       /* the current iovec's next byte ... */
	__u64 base_left;  /* ... and how many it still has */
	__u32 next_iov;   /* the next iovec to read */
	__u32 filled;     /* window bytes gathered ... */
	__u32 want;       /* ... of these: the rest of the data, at most DT_WIN. Set once:
			   * a count of the data left, lowered at each step, drifted
			   * down by up to DT_TARGET_MAX a step, so no state of 6.12's
			   * verifier ever covered the next and it walked the loop to
			   * 1,000,000 instructions. */
	__u32 in_kernel;  /* the array is the kernel's copy (DT_IO_KIOV) */
	struct dt_window *w;
};

/* One step: the next iovec, or up to DT_TARGET_MAX bytes of the current
 * one (a bound the verifier can add to any window offset). */
static long dt_iov_gather_step(__u32 unused, void *vctx)
{
	struct dt_iov_gather *g = (struct dt_iov_gather *)vctx;
	struct dt_iovec v = {};
	__u32 n;

	(void)unused;
	if (g->filled >= g->want)
		return 1;
	if (!g->base_left) {
		/* next_iov is bounded by the loop's steps: a check here would
		 * narrow its range at each step, and the verifier would walk
		 * every one of them. */
		if (DT_READ_IOV(&v, sizeof(v), g->iov_ptr + (__u64)g->next_iov * sizeof(v),
				g->in_kernel))
			return 1;
		g->next_iov++;
		if (v.len <= g->skip) {
			g->skip -= v.len;
			return 0;
		}
		g->base = v.base + g->skip;
		g->base_left = v.len - g->skip;
		g->skip = 0;
		return 0;
	}
	n = DT_TARGET_MAX;
	if (n > g->base_left)
		n = (__u32)g->base_left;
	if (n > g->want - g->filled)
		n = g->want - g->filled;
	DT_BOUND(n);
	if (n > DT_TARGET_MAX)
		return 1; /* never: a bound the verifier can see */
	if (DT_READ_USER(g->w->data + (g->filled & DT_WIN_MASK), n, g->base))
		return 1;
	g->filled += n;
	g->base += n;
	g->base_left -= n;
	return 0;
}

/* Steps of a gather: the window's DT_WIN / DT_TARGET_MAX copies, plus the
 * iovecs passed on the way (more than that leaves the window short). */
#define DT_GATHER_STEPS 128

/* Fills the window and chunk for the data from byte off of the I/O on:
 * what a protocol that walks a whole I/O piece by piece (HTTP/2) reads
 * after its first piece. An iovec array's bytes are gathered across
 * iovecs. 0 when read (the window may be shorter than DT_WIN and than the
 * rest: the protocol then stops at its end and asks again). A global
 * function in BPF: verified once. */
DT_GLOBAL int dt_chunk_window_at(const struct dt_io *io, __u64 off, struct dt_window *w,
				 struct dt_chunk *ch)
{
	struct dt_iov_gather g = {};
	__u64 rest;
	__u32 win_len;

	if (!io || !w || !ch || off > io->len)
		return -1;
	rest = io->len - off;
	ch->total_len = rest;
	ch->dir = io->dir;
	ch->ts_enter = io->ts_enter;
	ch->win_len = 0;
	ch->tail_len = 0;
	if (io->layout == DT_IO_NODATA || !rest)
		return 0;
	if (io->layout == DT_IO_IOV || io->layout == DT_IO_KIOV) {
		g.iov_ptr = io->data;
		g.in_kernel = io->layout == DT_IO_KIOV;
		g.skip = off;
		g.want = rest < DT_WIN ? (__u32)rest : DT_WIN;
		g.w = w;
		/* From unknowns: the step's first state covers the later ones. */
		g.filled = DT_UNKNOWN(0);
		g.next_iov = DT_UNKNOWN(0);
		g.base_left = DT_UNKNOWN(0);
		DT_LOOP(DT_GATHER_STEPS, dt_iov_gather_step, &g);
		ch->win_len = g.filled < DT_WIN ? g.filled : DT_WIN;
		return 0;
	}
	win_len = rest < DT_WIN ? (__u32)rest : DT_WIN;
	DT_BOUND(win_len);
	if (win_len > DT_WIN)
		return -1; /* never: a bound the verifier can see */
	if (DT_READ_USER(w->data, win_len, io->data + off))
		return -1;
	ch->win_len = win_len;
	return 0;
}

/* A walk over an iovec array to the one where the data ends. */
struct dt_iov_walk {
	__u64 iov_ptr;
	__u64 ret;        /* bytes the I/O moved */
	__u64 seen;       /* bytes in the iovecs before the current one */
	__u64 prev_base;  /* the last non-empty iovec before the end one */
	__u64 prev_len;
	__u64 end_base;   /* the iovec where the data ends ... */
	__u64 end_len;    /* ... and how much of it holds data */
	__u32 found;
	__u32 in_kernel;  /* the array is the kernel's copy (DT_IO_KIOV) */
};

static long dt_iov_walk_step(__u32 i, void *vctx)
{
	struct dt_iov_walk *w = (struct dt_iov_walk *)vctx;
	struct dt_iovec v = {};

	if (DT_READ_IOV(&v, sizeof(v), w->iov_ptr + (__u64)i * sizeof(v), w->in_kernel))
		return 1;
	if (!v.len)
		return 0;
	if (w->seen + v.len < w->ret) {
		w->seen += v.len;
		w->prev_base = v.base;
		w->prev_len = v.len;
		return 0;
	}
	w->end_base = v.base;
	w->end_len = w->ret - w->seen;
	w->found = 1;
	return 1;
}

/* The last bytes of data scattered over an iovec array of total length ret.
 * They may span two iovecs: a chunked body's terminal "0\r\n\r\n" is often
 * an iovec of its own after the previous chunk's "\r\n". Not inlined: its
 * walk's state would sit in the caller's stack frame, under the parser's. */
DT_NOINLINE void dt_tail_of_iov(__u64 iov_ptr, __u64 ret, __u32 in_kernel, struct dt_chunk *ch)
{
	struct dt_iov_walk w = {};
	__u64 last = 0, prev = 0;
	__u32 n, k;

	w.iov_ptr = iov_ptr;
	w.ret = ret;
	w.in_kernel = in_kernel;
	DT_LOOP(DT_MAX_IOVS, dt_iov_walk_step, &w);
	if (!w.found)
		return;
	n = w.end_len < DT_TAIL ? (__u32)w.end_len : DT_TAIL;
	DT_BOUND(n);
	if (n > DT_TAIL)
		return; /* never: a bound the verifier can see */
	if (DT_READ_USER(&last, n, w.end_base + w.end_len - n))
		return;
	k = 0;
	if (n < DT_TAIL) {
		/* the rest from the end of the iovec before */
		k = DT_TAIL - n;
		if (k > w.prev_len)
			k = (__u32)w.prev_len;
		DT_BOUND(k);
		if (k > DT_TAIL)
			return;
		if (k && DT_READ_USER(&prev, k, w.prev_base + w.prev_len - k))
			k = 0;
		/* little-endian: prev's k bytes first, then the end iovec's n */
		last = prev | last << (k * 8);
	}
	__builtin_memcpy(ch->tail, &last, DT_TAIL);
	ch->tail_len = n + k;
}

/* Fills the chunk's tail: from the window when it holds all the data, else
 * from the end of the buffer or of the iovecs. Separate from the window so
 * that data no connection wants costs no tail read. */
DT_INLINE void dt_chunk_tail(const struct dt_io *io, const struct dt_window *w,
			     struct dt_chunk *ch)
{
	if (io->len == ch->win_len)
		dt_tail_from_window(w, ch);
	else if (io->layout == DT_IO_IOV || io->layout == DT_IO_KIOV)
		dt_tail_of_iov(io->data, io->len, io->layout == DT_IO_KIOV, ch);
	else if (io->layout == DT_IO_BUF &&
		 !DT_READ_USER(ch->tail, DT_TAIL, io->data + io->len - DT_TAIL))
		ch->tail_len = DT_TAIL;
}

#endif /* DIFFTRACE_DT_CHUNK_BUILD_H */
