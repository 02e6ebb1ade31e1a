/* Types shared by bpf/capture.bpf.c and the user side: the span event the
 * capture program sends through its ring buffer, its counters and limits.
 * Protocol-neutral: each protocol fills the event from its own state
 * (include/protocols/<name>/span.h), and the filter reads only the event.
 * Plain C; sizes and offsets are checked by static_assert in user/capture/. */
#ifndef DIFFTRACE_CAPTURE_H
#define DIFFTRACE_CAPTURE_H

#include "dt/chunk.h"
#include "dt/trace_context.h"
#include "protocols/protocol.h"
#include "filter_decision.h"

#define DT_COMM_LEN 16

/* Map sizes (max entries). */
#define DT_MAX_CONNS 65536
#define DT_MAX_TARGET_PIDS 8192
#define DT_MAX_TARGET_COMMS 64
#define DT_MAX_TARGET_CGROUPS 256
/* 4 MiB: ~11,900 span events (352 bytes each with their header), 0.4 s of the heaviest real
 * traffic measured here (nginx --no-filter, ~30,000 spans/s) should the reader stall; no loss
 * in scripts/bench/ringbuf_loss.sh. libbpf maps the data area twice (records that wrap stay
 * contiguous) and RSS counts both: at 8 MiB the ring buffer alone was 16.4 MiB of the
 * tracer's RSS. */
#define DT_RINGBUF_BYTES (4u << 20)
/* Unread span bytes that make the kernel wake the reader (~200 spans). */
#define DT_WAKEUP_BYTES (64u << 10)

enum dt_span_kind {
	DT_SPAN_SERVER = 1,
	DT_SPAN_CLIENT = 2,
};

enum dt_span_flags {
	DT_SPAN_F_NO_RESPONSE = 1 << 0,     /* closed before any response */
	DT_SPAN_F_CLOSE_DELIMITED = 1 << 1, /* response length unknown: ended by close/next */
	DT_SPAN_F_HDR_LOST = 1 << 2,        /* headers longer than the window */
	DT_SPAN_F_PATH_TRUNCATED = 1 << 3,
	/* A SERVER span's response named the server's span (traceresponse) in
	 * the span's trace: its id is in resp_span_id. */
	DT_SPAN_F_RESP_SPAN_ID = 1 << 4,
	/* A SERVER span whose peer is a traced process's client connection
	 * (kernel only): its caller is traced, so the request's trace header
	 * names the caller's caller, or further up, never this span's parent. */
	DT_SPAN_F_PEER_TRACED = 1 << 5,
	/* req_seq holds the TCP sequence number of the request's first byte
	 * (kernel only: replay leaves it unset). */
	DT_SPAN_F_SEQ = 1 << 6,
	/* grpc_status holds the gRPC call's status (HTTP/2: the trailers', or
	 * a trailers-only response's). */
	DT_SPAN_F_GRPC_STATUS = 1 << 7,
};

/* What the kernel knows of the inbound request that caused a CLIENT span
 * (bpf/lib/causality.bpf.h has the rules). */
enum dt_cause {
	DT_CAUSE_NONE = 0,      /* a SERVER span, or not judged (replay) */
	DT_CAUSE_FOUND = 1,     /* cause_conn_id/cause_exch name the SERVER exchange */
	DT_CAUSE_AMBIGUOUS = 2, /* several inbound requests open on the thread */
	DT_CAUSE_UNKNOWN = 3,   /* no inbound request open on the thread */
};

/* Local and peer endpoints of a TCP connection (network byte order addresses,
 * host byte order ports). IPv4 addresses use the first 4 bytes. */
struct dt_tuple {
	__u8 local_addr[16];
	__u8 peer_addr[16];
	__u16 local_port;
	__u16 peer_port;
	__u16 family;         /* AF_INET or AF_INET6 */
	__u16 _pad;
};

/* A span event's end_reason that says the exchange was cut off: an HTTP/2
 * stream reset (RST_STREAM) before its response ended (enum h2_end's
 * H2_END_RESET; HTTP/1's enum http_end stops at 2). The filter judges it as a
 * reset, as it does a connection closed with no response. */
#define DT_END_RESET 3

/* One span, sent from the kernel when an exchange completes. Times are
 * CLOCK_MONOTONIC ns (bpf_ktime_get_ns); user space converts them. */
