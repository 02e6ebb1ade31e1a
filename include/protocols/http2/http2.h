/* HTTP/2 frame following, shared by replay and (next) the BPF capture
 * program. By concept: frame.h (frame headers, inference), stream.h (state:
 * streams, directions, fragments), follow.h (h2_feed, h2_close), span.h (a
 * finished stream as a span event), hpack_shadow.h (what a bounded kernel
 * copy of HPACK's dynamic table keeps). docs/http2.md says what works. */
#ifndef DIFFTRACE_HTTP2_H
#define DIFFTRACE_HTTP2_H

#include "protocols/http2/follow.h"
#include "protocols/http2/hpack_shadow.h"
#include "protocols/http2/span.h"

#endif /* DIFFTRACE_HTTP2_H */
