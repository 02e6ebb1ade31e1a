// SPDX-License-Identifier: GPL-2.0
/* Test entry for the HTTP boundary logic: runs one step (http1_feed or
 * http1_close, the functions capture.bpf.c calls; HTTP/2's h2_feed, h2_close
 * or h2_lost on a connection state kept here; the HPACK shadow's h2s_block; dt_path_template_of,
 * dt_filter_decide, or the whole filter step dt_filter_span over this
 * program's own filter maps, or only that step's copies of the span, or
 * the chunk building of bpf/sources/syscalls.bpf.h) on the state held in a
 * map.
 * Only tests load it, through BPF_PROG_TEST_RUN. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "http_test.h"
#include "lib/filter_maps.bpf.h"
#include "protocols/http2/follow.h"
#include "span_filter.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_http_test_step);
} steps SEC(".maps");

/* HTTP/2 connections' follower state, by the test's key (the kernel layout:
 * its streams are in follow.h's stream map, not in the struct). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct h2_conn);
} h2_test_conns SEC(".maps");

/* A new connection's state and a step's chunk: off the stack, which the
 * follower's call chain needs (512 bytes in all). */
struct h2_test_scratch {
	struct h2_conn fresh;
	struct dt_chunk ch;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h2_test_scratch);
} h2_test_scratch SEC(".maps");

/* One HTTP/2 step (DT_HTTP_TEST_H2_*) on connection s->h2_key. */
static __always_inline int h2_test_step(struct dt_http_test_step *s)
{
	__u32 zero = 0;
	struct h2_test_scratch *sc = bpf_map_lookup_elem(&h2_test_scratch, &zero);
	struct dt_chunk *ch;
	struct h2_conn *c;
	__u64 key = s->h2_key;

	if (!sc)
		return 1;
	ch = &sc->ch;
	__builtin_memset(&sc->fresh, 0, sizeof(sc->fresh));
	__builtin_memset(ch, 0, sizeof(*ch));
	sc->fresh.key = key;
	bpf_map_update_elem(&h2_test_conns, &key, &sc->fresh, BPF_NOEXIST);
	c = bpf_map_lookup_elem(&h2_test_conns, &key);
	if (!c)
		return 1;
	__builtin_memset(&s->h2_done, 0, sizeof(s->h2_done));
	__builtin_memset(&s->h2_out, 0, sizeof(s->h2_out));
	if (s->op == DT_HTTP_TEST_H2_LOST) {
		s->result = (__u8)h2_lost(c, s->dir);
		return 0;
	}
	if (s->op == DT_HTTP_TEST_H2_CLOSE) {
		s->result = (__u8)h2_close(c, s->ts_exit, &s->h2_done);
		return 0;
	}
	ch->win_len = s->win_len < DT_WIN ? s->win_len : DT_WIN;
	ch->total_len = s->total_len;
	ch->dir = s->dir;
	ch->ts_enter = s->ts_enter;
	ch->ts_exit = s->ts_exit;
	s->result = (__u8)h2_feed(c, &s->win, ch, &s->h2_done, &s->h2_out);
	return 0;
}

/* The HPACK shadow's walk of one block (DT_HTTP_TEST_H2S_BLOCK), a global
 * function as capture's h2_shadow_walk is: inlined, its locals joined the
 * entry's frame, and 6.1 refused the entry ("combined stack size of 5
 * calls is 544") on the HTTP/2 step's call chain. */
__noinline int h2s_test_block(struct dt_http_test_step *s)
{
	if (!s)
		return 1;
	h2s_block(&s->h2s, &s->win, 0, s->h2s_len < DT_WIN ? s->h2s_len : DT_WIN,
		  s->h2s_request, &s->h2s_r);
	return 0;
}

SEC("syscall")
int http_test_step(void *ctx)
{
	__u32 zero = 0;
	struct dt_http_test_step *s = bpf_map_lookup_elem(&steps, &zero);
	struct dt_chunk ch = {};

	if (!s)
		return 1;
	if (s->op >= DT_HTTP_TEST_H2_FEED && s->op <= DT_HTTP_TEST_H2_LOST)
		return h2_test_step(s);
	if (s->op == DT_HTTP_TEST_H2S_BLOCK)
		return h2s_test_block(s);
	if (s->op == DT_HTTP_TEST_HIST) {
		s->hist_bucket = dt_hist_bucket(s->hist_ns);
		return 0;
	}
	if (s->op == DT_HTTP_TEST_FILTER_SPAN) {
		struct dt_filter_scratch *fs = bpf_map_lookup_elem(&filter_scratch, &zero);
		struct dt_span_event *e = dt_filter_span_event();
		if (!fs || !e)
			return 1;
		*e = s->ev;
		s->outcome = (__u8)dt_filter_span_bpf(&s->fset, s->epoch);
		s->ev = *e;
		s->overwritten = (__u8)fs->overwritten;
		s->hist_full = (__u8)fs->hist_full;
		s->evicted = (__u8)fs->evicted;
		return 0;
	}
	if (s->op == DT_HTTP_TEST_SPAN_COPY) {
		struct dt_span_event *e = dt_filter_span_event();
		if (!e)
			return 1;
		*e = s->ev;
		s->ev = *e;
		return 0;
	}
	if (s->op == DT_HTTP_TEST_FILTER) {
		s->filter_out = dt_filter_decide(&s->filter_in);
		return 0;
	}
	if (s->op == DT_HTTP_TEST_TEMPLATE) {
		dt_path_template_of(s->x.path, s->x.path_len, &s->tmpl);
		return 0;
	}
	if (s->op == DT_HTTP_TEST_CHUNK) {
		/* The I/O's data is in the test process's memory: BPF_PROG_TEST_RUN
		 * runs a SEC("syscall") program (5.14) in the calling process's
		 * context, and the program type offers the tracing helpers
		 * (syscall_prog_func_proto falls back to tracing_prog_func_proto),
		 * bpf_probe_read_user (DT_READ_USER) among them: it reads that
		 * memory as the capture program's syscall source reads a traced
		 * process's. */
		struct dt_io io = s->io;

		if (dt_chunk_window(&io, &s->win, &ch)) {
			s->result = 1;
			return 0;
		}
		dt_chunk_tail(&io, &s->win, &ch);
		s->win_len = ch.win_len;
		s->total_len = ch.total_len;
		s->tail_len = ch.tail_len;
		__builtin_memcpy(s->tail, ch.tail, DT_TAIL);
		s->dir = ch.dir;
		s->ts_enter = ch.ts_enter;
		s->result = 0;
		return 0;
	}
	if (s->op == DT_HTTP_TEST_CLOSE) {
		s->result = (__u8)http1_close(&s->x, s->ts_exit, &s->done);
		return 0;
	}
	ch.win_len = s->win_len < DT_WIN ? s->win_len : DT_WIN;
	ch.total_len = s->total_len;
	ch.tail_len = s->tail_len < DT_TAIL ? s->tail_len : DT_TAIL;
	ch.dir = s->dir;
	ch.ts_enter = s->ts_enter;
	ch.ts_exit = s->ts_exit;
	__builtin_memcpy(ch.tail, s->tail, DT_TAIL);
	s->result = (__u8)http1_feed(&s->x, &s->win, &ch, &s->done);
	return 0;
}
