/* The one portability shim for the plain-C code shared by the BPF programs
 * and the host (replay, unit tests): what differs between the two is only
 * how a function is inlined, how a loop over data runs and how bytes are
 * copied. Everything under include/ that has code includes this first. */
#ifndef DIFFTRACE_DT_PORTABLE_H
#define DIFFTRACE_DT_PORTABLE_H

#ifdef __bpf__
/* vmlinux.h and bpf_helpers.h are included by the BPF program first. */
#define DT_INLINE static __always_inline
/* Heavy parsers get a stack frame of their own (BPF-to-BPF call). */
#define DT_NOINLINE static __noinline
/* Rolled loops keep programs small; the verifier walks them in bounds. */
#define DT_NO_UNROLL _Pragma("clang loop unroll(disable)")
/* A global function is verified once on its own, not at every call site. */
#define DT_GLOBAL __noinline
#define DT_LOOP(n, cb, ctx) bpf_loop((n), (cb), (ctx), 0)
#define DT_COPY(dst, src, n) bpf_probe_read_kernel((dst), (n), (src))
/* src after dst: the kernel's copy runs forward, so an overlap is safe. */
#define DT_MOVE_DOWN(dst, src, n) bpf_probe_read_kernel((dst), (n), (src))
/* Memory of the traced process (a syscall's buffer); 0 when read. */
#define DT_READ_USER(dst, n, src) bpf_probe_read_user((dst), (n), (const void *)(src))
/* Kernel memory at an address held as a number (a socket hook's iovec copy); 0 when read. */
#define DT_READ_KERNEL(dst, n, src) bpf_probe_read_kernel((dst), (n), (const void *)(src))
/* Always 0; writable (.bss), so the verifier cannot know its value. */
__u32 dt_verifier_zero = 0;
/* v at run time, a value of unknown size to the verifier. The verifier runs
 * a bpf_loop callback like a loop body until its states repeat: a loop
 * state that starts from constants (offset 0, no segment yet) gives a new
 * state for every value they take, and the callback is walked once per
 * step. Started from unknowns, the first state covers all later ones and
 * the walk stops after a step or two. Only for values that the code bounds
 * or masks anyway: the verifier gets no range from them. */
#define DT_UNKNOWN(v) ((v) + dt_verifier_zero)
/* Keeps a bounded value in a register the verifier tracks (barrier_var). */
#define DT_BOUND(v) barrier_var(v)
#else
#include <linux/types.h>
#include <string.h>
#define DT_INLINE static inline
#define DT_NOINLINE static inline
#define DT_GLOBAL static inline
#define DT_NO_UNROLL
typedef long (*dt_loop_cb)(__u32 index, void *ctx);
/* bpf_loop's contract: at most n calls, stop when the callback returns 1. */
static inline long dt_host_loop(__u32 n, dt_loop_cb cb, void *ctx)
{
	__u32 i;
	for (i = 0; i < n; i++)
		if (cb(i, ctx))
			return (long)i + 1;
	return (long)n;
}
#define DT_LOOP(n, cb, ctx) dt_host_loop((n), (cb), (ctx))
#define DT_COPY(dst, src, n) memcpy((dst), (src), (n))
#define DT_MOVE_DOWN(dst, src, n) memmove((dst), (src), (n))
/* On the host "user memory" is this process's: the replay's own buffers. */
#define DT_READ_USER(dst, n, src) (memcpy((dst), (const void *)(src), (n)), 0)
#define DT_READ_KERNEL(dst, n, src) (memcpy((dst), (const void *)(src), (n)), 0)
#define DT_UNKNOWN(v) (v)
#define DT_BOUND(v) ((void)0)
#endif

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the word-at-a-time scans assume a little-endian machine"
#endif

#endif /* DIFFTRACE_DT_PORTABLE_H */
