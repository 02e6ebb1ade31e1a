#include "replay/http2_io.h"

#include <cstring>

namespace difftrace::replay {

int http2_feed_io(h2_conn& conn, int dir, std::uint64_t ts_enter, std::uint64_t ts_exit,
                  std::span<const std::uint8_t> bytes, const Http2Callbacks& cb) {
  dt_window window{};
  int all = 0;
  std::size_t at = 0;
  while (at < bytes.size()) {
    const std::span<const std::uint8_t> piece = bytes.subspan(at);
    dt_chunk ch{};
    ch.total_len = piece.size();
    ch.win_len = static_cast<__u32>(std::min<std::size_t>(piece.size(), DT_WIN));
    ch.dir = static_cast<__u8>(dir);
    ch.ts_enter = ts_enter;
    ch.ts_exit = ts_exit;
    std::memcpy(window.data, piece.data(), ch.win_len);
    std::memset(window.data + ch.win_len, 0, sizeof(window.data) - ch.win_len);
    h2_stream done{};
    h2_out out{};
    const int res = h2_feed(&conn, &window, &ch, &done, &out);
    all |= res;
    if ((res & H2_FEED_FRAGMENT) && cb.on_fragment)
      cb.on_fragment(out.frag, piece.subspan(out.frag.off, out.frag.len));
    if ((res & DT_FEED_DONE) && cb.on_done) cb.on_done(done);
    if (res & DT_FEED_INVALID) break;
    // The contract: progress unless a stream finished (which empties a slot, so that ends too).
    if (out.consumed == 0 && !(res & DT_FEED_DONE)) break;
    at += out.consumed;
  }
  // A GOAWAY in this I/O refused the streams above its last id: they finish now, not at the
  // next I/O (an empty piece only sweeps).
  while (conn.goaway && !(all & DT_FEED_INVALID)) {
    dt_chunk ch{};
    ch.dir = static_cast<__u8>(dir);
    h2_stream done{};
    h2_out out{};
    if (!(h2_feed(&conn, &window, &ch, &done, &out) & DT_FEED_DONE)) break;
    all |= DT_FEED_DONE;
    if (cb.on_done) cb.on_done(done);
  }
  return all;
}

void http2_close(h2_conn& conn, std::uint64_t ts, const Http2Callbacks& cb) {
  h2_stream done{};
  while (h2_close(&conn, ts, &done) & DT_FEED_DONE) {
    if (cb.on_done) cb.on_done(done);
    done = {};
  }
}

}  // namespace difftrace::replay
