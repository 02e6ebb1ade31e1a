/* HTTP/2 follower state: the streams of a connection (each stream one
 * exchange; where they are kept is stream_store.h's) and each direction's
 * place in its frames. */
#ifndef DIFFTRACE_HTTP2_STREAM_H
#define DIFFTRACE_HTTP2_STREAM_H

#include "protocols/http2/frame.h"

/* Streams followed at once per connection on the host (the kernel keeps
 * streams in a map, stream_store.h). A stream opened while the table is
 * full is not followed (h2_conn.streams_untracked); its header blocks are
 * still reported, as HPACK needs every block in order. Servers allow 100
 * (grpc-core, h2o), 128 (nginx), 250 (Go's x/net/http2) or no limit
 * (grpc-go) by SETTINGS_MAX_CONCURRENT_STREAMS: 32 lost 28 of 100 gRPC
 * calls made at once in replay (tests/e2e/test_trace_grpc.py). 48 bytes
 * each: 12 KiB per HTTP/2 connection a replay follows. */
#ifndef H2_MAX_STREAMS
#define H2_MAX_STREAMS 256
#endif
/* Frame steps per h2_feed call: the caller calls again for the rest. */
#define H2_STEPS 64
/* Frame header plus the longest prefix read with it (HEADERS with padding
 * and priority: 1 + 5; GOAWAY's last stream id: 4). */
#define H2_HEAD_MAX 16

enum h2_stream_bits {
	H2_S_REQ_HEADERS = 1 << 0,  /* the request's header block began */
	H2_S_REQ_END = 1 << 1,      /* END_STREAM from the client */
	H2_S_RESP_HEADERS = 1 << 2, /* a response header block began */
	H2_S_RESP_END = 1 << 3,     /* END_STREAM from the server */
	H2_S_RESET = 1 << 4,        /* RST_STREAM from either side */
	H2_S_REFUSED = 1 << 5,      /* above a GOAWAY's last stream id: never processed */
	H2_S_TRAILERS = 1 << 6,     /* the response had a trailer block */
};

/* Why a stream finished. 0 and 1 mean what enum http_end's do, so a span
 * event's end_reason reads the same for both protocols. */
enum h2_end {
	H2_END_COMPLETE = 0, /* END_STREAM both ways */
	H2_END_CLOSE = 1,    /* the connection closed with the stream open */
	H2_END_RESET = 3,    /* RST_STREAM (DT_END_RESET when before the response ended) */
	H2_END_GOAWAY = 4,   /* GOAWAY said it was never processed */
};

/* Which header block a reported fragment belongs to. */
enum h2_block {
	H2_BLOCK_REQUEST = 1,       /* a stream's request headers */
	H2_BLOCK_RESPONSE = 2,      /* a response's (first) header block */
	H2_BLOCK_TRAILERS = 3,      /* a later response block: trailers (or the final
	                               response after an interim one) */
	H2_BLOCK_REQ_TRAILERS = 4,  /* a later request block */
	H2_BLOCK_UNTRACKED = 5,     /* a stream not followed (table full, opened before
	                               us, pushed): decode it only to keep HPACK in step */
};

/* One stream: an exchange. Times as in struct dt_chunk. */
struct h2_stream {
	__u64 start_ns;      /* the request's first bytes moved */
	__u64 req_end_ns;    /* its last bytes so far */
	__u64 end_ns;        /* the response's last bytes so far */
	__u64 req_bytes;     /* frame bytes (headers included) of the stream, each way */
	__u64 resp_bytes;
	__u32 id;            /* 0: a free slot */
	__u8 bits;           /* enum h2_stream_bits */
	__u8 end_reason;     /* enum h2_end, set when it finishes */
	__u8 resp_blocks;    /* response header blocks begun */
	__u8 _pad;
};

/* One direction's place in its frames. */
struct h2_dir {
	__u32 remaining;     /* payload bytes of the current frame still to come */
	__u32 frag_left;     /* of which header block fragment (then padding) */
	__u32 stream;        /* the current frame's stream */
	__u32 block_stream;  /* an open header block's stream (CONTINUATION) */
	__u8 type;           /* the current frame's */
	__u8 flags;
	__u8 block_kind;     /* enum h2_block of the open block */
	__u8 block_open;     /* a header block lacks END_HEADERS: CONTINUATION next */
	__u8 block_end_stream; /* its HEADERS frame had END_STREAM */
	__u8 head_len;       /* bytes of a frame head kept across I/Os */
	__u8 preface_left;   /* bytes of the client preface still to skip */
	__u8 resync;         /* bytes were lost between frames: the next data must start frames */
	__u8 started;        /* data was seen this way: the client preface can only come first */
	__u8 _pad[3];
	__u8 head[H2_HEAD_MAX];
};

enum h2_conn_state {
	H2_CONN_NEW = 0,     /* nothing seen */
	H2_CONN_FOLLOWING,   /* preface or plausible frames seen */
	H2_CONN_INVALID,     /* data that broke the framing: no longer followed */
};

/* Per connection. role is enum http_role's meaning: 1 server (reads
 * requests), 2 client; 0 until the preface or the first HEADERS tells.
 * The kernel's copy (in struct dt_conn) has no stream table: its streams
 * are in a map keyed by {key, stream id} (stream_store.h). */
struct h2_conn {
	struct h2_dir dir[2];          /* by enum dt_dir */
	__u64 key;                     /* the kernel's conn_id: its streams' map key */
	__u32 goaway_last;             /* a GOAWAY's last stream id */
	__u32 streams_untracked;       /* opened while the table was full */
	__u32 frames;                  /* frame headers read */
	__u32 open;                    /* streams open now */
	__u8 state;                    /* enum h2_conn_state */
	__u8 role;
	__u8 goaway;                   /* a GOAWAY was seen: sweep refused streams */
	__u8 _pad[5];
#ifndef __bpf__
	struct h2_stream streams[H2_MAX_STREAMS];
#endif
};

/* A header block fragment in the data just fed: bytes [off, off + len) of
 * the piece (struct dt_chunk) that h2_feed was given. Blocks are reported
 * in wire order per direction, each in one or more fragments, last = 1 on
 * the one that ends it; a decoder must take every block in that order. */
struct h2_fragment {
	__u32 off;
	__u32 len;
	__u32 stream;
	__u8 kind;           /* enum h2_block */
	__u8 last;           /* END_HEADERS: the block is complete */
	__u8 dir;            /* enum dt_dir of the bytes */
	__u8 _pad;
};

/* What one h2_feed call did besides its return bits. */
struct h2_out {
	__u32 consumed;            /* bytes of the piece used: feed the rest again */
	struct h2_fragment frag;   /* H2_FEED_FRAGMENT */
};

/* h2_feed's own result bit, beside enum dt_feed_result's. */
#define H2_FEED_FRAGMENT 8

#endif /* DIFFTRACE_HTTP2_STREAM_H */
