/* HTTP/1.x message boundary detection, shared by the BPF capture program,
 * the host replay and the unit tests: the very same code decides, on both
 * sides, where a request or response starts and ends.
 *
 * Model: a connection carries one request/response exchange at a time (no
 * pipelining). Each send/receive syscall hands us its data as a bounded
 * "window" (the first DT_WIN bytes it moved), its total length, and its
 * last bytes (the "tail"). From these we find the start line, the few headers
 * we need (Content-Length, Transfer-Encoding, traceparent, B3), and count body
 * bytes until the message is complete:
 *   - Content-Length: complete when that many body bytes have moved;
 *   - chunked: complete when a syscall's data ends with the zero-size chunk;
 *   - no length (HTTP/1.0 style): complete when the connection closes or the
 *     next request starts;
 *   - HEAD requests and 1xx/204/304 responses carry no body.
 * Only the window is ever read; bytes past it are only counted. Headers that
 * lie past the window are not seen (counted as hdr_lost), and the message then
 * ends on close or on the next request.
 *
 * Everything is plain C with fixed-size buffers and masked indexes so that the
 * BPF verifier accepts it; loops over bytes go through bpf_loop() in the
 * kernel and a plain loop on the host (DT_LOOP, include/dt/portable.h).
 *
 * By concept: message.h (state), start_line.h (method, status, infer),
 * headers.h (one header line, trace context), scan.h (the word-at-a-time
 * scan of a window), exchange.h (feed and close), span.h (a finished
 * exchange as a span event).
 */
#ifndef DIFFTRACE_HTTP1_H
#define DIFFTRACE_HTTP1_H

#include "protocols/http1/exchange.h"
#include "protocols/http1/span.h"

#endif /* DIFFTRACE_HTTP1_H */
