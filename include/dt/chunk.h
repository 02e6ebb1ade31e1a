/* What one I/O hands a protocol parser: the input model shared by every
 * protocol, every hook source and replay. An I/O (a send or receive
 * syscall, a socket hook, a reassembled TCP segment in replay) becomes a
 * "chunk": a bounded window of its first DT_WIN bytes (the only bytes ever
 * parsed), its total length (bytes past the window are only counted), its
 * last DT_TAIL bytes (how a message that ends in this I/O is recognised
 * without reading it all) and its entry and exit times. include/dt/chunk_build.h
 * fills one from a buffer or an iovec array, in the kernel and on the host. */
#ifndef DIFFTRACE_DT_CHUNK_H
#define DIFFTRACE_DT_CHUNK_H

#include "dt/portable.h"

/* Bytes of each syscall's data that are copied and parsed (power of two). */
#define DT_WIN 1024
#define DT_WIN_MASK (DT_WIN - 1)
/* Request target kept per span, NUL included. */
#define DT_TARGET_MAX 128
#define DT_TARGET_MASK (DT_TARGET_MAX - 1)
/* Last bytes of each syscall's data, enough for "\r\n0\r\n\r\n". */
#define DT_TAIL 8

/* The window has DT_TARGET_MAX bytes of slack so that a path can be copied
 * from any masked offset without a bounds check per byte. It is 8-byte
 * aligned so that headers can be scanned a word at a time. */
struct dt_window {
	__u8 data[DT_WIN + DT_TARGET_MAX];
} __attribute__((aligned(8)));


#define DT_LOAD64(w, off) dt_load64(&(w)->data[(off) & (DT_WIN_MASK & ~7u)])

/* An aligned 8-byte load from the window (its masked offset keeps it in
 * bounds for the verifier; memcpy is one load on the host). */
DT_INLINE __u64 dt_load64(const __u8 *p)
{
#ifdef __bpf__
	return *(const __u64 *)p;
#else
	__u64 v;
	memcpy(&v, p, sizeof(v));
	return v;
#endif
}

enum dt_dir {
	DT_DIR_INGRESS = 0, /* data the process received */
	DT_DIR_EGRESS = 1,  /* data the process sent */
};

/* One syscall's data, besides its window (the window's first win_len
 * bytes, passed beside it). Scalars only: a global BPF function takes it by
 * pointer as plain memory. ts_enter/ts_exit are the syscall's entry and
 * exit times: a server's span starts when its read returns the request and
 * a client's when its write begins; both end when the last response byte
 * has moved. */
struct dt_chunk {
	__u64 total_len;      /* all bytes the syscall moved */
	__u64 ts_enter;
	__u64 ts_exit;
	__u32 win_len;        /* valid bytes in the window (<= DT_WIN) */
	__u32 tail_len;       /* valid bytes in tail */
	__u8 dir;             /* enum dt_dir */
	__u8 _pad[7];
	__u8 tail[DT_TAIL]; /* last tail_len bytes of the data */
};

/* Fills a chunk's tail from its window when the window holds all the data. */
DT_INLINE void dt_tail_from_window(const struct dt_window *w, struct dt_chunk *ch)
{
	__u32 n, k;
	if (ch->total_len != ch->win_len || ch->win_len == 0)
		return;
	n = ch->win_len < DT_TAIL ? ch->win_len : DT_TAIL;
	DT_NO_UNROLL
	for (k = 0; k < DT_TAIL; k++) {
		if (k >= n)
			break;
		ch->tail[k] = w->data[(ch->win_len - n + k) & DT_WIN_MASK];
	}
	ch->tail_len = n;
}

#endif /* DIFFTRACE_DT_CHUNK_H */
