// HttpReplay: the StreamSink that turns reassembled TCP streams into spans with the kernel's own
// HTTP/1.x boundary code (include/protocols/http1/) and event filling (include/capture.h).
//
// Each on_data call is fed to http1_feed as one syscall would be: its first DT_WIN bytes as the
// window, its length, its last DT_TAIL bytes as the tail. Replay takes the server's point of
// view: data towards the server is INGRESS, so spans are SERVER spans of the side that answered
// (if the side reassembly called the client sends the first request, the roles are swapped for
// that connection). Times are the capture's, so start is the request's first segment and end the
// response's last segment: wire durations. pid and tid are 0, comm "replay", and the service name
// is the server's "address:port".
//
// Pipelining: replay frames both byte streams itself (Http1Framer: every byte is there, not only
// a window per syscall), cuts segments where messages end, and gives each request that starts
// before the previous final response has ended an exchange of its own, answered in order:
// one span per request, counted as pipelined_requests. The kernel keeps one exchange per
// connection and does not follow them (README, known gaps), so these are spans `trace` would
// not give. Where the bytes cannot be framed (before the first request start seen at a segment
// start, after a gap, past bytes that are not HTTP/1.x framing or a protocol switch) replay
// feeds whole segments to one exchange, as the kernel does, until the connection is idle at the
// start of a request again; pipelined requests met then, or left waiting when framing was lost,
// are counted as pipelined_requests_unsupported and give no span.
//
// Never guessed: a gap (bytes the capture lacks) abandons the exchanges in progress (counted);
// at the end of the capture, an idle timeout or an eviction the exchange in progress is counted,
// not emitted (the connection did not close, so neither "unanswered" nor a close-delimited end
// is known). FIN and RST close like close() does in the kernel.
//
// HTTP/2 (h2c, and so gRPC): a connection whose first bytes are the client preface or a run of
// well-formed frame headers (h2_infer) goes to an Http2Session instead: the frame follower of
// include/protocols/http2/, header blocks decoded with HPACK (libnghttp2), one span per stream.
// A gap between frames is followed past when the next bytes start frames again: the streams
// open across it are marked (difftrace.capture_gap) and that direction's HPACK entries are
// forgotten (unresolved, not guessed); a gap inside a frame ends the session (its open streams
// are abandoned, counted). Fields that HPACK indexed
// into a table built before the capture are counted (http2_fields_unresolved), never guessed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "capture.h"
#include "capture/clock.h"
#include "capture/span_decoder.h"
#include "replay/boundary_engine.h"
#include "replay/conn_selector.h"
#include "replay/http1_framer.h"
#include "replay/http2_session.h"
#include "replay/stream_sink.h"

namespace difftrace::replay {

struct HttpReplayCounters {
  // The kernel's counters, same meaning (include/capture.h, enum dt_counter).
  uint64_t io_calls = 0;             // data callbacks fed to the boundary code
  uint64_t connections_tracked = 0;  // connections that carried an HTTP/1.x request, or HTTP/2
  uint64_t spans_seen = 0;           // exchanges finished (all are reported: no filter yet)
  uint64_t non_http_data = 0;        // data on an HTTP/1.x connection that was not HTTP
  uint64_t headers_past_window = 0;
  uint64_t requests_unanswered = 0;  // closed (FIN/RST) without a response: status 0
  // Replay's own.
  uint64_t connections = 0;                // opened by reassembly
  uint64_t connections_not_selected = 0;   // left out by --port / --host
  uint64_t connections_non_http = 0;       // carried data, never an HTTP/1.x request
  uint64_t http2_connections = 0;          // HTTP/2 (h2c, gRPC) connections followed
  uint64_t http2_fields_unresolved = 0;    // HPACK fields indexed into a table from before us
  uint64_t http2_streams_untracked = 0;    // streams opened while a connection's table was full
  uint64_t http2_blocks_malformed = 0;     // header blocks HPACK could not decode
  uint64_t http2_gaps_resynced = 0;        // capture gaps between frames, followed past
  uint64_t http2_grpc_errors_reported = 0; // gRPC errors the filter would have kept (see emit_h2)
  uint64_t exchanges_abandoned_gap = 0;    // the capture lacks some of their bytes
  uint64_t exchanges_unfinished = 0;       // in progress at end of capture / timeout / eviction
  uint64_t pipelined_requests = 0;         // followed by framing: spans the kernel would not give
  uint64_t pipelined_requests_unsupported = 0;  // could not be framed: no span of their own
};

class HttpReplay final : public StreamSink {
 public:
  using SpanHandler = std::function<void(capture::Span&&)>;
  // Sees every span event before it is decoded, as the kernel's filter does
  // (include/span_filter.h); false: the span is not reported.
  using EventFilter = std::function<bool(dt_span_event&)>;