struct dt_span_event {
	__u64 start_ns;
	__u64 end_ns;
	__u64 req_bytes;
	__u64 resp_bytes;
	__u64 conn_id;        /* unique per traced connection in this run */
	/* CLIENT, DT_CAUSE_FOUND: the SERVER exchange (its conn_id, exch_seq)
	 * of the same process that caused this request. */
	__u64 cause_conn_id;
	__u32 cause_exch;
	__u32 exch_seq;       /* this exchange's number on its connection, from 1 */
	__u32 req_seq;        /* DT_SPAN_F_SEQ: TCP sequence number of the request's first byte */
	__u8 cause;           /* enum dt_cause */
	__u8 grpc_status;     /* DT_SPAN_F_GRPC_STATUS: its gRPC status code */
	__u8 _pad3[2];
	__u32 pid;            /* tgid */
	__u32 tid;            /* thread that moved the request */
	__u16 status;         /* 0: no response */
	__u8 kind;            /* enum dt_span_kind */
	__u8 method;          /* the request's operation (HTTP: enum http_method) */
	__u8 flags;           /* enum dt_span_flags */
	__u8 end_reason;      /* enum http_end; HTTP/2: enum h2_end (DT_END_RESET) */
	__u8 path_len;
	__u8 ctx_kind;        /* enum dt_trace_ctx_kind */
	__u8 decision;        /* enum dt_decision (include/span_filter.h fills these four) */
	__u8 reason;          /* enum dt_reason */
	__u16 service;        /* service id, 0: none matched */
	__u32 threshold_us;   /* latency threshold judged against, 0: none */
	struct dt_tuple tuple;
	char trace_id[32];    /* request's trace context as header text */
	char parent_id[16];
	char trace_flags[2];
	__u8 protocol;        /* enum dt_protocol */
	/* HTTP/2: the response's last header block named HPACK entries from
	 * before difftrace looked and no grpc-status was resolved: its status
	 * is unknown, so the filter reports it rather than judge it normal. */
	__u8 status_unresolved;
	/* A CLIENT span whose cause was found by goroutine, not by thread
	 * (bpf/lib/go_causality.bpf.h): believed in a Go process. */
	__u8 go_cause;
	/* HTTP/2: the request block may name a :path the kernel's shadow does
	 * not hold (an entry from before it looked, or evicted): path is empty
	 * and the span is keyed as the endpoint with no path; nothing guessed. */
	__u8 path_unresolved;
	__u8 _pad2[2];
	char resp_span_id[16]; /* DT_SPAN_F_RESP_SPAN_ID: the server's span id, hex text */
	char comm[DT_COMM_LEN];
	char path[DT_TARGET_MAX]; /* request target (HTTP: the path and query) */
};

/* Kernel-side counters (per-CPU array index). */
enum dt_counter {
	DT_C_IO_CALLS = 0,      /* traced send/receive syscalls with data */
	DT_C_CONNS_TRACKED,     /* connections that got state */
	DT_C_SPANS_SEEN,        /* exchanges the kernel closed */
	DT_C_SPANS_REPORTED,    /* span events written to the ring buffer */
	DT_C_RINGBUF_LOST,      /* span events the ring buffer had no room for */
	DT_C_NON_HTTP,          /* data on a tracked connection that was not HTTP */
	DT_C_HDR_LOST,          /* messages whose headers passed the window */
	DT_C_UNANSWERED,        /* requests closed without a response */
	DT_C_IO_MAP_FULL,       /* syscalls not followed: no task storage for them */
	DT_C_CONN_MAP_FULL,     /* connections not followed: conn map full */
	DT_C_SPANS_KEPT,        /* normal spans put in the keep-buffer */
	DT_C_SPANS_DROPPED,     /* normal spans with no trace id to keep them by */
	DT_C_KEEP_OVERWRITTEN,  /* kept spans replaced by later ones of their trace */
	DT_C_HIST_MAP_FULL,     /* spans whose endpoint found no room for a histogram */
	DT_C_ANOMALIES_LOST,    /* anomalous spans the ring buffer had no room for */
	DT_C_CAUSE_FOUND,       /* CLIENT requests whose inbound cause is known */
	DT_C_CAUSE_AMBIGUOUS,   /* ... that several open inbound requests could have caused */
	DT_C_CAUSE_UNKNOWN,     /* ... sent while no inbound request was open on the thread */
	DT_C_THREAD_MAP_FULL,   /* inbound requests not counted: thread map full */
	DT_C_H2_LOST,           /* HTTP/2 I/Os not followed to their end (bytes unread) */
	DT_C_H2_UNTRACKED,      /* HTTP/2 streams not followed (stream map, GOAWAY) */
	DT_C_H2_TAIL_CALL,      /* HTTP/2 I/Os whose follower program could not be reached */
	DT_C_H2_OUT_OF_ORDER,   /* HTTP/2 I/Os not placed in their connection's byte stream:
				 * another thread's I/O on it came between (dropped; resync) */
	DT_C_H2_BUSY,           /* HTTP/2 I/Os dropped: another CPU held the connection's
				 * follower too long */
	DT_C_H2_TRACE_UNREAD,   /* HTTP/2 requests' traceparent fields the kernel could not
				 * read (indexed whole, or not W3C's shape): no trace id */
	DT_C_H2_PATH_UNRESOLVED, /* HTTP/2 requests whose :path the kernel could not read
				  * (an entry from before it looked, or evicted): no path */
	/* Trace ids the kernel gave header-less exchanges (bpf/lib/trace_inherit.bpf.h): */
	DT_C_TRACE_MINTED,      /* a new trace: a root SERVER, or a CLIENT with no known cause */
	DT_C_TRACE_BY_CAUSE,    /* a CLIENT's, from the SERVER exchange that caused it */
	DT_C_TRACE_BY_WIRE,     /* a SERVER's, from the traced CLIENT request it read */
	DT_C_TRACE_WIRE_MISSED, /* ... minted: its traced caller's request was not found */
	/* Go programs (bpf/lib/go_causality.bpf.h): */
	DT_C_GO_PROBE_HITS,     /* uprobe hits in Go processes (each a trap: the cost) */
	DT_C_GO_G_MISMATCH,     /* processes whose R14 was not the g in TLS: causes off there */
	DT_C_KEEP_EVICTED,      /* kept traces whose keep slot another trace took before a pull */
	DT_C_REASON_FIRST,      /* then spans reported, by enum dt_reason */
	DT_C_MAX = DT_C_REASON_FIRST + DT_REASON_MAX,
};

#endif /* DIFFTRACE_CAPTURE_H */
