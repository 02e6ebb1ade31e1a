// SPDX-License-Identifier: GPL-2.0
/* Test entry for the HTTP boundary logic: runs one step (http1_feed or
 * http1_close, the functions capture.bpf.c calls, dt_path_template_of,
 * dt_filter_decide, or the whole filter step dt_filter_span over this
 * program's own filter maps, or only that step's copies of the span, or
 * the chunk building of bpf/sources/syscalls.bpf.h) on the state held in a
 * map.
 * Only tests load it, through BPF_PROG_TEST_RUN. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "http_test.h"
#include "lib/filter_maps.bpf.h"
#include "span_filter.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_http_test_step);
} steps SEC(".maps");

SEC("syscall")
int http_test_step(void *ctx)
{
	__u32 zero = 0;
	struct dt_http_test_step *s = bpf_map_lookup_elem(&steps, &zero);
	struct dt_chunk ch = {};

	if (!s)
		return 1;
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
