// Http2Io: one I/O on an HTTP/2 connection through the frame follower (include/protocols/http2/),
// piece by piece as its contract asks: a window of the piece's first DT_WIN bytes, h2_feed, and
// again from where it stopped, until the I/O is used up. The kernel half does the same loop with
// a bounded count, re-reading the window from the process's buffer (docs/http2.md). Replay and
// the unit tests share this one loop.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "protocols/http2/http2.h"

namespace difftrace::replay {

struct Http2Callbacks {
  // A header block fragment: its bytes (valid during the call) and where it belongs.
  std::function<void(const h2_fragment&, std::span<const std::uint8_t>)> on_fragment;
  // A stream finished: the follower's record of it.
  std::function<void(const h2_stream&)> on_done;
};

// Feeds `bytes`, moved in direction `dir` (enum dt_dir) between ts_enter and ts_exit. Returns the
// OR of h2_feed's result bits (DT_FEED_INVALID: the connection is no longer HTTP/2).
int http2_feed_io(h2_conn& conn, int dir, std::uint64_t ts_enter, std::uint64_t ts_exit,
                  std::span<const std::uint8_t> bytes, const Http2Callbacks& cb);

// The connection closed at ts: every open stream finishes (on_done), the state is cleared.
void http2_close(h2_conn& conn, std::uint64_t ts, const Http2Callbacks& cb);

}  // namespace difftrace::replay
