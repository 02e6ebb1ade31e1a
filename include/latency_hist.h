/* Log-linear latency buckets, shared by the BPF filter (which counts normal
 * spans per endpoint into per-CPU histograms of these buckets) and the
 * profiler in user space (which merges them and reads quantiles). Each power
 * of two is split into 8 linear sub-buckets, so a bucket is at most 1/8 of
 * its values wide (12.5% error); 0 ns to ~2^41 ns (about 37 minutes) in
 * DT_HIST_BUCKETS buckets, longer values in the last one. No loops: it runs
 * for every span. */
#ifndef DIFFTRACE_LATENCY_HIST_H
#define DIFFTRACE_LATENCY_HIST_H

#include "dt/portable.h"

#define DT_HIST_SUB_BITS 3
#define DT_HIST_SUB (1u << DT_HIST_SUB_BITS)
#define DT_HIST_BUCKETS 320

/* floor(log2(v)) for v > 0, by halving the search range six times. */
DT_INLINE __u32 dt_log2(__u64 v)
{
	__u32 r = 0;
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

/* The bucket of a duration in ns. */
DT_INLINE __u32 dt_hist_bucket(__u64 ns)
{
	__u32 k, sub, idx;
	if (ns < DT_HIST_SUB)
		return (__u32)ns;
	k = dt_log2(ns);
	sub = (__u32)(ns >> (k - DT_HIST_SUB_BITS)) & (DT_HIST_SUB - 1);
	idx = (k - DT_HIST_SUB_BITS + 1) * DT_HIST_SUB + sub;
	return idx < DT_HIST_BUCKETS ? idx : DT_HIST_BUCKETS - 1;
}

/* The smallest duration (ns) that falls into bucket idx. */
DT_INLINE __u64 dt_hist_bucket_low(__u32 idx)
{
	__u32 k, sub;
	if (idx < DT_HIST_SUB)
		return idx;
	k = idx / DT_HIST_SUB + DT_HIST_SUB_BITS - 1;
	sub = idx % DT_HIST_SUB;
	return (__u64)(DT_HIST_SUB + sub) << (k - DT_HIST_SUB_BITS);
}

#endif /* DIFFTRACE_LATENCY_HIST_H */
