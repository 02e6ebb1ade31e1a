/* Types shared by bpf/http_test.bpf.c and tests/bpf: one step of a boundary
 * case (or one endpoint template, one filter decision, or one I/O's chunk
 * building), run in the kernel
 * through BPF_PROG_TEST_RUN so that the kernel's decisions can be compared
 * with the host's on the same cases. */
#ifndef DIFFTRACE_HTTP_TEST_H
#define DIFFTRACE_HTTP_TEST_H

#include "protocols/http1/http1.h"
#include "protocols/http2/stream.h"
#include "protocols/http2/hpack_shadow.h"
#include "capture.h"
#include "dt/chunk_build.h"
#include "filter_decision.h"
#include "filter_maps.h"
#include "latency_hist.h"
#include "path_template.h"

enum dt_http_test_op {
	DT_HTTP_TEST_FEED = 0,
	DT_HTTP_TEST_CLOSE = 1,
	DT_HTTP_TEST_FILTER = 3,   /* dt_filter_decide(filter_in) into filter_out */
	DT_HTTP_TEST_HIST = 4,     /* dt_hist_bucket(hist_ns) into hist_bucket */
	DT_HTTP_TEST_TEMPLATE = 2, /* dt_path_template_of x.path[0, x.path_len) into tmpl */
	DT_HTTP_TEST_FILTER_SPAN = 5, /* dt_filter_span(ev) on the program's filter maps */
	/* FILTER_SPAN's copies of ev into the filter's span and back, and no
	 * filter: the frame a filter step's time is measured against (capture
	 * builds its spans there and makes no copy). */
	DT_HTTP_TEST_SPAN_COPY = 6,
	/* dt_chunk_window and dt_chunk_tail of io (whose data is in the test
	 * process's memory) into win, win_len, total_len, tail, tail_len, dir
	 * and ts_enter; result 1 when the window could not be read. */
	DT_HTTP_TEST_CHUNK = 7,
	/* HTTP/2's frame follower on the kernel's own state of connection
	 * h2_key (bpf/http_test.bpf.c's h2_test_conns, created empty on first
	 * use; its streams in the follower's stream map): h2_feed of win (win_len,
	 * total_len, dir, ts_enter, ts_exit) into result, h2_done and h2_out;
	 * h2_close at ts_exit; h2_lost of dir. */
	DT_HTTP_TEST_H2_FEED = 8,
	DT_HTTP_TEST_H2_CLOSE = 9,
	DT_HTTP_TEST_H2_LOST = 10,
	/* The HPACK shadow: h2s_block of win at [0, h2s_len) on h2s (in and
	 * out), a request's if h2s_request, into h2s_r. */
	DT_HTTP_TEST_H2S_BLOCK = 11,
};

/* The single entry of the test program's array map: input and output. */
struct dt_http_test_step {
	struct http_exchange x;    /* connection state, in and out */
	struct http_exchange done; /* out: a finished exchange */
	struct dt_window win;    /* in: the syscall's window */
	struct dt_path_template tmpl; /* out, for DT_HTTP_TEST_TEMPLATE */
	struct dt_filter_input filter_in;
	struct dt_filter_result filter_out;
	__u64 hist_ns;
	__u32 hist_bucket;
	__u64 total_len;
	__u64 ts_enter;
	__u64 ts_exit;
	__u32 win_len;
	__u32 tail_len;
	__u8 tail[DT_TAIL];
	__u8 dir;                  /* enum dt_dir */
	__u8 op;                   /* enum dt_http_test_op */
	__u8 result;               /* out: enum dt_feed_result */
	__u8 epoch;                /* in, DT_HTTP_TEST_FILTER_SPAN: histogram epoch */
	__u8 outcome;              /* out: enum dt_filter_outcome */
	__u8 overwritten;          /* out: the filter scratch's flags */
	__u8 hist_full;
	__u8 evicted;
	struct dt_filter_settings fset; /* in */
	struct dt_span_event ev;   /* in and out */
	struct dt_io io;           /* in, DT_HTTP_TEST_CHUNK */
	__u64 h2_key;              /* in, DT_HTTP_TEST_H2_*: the connection */
	struct h2_stream h2_done;  /* out: a finished stream */
	struct h2_out h2_out;      /* out */
	struct h2s_table h2s;      /* in and out, DT_HTTP_TEST_H2S_BLOCK */
	struct h2s_result h2s_r;   /* out */
	__u32 h2s_len;             /* in */
	__u8 h2s_request;          /* in */
	__u8 _pad2[3];
};

#endif
