/* HTTP/1.x state: a message in flight in one direction, and the exchange
 * (request and response) on a connection that becomes a span. */
#ifndef DIFFTRACE_HTTP1_MESSAGE_H
#define DIFFTRACE_HTTP1_MESSAGE_H

#include "dt/chunk.h"
#include "dt/trace_context.h"
#include "protocols/protocol.h"

/* Request target kept per span, NUL included: the span's target. */
#define HTTP_PATH_MAX DT_TARGET_MAX
#define HTTP_PATH_MASK DT_TARGET_MASK

enum http_method {
	HTTP_METHOD_NONE = 0,
	HTTP_METHOD_GET,
	HTTP_METHOD_POST,
	HTTP_METHOD_PUT,
	HTTP_METHOD_DELETE,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_PATCH,
	HTTP_METHOD_OPTIONS,
	HTTP_METHOD_CONNECT,
	HTTP_METHOD_TRACE,
};

/* One message (request or response) in flight, in one direction. */
struct http_msg {
	__u64 content_length;
	__u64 body_seen;      /* body bytes moved so far */
	__u64 total_bytes;    /* all bytes moved, headers included */
	__u8 in_start_line;   /* still inside the request/status line */
	__u8 hdr_done;        /* blank line after headers seen */
	__u8 hdr_lost;        /* headers continued past what we could read */
	__u8 has_cl;
	__u8 chunked;
	__u8 no_body;         /* HEAD, 1xx, 204, 304 */
	__u8 at_line_start;   /* last byte scanned was '\n' */
	__u8 skip_line;       /* current line began in bytes we did not see */
	__u8 complete;
	__u8 invalid;         /* start line had bytes no HTTP message has */
	__u8 _pad[6];
};

enum http_role {
	HTTP_ROLE_UNKNOWN = 0,
	HTTP_ROLE_SERVER = 1, /* reads requests, writes responses */
	HTTP_ROLE_CLIENT = 2, /* writes requests, reads responses */
};

enum http_phase {
	HTTP_PHASE_IDLE = 0,
	HTTP_PHASE_REQUEST = 1,  /* request started, no response yet */
	HTTP_PHASE_RESPONSE = 2, /* response started, not complete */
};

/* Per-connection exchange state: what becomes a span. */
struct http_exchange {
	__u64 start_ns;
	__u64 end_ns;          /* last byte of the response moved (so far) */
	__u64 req_end_ns;      /* last byte of the request moved (so far) */
	__u64 held;            /* a next request's first bytes, read alone (start_line.h's
	                          HT_HELD_MAX); kept in the request they began */
	struct http_msg req;
	struct http_msg resp;
	struct dt_trace_ctx ctx;
	struct dt_trace_ctx resp_ctx; /* a SERVER's response: traceresponse */
	__u16 status;
	__u8 role;             /* enum http_role */
	__u8 phase;            /* enum http_phase */
	__u8 method;           /* enum http_method */
	__u8 path_len;
	__u8 end_reason;       /* enum http_end, set when the exchange finishes */
	__u8 path_open;        /* the target went on past the first read */
	__u8 held_len;         /* bytes in held: between exchanges, held for the next
	                          request; in a request, its bytes before its first read */
	__u8 _pad[7];
	/* The target, NUL terminated within HTTP_PATH_MAX; the second half is
	 * room for appending a fixed-size copy at any offset of the first. */
	char path[HTTP_PATH_MAX * 2];
};

/* Why an exchange finished. */
enum http_end {
	HTTP_END_COMPLETE = 0, /* response complete by its length or last chunk */
	HTTP_END_CLOSE = 1,    /* connection closed, or its reader saw EOF */
	HTTP_END_NEXT = 2,     /* the next request began on the connection */
};

/* What http_on_data asks the caller to do. */
enum http_action {
	HTTP_ACT_NONE = 0,
	HTTP_ACT_EMIT = 1,          /* exchange complete: emit it, then reset */
	HTTP_ACT_EMIT_RETRY = 2,    /* previous exchange ended by this data:
	                               emit it, reset, feed the same data again */
	HTTP_ACT_IGNORED = 3,       /* data was not HTTP where HTTP was expected */
	HTTP_ACT_INTERIM = 4,       /* an interim (1xx) response was cut off the front
	                               of the data: feed what follows it again */
	HTTP_ACT_STARTED = 5,       /* a request started */
};

#endif /* DIFFTRACE_HTTP1_MESSAGE_H */
