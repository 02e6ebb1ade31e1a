// Http2Session: one HTTP/2 connection in replay: its bytes through the frame follower
// (include/protocols/http2/, by way of http2_io.h), every header block decoded in wire order with
// one HpackDecoder per direction, and each finished stream handed on with its decoded blocks.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>

#include "protocols/http2/http2.h"
#include "replay/hpack_decoder.h"
#include "replay/http2_io.h"

namespace difftrace::replay {

// A finished stream and what its header blocks said.
struct Http2Exchange {
  h2_stream stream{};
  int role = 0;               // H2_ROLE_SERVER: the reassembly's server answered; else swapped
  HeaderBlock request;        // the request's header block
  HeaderBlock response;       // the final (non-1xx) response's
  HeaderBlock trailers;       // the response's trailers
  bool has_response = false;  // a final response block was decoded
  bool has_trailers = false;
  std::uint32_t unresolved = 0;  // fields of its blocks indexed into a table from before us
  bool capture_gap = false;      // it was open when bytes of the connection were lost
};

struct Http2Counters {
  std::uint64_t blocks = 0;            // header blocks decoded
  std::uint64_t blocks_malformed = 0;  // not HPACK: the direction's table is lost after them
  std::uint64_t fields_unresolved = 0; // in every block, the streams' and the others'
  std::uint64_t gaps_resynced = 0;     // capture gaps between frames, followed past
  std::uint64_t streams_untracked = 0; // opened while the stream table was full (at close)
};

class Http2Session {
 public:
  using OnExchange = std::function<void(const Http2Exchange&)>;
  explicit Http2Session(OnExchange on_exchange);

  // Bytes moved towards (DT_DIR_INGRESS) or from the side reassembly calls the server. false
  // once the connection is no longer HTTP/2 (bytes that break the framing).
  bool on_data(int dir, std::uint64_t ts_ns, std::span<const std::uint8_t> bytes);
  // The connection closed: open streams finish (unanswered ones with status 0).
  void on_close(std::uint64_t ts_ns);
  // Bytes of a direction were lost. false: they fell inside a frame, the session cannot go on.
  // Otherwise the streams open now are marked (capture_gap) and the direction's HPACK entries
  // forgotten; the next data must start with well-formed frames.
  bool on_gap(int dir);

  std::uint32_t open_streams() const { return h2_open_streams(&conn_); }
  // Streams opened while the table was full, before and since the last close (which clears
  // the follower's own count with the rest of the connection's state).
  std::uint64_t streams_untracked() const {
    return counters_.streams_untracked + conn_.streams_untracked;
  }
  const Http2Counters& counters() const { return counters_; }

 private:
  void on_fragment(const h2_fragment& f, std::span<const std::uint8_t> bytes);
  void on_block(const h2_fragment& f, HeaderBlock&& block);
  void on_done(const h2_stream& st);

  OnExchange on_exchange_;
  h2_conn conn_{};
  HpackDecoder hpack_[2];   // by the direction of the bytes: each side's encoder
  std::string open_[2];     // the fragments of a block not yet complete, by direction
  std::unordered_map<std::uint32_t, Http2Exchange> streams_;  // decoded blocks of open streams
  Http2Callbacks callbacks_;
  Http2Counters counters_;
};

}  // namespace difftrace::replay
