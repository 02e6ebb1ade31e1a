// TcpReassembler: turns captured TCP segments into per-connection, per-direction byte streams.
//
// - Out-of-order segments wait in a buffer bounded per connection and in total; when a
//   connection's buffer is full the oldest hole is given up (a gap) to make room, and when the
//   total is full the new segment is dropped (counted; its bytes later become a gap).
// - Retransmitted and overlapping bytes: the first-seen bytes win, the rest is counted.
// - Missing bytes are never guessed: they are reported through StreamSink::on_gap once they are
//   certain -- the peer acknowledged past them, the connection's buffer had to move on, or the
//   connection closed -- and the stream continues after them. Bytes a snaplen cut away are gaps.
// - SYN fixes the start of a direction; a connection already open when the capture started
//   starts at the first sequence number seen carrying data (or FIN) in each direction.
// - Which side is the client: the sender of a SYN (the receiver of a SYN-ACK). Without a SYN:
//   the side whose first payload begins like an HTTP request line (an upper-case method token and
//   a space, e.g. "GET ", "PRI "), or the peer of a side whose first payload begins "HTTP/";
//   otherwise the side with the lower port is the server (equal ports: the first payload's
//   destination is the server).
// - Closing: RST closes at once (CloseReason::reset); FINs close once both directions have
//   delivered (or gapped) every byte up to their FIN; idle connections time out in capture
//   time; the table is bounded (least recently active evicted); finish() closes the rest.
//   A connection seen without SYN and without payload produces no events at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "replay/stream_sink.h"
#include "replay/tcp_segment.h"

namespace difftrace::replay {

struct ReassemblyLimits {
  size_t max_connections = 65536;                  // live and recently closed
  size_t max_buffered_bytes_per_conn = 1u << 20;   // out-of-order bytes, both directions
  size_t max_buffered_bytes_total = 64u << 20;     // out-of-order bytes, all connections
  uint64_t idle_timeout_ns = 300'000'000'000;      // 5 min of capture time without a segment
  // A closed connection absorbs late segments (final ACKs, retransmitted FINs) this long; a
  // new SYN always starts a new connection. Capped at idle_timeout_ns.
  uint64_t closed_linger_ns = 30'000'000'000;
};

// Each buffered segment costs its captured bytes plus this much toward the buffer limits.
inline constexpr size_t kBufferedSegmentOverhead = 64;

struct ReassemblyCounters {
  uint64_t segments = 0;
  uint64_t connections_opened = 0;   // on_open calls
  uint64_t connections_silent = 0;   // ended without SYN or payload: no events
  uint64_t midstream_pickups = 0;    // opened without a SYN or SYN-ACK seen
  uint64_t direction_by_syn = 0;
  uint64_t direction_by_http = 0;
  uint64_t direction_by_port = 0;
  uint64_t closed_fin = 0;
  uint64_t closed_reset = 0;
  uint64_t closed_timeout = 0;
  uint64_t closed_evicted = 0;
  uint64_t closed_reused = 0;
  uint64_t closed_end_of_capture = 0;
  uint64_t bytes_delivered = 0;
  uint64_t gaps = 0;
  uint64_t gap_bytes = 0;
  uint64_t retransmitted_segments = 0;  // carried nothing new
  uint64_t retransmitted_bytes = 0;
  uint64_t overlap_bytes = 0;           // already-seen bytes of segments that carried new ones
  uint64_t out_of_order_segments = 0;   // buffered to wait for earlier bytes
  uint64_t buffer_forced_skips = 0;     // a connection's buffer was full: a hole became a gap
  uint64_t buffer_dropped_segments = 0;  // the total buffer was full: segment dropped
  uint64_t buffer_dropped_bytes = 0;
  uint64_t out_of_window_segments = 0;  // more than 1 GiB ahead of the stream: ignored
  uint64_t data_after_fin_bytes = 0;    // beyond a direction's FIN: ignored
  uint64_t segments_after_close = 0;    // for a closed connection: ignored
  uint64_t rst_without_connection = 0;  // RST for no known connection: ignored
  uint64_t self_connection_segments = 0;  // source endpoint == destination endpoint: ignored
};

class TcpReassembler {
 public:
  explicit TcpReassembler(StreamSink& sink, ReassemblyLimits limits = {});
  ~TcpReassembler();
  TcpReassembler(const TcpReassembler&) = delete;
  TcpReassembler& operator=(const TcpReassembler&) = delete;

  // Segments in capture order. Callbacks run synchronously from here.
  void process(const TcpSegment& segment);
  // End of capture: closes every open connection (CloseReason::end_of_capture), delivering its
  // buffered bytes with gaps for the holes. The reassembler is empty afterwards.
  void finish();

  const ReassemblyCounters& counters() const;
  size_t connection_count() const;  // table entries, recently closed ones included
  size_t buffered_bytes() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace difftrace::replay