  // engine runs the boundary functions; nullptr: the host's.
  HttpReplay(ConnSelector selector, SpanHandler on_span, BoundaryEngine* engine = nullptr);
  HttpReplay(const HttpReplay&) = delete;  // the decoder refers to clock_
  HttpReplay& operator=(const HttpReplay&) = delete;
  void set_event_filter(EventFilter filter) { event_filter_ = std::move(filter); }

  void on_open(const ConnKey& key, uint64_t ts_ns) override;
  void on_data(const ConnKey& key, Direction dir, uint64_t ts_ns,
               std::span<const uint8_t> bytes) override;
  void on_gap(const ConnKey& key, Direction dir, uint64_t ts_ns, uint64_t bytes) override;
  void on_close(const ConnKey& key, uint64_t ts_ns, CloseReason reason) override;

  const HttpReplayCounters& counters() const { return counters_; }
  uint64_t invalid_trace_contexts() const { return decoder_.invalid_trace_contexts(); }

 private:
  enum class Protocol : uint8_t { unknown, http1, http2 };
  // The start of a message that a segment shared with the end of another cut short: fewer
  // than kMinStart bytes, from which the boundary code could not tell what they start. Held
  // until the message's next bytes and fed with them: a request timed by its first byte, a
  // response by its last.
  static constexpr size_t kMinStart = 16;
  struct Held {
    std::vector<uint8_t> bytes;
    uint64_t ts_ns = 0;
    FramePiece piece;
  };
  struct Conn {
    http_exchange x{};                 // the exchange whose response comes next
    std::vector<http_exchange> behind;  // pipelined requests after x's, oldest first
    Http1Framer framer;
    uint64_t id = 0;
    Protocol protocol = Protocol::unknown;
    bool had_data = false;
    bool swapped = false;  // the side reassembly called the server sends the requests
    bool framing = false;  // the framer follows the connection (else: the kernel's way)
    Held held[2];          // [to_server]
    std::unique_ptr<Http2Session> h2;  // an HTTP/2 connection being followed
  };

  // Runs the boundary code on one chunk of x; emits and counts as the kernel does.
  int feed(const ConnKey& key, Conn& conn, http_exchange& x, int dt_dir, uint64_t ts_ns,
           std::span<const uint8_t> bytes);
  void feed_unframed(const ConnKey& key, Conn& conn, bool to_server, uint64_t ts_ns,
                     std::span<const uint8_t> bytes);
  void feed_request(const ConnKey& key, Conn& conn, const FramePiece& piece, uint64_t ts_ns,
                    std::span<const uint8_t> bytes);
  void feed_response(const ConnKey& key, Conn& conn, const FramePiece& piece, uint64_t ts_ns,
                     std::span<const uint8_t> bytes);
  void feed_framed(const ConnKey& key, Conn& conn, bool to_server, const FramePiece& piece,
                   uint64_t ts_ns, std::span<const uint8_t> bytes);
  // Feeds held starts on as they are (framing stops, or the connection closes).
  void flush_held(const ConnKey& key, Conn& conn);
  void stop_framing(const ConnKey& key, Conn& conn);
  int classify(std::span<const uint8_t> bytes);
  void emit(const ConnKey& key, const Conn& conn);
  void start_http2(const ConnKey& key, Conn& conn);
  void emit_h2(const ConnKey& key, const Conn& conn, const Http2Exchange& x);
  // Counts what an HTTP/2 session leaves behind and ends it.
  void end_http2(Conn& conn, uint64_t& open_streams_counter);

  ConnSelector selector_;
  SpanHandler on_span_;
  EventFilter event_filter_;
  BoundaryEngine host_engine_;
  BoundaryEngine* engine_;
  std::unordered_map<ConnKey, Conn, ConnKeyHash> conns_;  // selected connections only
  uint64_t next_conn_id_ = 1;
  // The kernel's per-CPU scratch, here one each: the window, the finished exchange.
  dt_window window_{};
  http_exchange done_{};
  std::vector<FramePiece> pieces_;
  capture::WallClock clock_{0};  // capture times are wall-clock already
  capture::SpanDecoder decoder_{clock_};
  HttpReplayCounters counters_;
};

}  // namespace difftrace::replay
