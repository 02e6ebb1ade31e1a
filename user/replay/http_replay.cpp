#include "replay/http_replay.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include <optional>

#include "replay/http2_span.h"

namespace difftrace::replay {
namespace {

// The chunk the kernel builds for one syscall (bpf/capture.bpf.c, on_data): the first DT_WIN
// bytes copied into the window, the length, and the last DT_TAIL bytes.
// The kernel's chunk building (include/dt/chunk_build.h) over a segment, as one buffer.
dt_chunk make_chunk(dt_window& window, std::span<const uint8_t> bytes) {
  dt_chunk ch{};
  dt_io io{};
  io.data = reinterpret_cast<std::uintptr_t>(bytes.data());
  io.len = bytes.size();
  io.layout = DT_IO_BUF;
  dt_chunk_window(&io, &window, &ch);  // host memory: cannot fail
  // The kernel's window keeps stale bytes past win_len, which the boundary code never counts;
  // zeros here keep replay deterministic.
  std::memset(window.data + ch.win_len, 0, sizeof(window.data) - ch.win_len);
  dt_chunk_tail(&io, &window, &ch);
  return ch;
}

void copy_endpoint(const Endpoint& from, __u8 (&addr)[16], __u16& port) {
  std::memcpy(addr, from.addr.bytes.data(), sizeof(addr));
  port = from.port;
}

// The span's tuple from the server's side: reassembly's server, or its client when swapped.
dt_tuple server_tuple(const ConnKey& key, bool swapped) {
  const Endpoint& server = swapped ? key.client : key.server;
  const Endpoint& client = swapped ? key.server : key.client;
  dt_tuple tuple{};
  copy_endpoint(server, tuple.local_addr, tuple.local_port);
  copy_endpoint(client, tuple.peer_addr, tuple.peer_port);
  tuple.family = server.addr.family == IpFamily::v4 ? AF_INET : AF_INET6;
  return tuple;
}

}  // namespace

HttpReplay::HttpReplay(ConnSelector selector, SpanHandler on_span, BoundaryEngine* engine)
    : selector_(std::move(selector)),
      on_span_(std::move(on_span)),
      engine_(engine ? engine : &host_engine_) {}

void HttpReplay::on_open(const ConnKey& key, uint64_t) {
  counters_.connections++;
  if (!selector_.selects(key)) {
    counters_.connections_not_selected++;
    return;
  }
  Conn conn;
  conn.id = next_conn_id_++;
  conns_[key] = std::move(conn);
}

int HttpReplay::classify(std::span<const uint8_t> bytes) {
  // Classification reads at most the first 13 bytes of the window.
  const size_t n = std::min<size_t>(bytes.size(), 16);
  std::memcpy(window_.data, bytes.data(), n);
  std::memset(window_.data + n, 0, 16 - n);
  return http1_infer(&window_, static_cast<__u32>(n));
}

void HttpReplay::on_data(const ConnKey& key, Direction dir, uint64_t ts_ns,
                         std::span<const uint8_t> bytes) {
  auto it = conns_.find(key);
  if (it == conns_.end() || bytes.empty()) return;
  Conn& conn = it->second;
  conn.had_data = true;
  if (conn.protocol == Protocol::unknown) {
    const size_t n = std::min<size_t>(bytes.size(), DT_WIN);
    std::memcpy(window_.data, bytes.data(), n);
    if (h2_infer(&window_, static_cast<__u32>(n)) != DT_START_NONE) start_http2(key, conn);
  }
  if (conn.protocol == Protocol::http2) {
    if (conn.h2) counters_.io_calls++;
    // Reassembly's view: towards its server is INGRESS; the follower finds who is the client.
    if (conn.h2 && !conn.h2->on_data(dir == Direction::client_to_server ? DT_DIR_INGRESS
                                                                         : DT_DIR_EGRESS,
                                     ts_ns, bytes)) {
      counters_.non_http_data++;  // it broke the framing: no longer followed
      end_http2(conn, counters_.exchanges_abandoned_gap);
    }
    return;
  }

  const int kind = classify(bytes);
  // Until the first request the roles are open: whoever sends it is the client.
  if (conn.x.role == HTTP_ROLE_UNKNOWN)
    conn.swapped = dir == Direction::server_to_client && kind == DT_START_REQUEST;
  const bool to_server = (dir == Direction::client_to_server) != conn.swapped;
  // Framing starts (again) where the kernel's code starts a request with nothing in progress.
  if (!conn.framing && to_server && kind == DT_START_REQUEST &&
      conn.x.phase == HTTP_PHASE_IDLE && conn.behind.empty()) {
    conn.framer.restart();
    conn.framing = true;
  }
  if (!conn.framing) {
    feed_unframed(key, conn, to_server, ts_ns, bytes);
    return;
  }
  pieces_.clear();
  conn.framer.split(to_server, bytes, pieces_);
  size_t off = 0;
  for (const FramePiece& piece : pieces_) {
    const auto part = bytes.subspan(off, piece.len);
    const bool segment_start = off == 0;
    off += piece.len;
    if (piece.unframed) {
      stop_framing(key, conn);
      feed_unframed(key, conn, to_server, ts_ns, part);
      continue;
    }
    Held& held = conn.held[to_server];
    if (!held.bytes.empty()) {  // the rest of a held start: fed together, from the first byte
      held.bytes.insert(held.bytes.end(), part.begin(), part.end());
      held.piece.ends = piece.ends;
      held.piece.final_response = piece.final_response;
    } else if (piece.starts && !piece.ends && part.size() < kMinStart && !segment_start) {
      held.bytes.assign(part.begin(), part.end());
      held.ts_ns = ts_ns;
      held.piece = piece;
      continue;
    } else {
      feed_framed(key, conn, to_server, piece, ts_ns, part);
      continue;
    }
    if (!held.piece.ends && held.bytes.size() < kMinStart) continue;  // still too short
    const Held whole = std::move(held);
    held = {};
    // A request starts with its first byte, a response ends with its last.
    feed_framed(key, conn, to_server, whole.piece, to_server ? whole.ts_ns : ts_ns, whole.bytes);
  }
}

void HttpReplay::feed_framed(const ConnKey& key, Conn& conn, bool to_server,
                             const FramePiece& piece, uint64_t ts_ns,
                             std::span<const uint8_t> bytes) {
  if (to_server)
    feed_request(key, conn, piece, ts_ns, bytes);
  else
    feed_response(key, conn, piece, ts_ns, bytes);
}

void HttpReplay::flush_held(const ConnKey& key, Conn& conn) {
  for (bool to_server : {true, false}) {
    Held& held = conn.held[to_server];
    if (held.bytes.empty()) continue;
    const Held whole = std::move(held);
    held = {};
    feed_framed(key, conn, to_server, whole.piece, whole.ts_ns, whole.bytes);
  }
}

int HttpReplay::feed(const ConnKey& key, Conn& conn, http_exchange& x, int dt_dir,
                     uint64_t ts_ns, std::span<const uint8_t> bytes) {
  dt_chunk ch = make_chunk(window_, bytes);
  const bool tracked_before = x.role != HTTP_ROLE_UNKNOWN;
  ch.dir = static_cast<__u8>(dt_dir);
  // A segment is captured once: it entered and left "the syscall" at the same time.
  ch.ts_enter = ts_ns;
  ch.ts_exit = ts_ns;
  const int res = engine_->feed(x, window_, ch, done_);
  if (!tracked_before && x.role == HTTP_ROLE_UNKNOWN) return res;  // no state in the kernel
  if (conn.protocol == Protocol::unknown) {
    conn.protocol = Protocol::http1;
    counters_.connections_tracked++;
  }
  counters_.io_calls++;
  if (res & DT_FEED_DONE)
    emit(key, conn);
  else if (res & DT_FEED_INVALID)
    counters_.non_http_data++;
  return res;
}

// The kernel's way: whole segments to the connection's one exchange.
void HttpReplay::feed_unframed(const ConnKey& key, Conn& conn, bool to_server, uint64_t ts_ns,
                               std::span<const uint8_t> bytes) {
  const http_exchange& x = conn.x;
  if (to_server && classify(bytes) == DT_START_REQUEST) {
    // A request after a complete one still unanswered is taken as more of that one; during a
    // response of known length it ends that response early. Neither is a span of its own.
    const bool req_complete = x.req.hdr_done && !x.req.chunked &&
                              (!x.req.has_cl || x.req.body_seen >= x.req.content_length);
    const bool resp_open = (x.resp.has_cl || x.resp.chunked) && !x.resp.complete;
    if ((x.phase == HTTP_PHASE_REQUEST && req_complete) ||
        (x.phase == HTTP_PHASE_RESPONSE && resp_open))
      counters_.pipelined_requests_unsupported++;
  }
  feed(key, conn, conn.x, to_server ? DT_DIR_INGRESS : DT_DIR_EGRESS, ts_ns, bytes);
}

void HttpReplay::feed_request(const ConnKey& key, Conn& conn, const FramePiece& piece,
                              uint64_t ts_ns, std::span<const uint8_t> bytes) {
  if (piece.starts && piece.behind) {
    // Pipelined: it waits for its response behind the earlier requests'.
    http_exchange fresh{};
    fresh.role = conn.x.role;
    conn.behind.push_back(fresh);
    counters_.pipelined_requests++;
  } else if (piece.starts && !conn.behind.empty()) {
    stop_framing(key, conn);  // the framer and the queue disagree: never guess which is right
    feed_unframed(key, conn, true, ts_ns, bytes);
    return;
  }
  http_exchange& x = conn.behind.empty() ? conn.x : conn.behind.back();
  feed(key, conn, x, DT_DIR_INGRESS, ts_ns, bytes);
}

void HttpReplay::feed_response(const ConnKey& key, Conn& conn, const FramePiece& piece,
                               uint64_t ts_ns, std::span<const uint8_t> bytes) {
  feed(key, conn, conn.x, DT_DIR_EGRESS, ts_ns, bytes);
  if (!piece.ends || !piece.final_response || conn.behind.empty()) return;
  // x's final response ended here and a pipelined request waits for the next one. Without one
  // waiting, x is left as the kernel leaves it: ended by the next request or the close.
  if (conn.x.phase == HTTP_PHASE_RESPONSE) {
    // The boundary code did not see where the response ends (headers past its window, a header
    // line cut between segments): it ends where the next message starts, as in the kernel.
    if ((engine_->close(conn.x, ts_ns, done_) & DT_FEED_DONE)) {
      done_.end_reason = HTTP_END_NEXT;
      emit(key, conn);
    }
  } else if (conn.x.phase == HTTP_PHASE_REQUEST) {
    // It did not see the response start: no span rather than a guessed one.
    http_exchange_reset(&conn.x);
    counters_.pipelined_requests_unsupported++;
  }
  conn.x = conn.behind.front();
  conn.behind.erase(conn.behind.begin());
}

void HttpReplay::stop_framing(const ConnKey& key, Conn& conn) {
  // A held request start waiting behind others is a pipelined request given up here.
  if (!conn.held[true].bytes.empty() && conn.held[true].piece.behind)
    counters_.pipelined_requests_unsupported++;
  for (bool to_server : {true, false}) {
    Held& held = conn.held[to_server];
    if (held.bytes.empty()) continue;
    const Held whole = std::move(held);
    held = {};
    feed_unframed(key, conn, to_server, whole.ts_ns, whole.bytes);
  }
  conn.framing = false;
  for (const http_exchange& x : conn.behind)
    if (x.phase != HTTP_PHASE_IDLE) counters_.pipelined_requests_unsupported++;
  conn.behind.clear();
}

void HttpReplay::on_gap(const ConnKey& key, Direction dir, uint64_t, uint64_t) {
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  Conn& conn = it->second;
  if (conn.protocol == Protocol::http2) {
    // Between frames the session goes on (streams open now are marked); inside one, frame
    // boundaries are lost with the missing bytes.
    if (conn.h2 && !conn.h2->on_gap(dir == Direction::client_to_server ? DT_DIR_INGRESS
                                                                        : DT_DIR_EGRESS))
      end_http2(conn, counters_.exchanges_abandoned_gap);
    return;
  }
  // Where the missing bytes were, a message boundary or a Content-Length may have been: the
  // exchanges in progress cannot be finished, nor the stream framed, without guessing.
  conn.framing = false;
  if (!conn.held[true].bytes.empty()) counters_.exchanges_abandoned_gap++;  // a request begun
  conn.held[true] = {};
  conn.held[false] = {};
  if (conn.x.phase != HTTP_PHASE_IDLE) counters_.exchanges_abandoned_gap++;
  for (const http_exchange& x : conn.behind)
    if (x.phase != HTTP_PHASE_IDLE) counters_.exchanges_abandoned_gap++;
  http_exchange_reset(&conn.x);
  conn.behind.clear();
}

void HttpReplay::on_close(const ConnKey& key, uint64_t ts_ns, CloseReason reason) {
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  Conn& conn = it->second;
  if (conn.protocol == Protocol::unknown && conn.had_data) counters_.connections_non_http++;
  if (conn.protocol == Protocol::http2) {
    if (conn.h2 && (reason == CloseReason::fin || reason == CloseReason::reset ||
                    reason == CloseReason::reused))
      conn.h2->on_close(ts_ns);
    end_http2(conn, counters_.exchanges_unfinished);
    conns_.erase(it);
    return;
  }
  flush_held(key, conn);
  switch (reason) {
    case CloseReason::fin:
    case CloseReason::reset:
    case CloseReason::reused:
      // Pipelined requests still waiting were closed unanswered, as x may be.
      if ((engine_->close(conn.x, ts_ns, done_) & DT_FEED_DONE)) emit(key, conn);
      for (http_exchange& x : conn.behind)
        if ((engine_->close(x, ts_ns, done_) & DT_FEED_DONE)) emit(key, conn);
      break;
    case CloseReason::timeout:
    case CloseReason::evicted:
    case CloseReason::end_of_capture:
      if (conn.x.phase != HTTP_PHASE_IDLE) counters_.exchanges_unfinished++;
      for (const http_exchange& x : conn.behind)
        if (x.phase != HTTP_PHASE_IDLE) counters_.exchanges_unfinished++;
      break;
  }
  conns_.erase(it);
}

void HttpReplay::emit(const ConnKey& key, const Conn& conn) {
  const http_exchange& x = done_;
  counters_.spans_seen++;
  if (x.req.hdr_lost || x.resp.hdr_lost) counters_.headers_past_window++;
  if (x.phase == HTTP_PHASE_REQUEST) counters_.requests_unanswered++;

  const Endpoint& server = conn.swapped ? key.client : key.server;
  const dt_tuple tuple = server_tuple(key, conn.swapped);
  dt_span_event ev{};
  http1_span_fill(&ev, &x, &tuple, conn.id, 0, 0);
  std::strncpy(ev.comm, "replay", sizeof(ev.comm) - 1);
  if (event_filter_ && !event_filter_(ev)) return;
  capture::Span span = decoder_.decode(ev);
  span.service_name = to_string(server);
  on_span_(std::move(span));
}

void HttpReplay::start_http2(const ConnKey& key, Conn& conn) {
  conn.protocol = Protocol::http2;
  counters_.http2_connections++;
  counters_.connections_tracked++;
  conn.h2 = std::make_unique<Http2Session>(
      [this, key, &conn](const Http2Exchange& x) { emit_h2(key, conn, x); });
}

void HttpReplay::end_http2(Conn& conn, uint64_t& open_streams_counter) {
  if (!conn.h2) return;
  open_streams_counter += conn.h2->open_streams();
  counters_.http2_fields_unresolved += conn.h2->counters().fields_unresolved;
  counters_.http2_streams_untracked += conn.h2->streams_untracked();
  counters_.http2_blocks_malformed += conn.h2->counters().blocks_malformed;
  counters_.http2_gaps_resynced += conn.h2->counters().gaps_resynced;
  conn.h2.reset();
}

void HttpReplay::emit_h2(const ConnKey& key, const Conn& conn, const Http2Exchange& x) {
  counters_.spans_seen++;
  if (!(x.stream.bits & H2_S_RESP_HEADERS)) counters_.requests_unanswered++;
  // The follower's client is whoever opened the streams: reassembly's server, if it says so.
  const bool swapped = x.role == H2_ROLE_CLIENT;
  const Endpoint& server = swapped ? key.client : key.server;
  const dt_tuple tuple = server_tuple(key, swapped);
  dt_span_event ev{};
  h2_span_fill(&ev, &x.stream, H2_ROLE_SERVER, &tuple, conn.id, 0, 0);  // the server's view
  http2_event_fields(ev, x);
  std::strncpy(ev.comm, "replay", sizeof(ev.comm) - 1);
  std::optional<capture::Rpc> rpc = http2_grpc_call(x);
  const bool rpc_error = rpc && rpc->grpc_status && *rpc->grpc_status != 0;

  if (event_filter_ && !event_filter_(ev)) {
    // The filter reads the span event, which has no grpc-status yet (docs/http2.md): a failed
    // call it would keep as normal is reported here, as the status rule would.
    if (!rpc_error) return;
    ev.decision = DT_DECIDE_REPORT;
    ev.reason = DT_REASON_STATUS;
    counters_.http2_grpc_errors_reported++;
  }
  capture::Span span = decoder_.decode(ev);
  span.service_name = to_string(server);
  span.http_version = 2;
  if (rpc) span.rpc = std::make_shared<const capture::Rpc>(std::move(*rpc));
  span.unresolved_fields = x.unresolved;
  span.capture_gap = x.capture_gap;
  on_span_(std::move(span));
}

}  // namespace difftrace::replay
