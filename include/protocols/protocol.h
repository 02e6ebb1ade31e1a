/* The contract every protocol under include/protocols/<name>/ keeps, so the
 * capture program, replay and the parity tests drive them all the same way
 * (as Pixie's Stirling does). A protocol provides, in plain C for BPF and host:
 *
 *   <name>_infer(window, len)      does this I/O start a message of the
 *                                  protocol? enum dt_start_kind
 *   <name>_feed(state, window, chunk, done)
 *                                  one I/O on a connection; a bit set of
 *                                  enum dt_feed_result; a finished exchange
 *                                  is copied to *done and the state goes on
 *   <name>_close(state, ts, done)  the connection closed (or its reader saw
 *                                  end of file): what was open finishes
 *   <name>_span_fill(event, done, ...)
 *                                  a finished exchange as a protocol-neutral
 *                                  span event (include/capture.h), all that
 *                                  the filter (include/span_filter.h) reads
 *
 * Its case table, tests/common/cases/<name>_cases.cpp, runs through the
 * host and the kernel drivers alike, so each protocol gets kernel/host
 * parity from its table. */
#ifndef DIFFTRACE_PROTOCOLS_PROTOCOL_H
#define DIFFTRACE_PROTOCOLS_PROTOCOL_H

enum dt_protocol {
	DT_PROTO_UNKNOWN = 0,
	DT_PROTO_HTTP1 = 1,
	DT_PROTO_HTTP2 = 2,
};

enum dt_start_kind {
	DT_START_NONE = 0,  /* not the start of an message of the protocol */
	DT_START_REQUEST,
	DT_START_RESPONSE,
	/* frames of a framed protocol (HTTP/2) on a connection already open:
	 * the I/O starts a frame, neither side's first message */
	DT_START_FRAMES,
};

/* What <name>_feed and <name>_close report: bits, 0 is "need more". */
enum dt_feed_result {
	DT_FEED_NEED_MORE = 0, /* nothing finished */
	DT_FEED_DONE = 1,      /* an exchange finished: it was copied to *done */
	DT_FEED_INVALID = 2,   /* the data was not the protocol where it was expected */
	DT_FEED_STARTED = 4,   /* a request started (maybe after DONE ended one) */
};

#endif /* DIFFTRACE_PROTOCOLS_PROTOCOL_H */
