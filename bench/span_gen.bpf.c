// SPDX-License-Identifier: GPL-2.0
/* Bench only (`make bench`, bench/ringbuf_ingest_bench.cpp): a BPF program that
 * writes synthetic span events into a ring buffer of the capture program's size
 * (DT_RINGBUF_BYTES), with its wake-up rule (DT_WAKEUP_BYTES), so difftrace's
 * collector path can be measured on a real ring buffer without real traffic.
 *
 * Each BPF_PROG_TEST_RUN of `generate` writes ctx->count events: pool[seq % GEN_POOL]
 * (filled by user space) with fresh timestamps and a trace id of its own for
 * every GEN_SPANS_PER_TRACE events, so the assembler groups them as traces. A
 * full ring buffer loses the event and counts it, as capture.bpf.c does. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "capture.h"

char LICENSE[] SEC("license") = "GPL";

#define GEN_POOL 64 /* power of two */
#define GEN_SPANS_PER_TRACE 8

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DT_RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEN_POOL);
	__type(key, __u32);
	__type(value, struct dt_span_event);
} pool SEC(".maps");

/* 0: capture.bpf.c's wake-up rule (wake the reader when DT_WAKEUP_BYTES or more
 * are unread: while the reader lags, every event wakes it); 1: wake it only when
 * this event makes the unread bytes cross DT_WAKEUP_BYTES. */
const volatile __u32 wake_on_crossing = 0;

/* One producer (the test runs are called from one thread): plain increments. */
__u64 seq;      /* events attempted */
__u64 produced; /* written into the ring buffer */
__u64 lost;     /* ring buffer full */

struct gen_args {
	__u32 count;
	__u32 _pad;
};

static long emit_one(__u32 i, void *ctx)
{
	__u64 n = seq++;
	__u32 k = n & (GEN_POOL - 1);
	__u64 trace = n / GEN_SPANS_PER_TRACE, now, flags, avail;
	struct dt_span_event *src, *e;
	int j;

	src = bpf_map_lookup_elem(&pool, &k);
	if (!src)
		return 1;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		lost++;
		return 0;
	}
	__builtin_memcpy(e, src, sizeof(*e));
	now = bpf_ktime_get_ns();
	e->end_ns = now;
	e->start_ns = now - (src->end_ns - src->start_ns);
	/* the trace id's last 16 hex digits: the trace's number */
	for (j = 0; j < 16; j++) {
		__u8 d = (trace >> (60 - 4 * j)) & 15;

		e->trace_id[16 + j] = d < 10 ? '0' + d : 'a' + d - 10;
	}
	avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	if (wake_on_crossing)
		flags = avail < DT_WAKEUP_BYTES && avail + sizeof(*e) + 8 >= DT_WAKEUP_BYTES
				? BPF_RB_FORCE_WAKEUP
				: BPF_RB_NO_WAKEUP;
	else
		flags = avail >= DT_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	produced++;
	return 0;
}

SEC("syscall")
int generate(struct gen_args *a)
{
	bpf_loop(a->count, emit_one, NULL, 0);
	return 0;
}
