#include "replay/http_replay.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "replay/http2_detect.h"

namespace difftrace::replay {
namespace {

// The chunk the kernel builds for one syscall (bpf/capture.bpf.c, on_data): the first HTTP_WIN
// bytes copied into the window, the length, and the last HTTP_TAIL bytes.
http_chunk make_chunk(http_window& window, std::span<const uint8_t> bytes) {
  http_chunk ch{};
  const size_t win_len = std::min<size_t>(bytes.size(), HTTP_WIN);
  std::memcpy(window.data, bytes.data(), win_len);
  // The kernel's window keeps stale bytes past win_len, which the boundary code never counts;
  // zeros here keep replay deterministic.
  std::memset(window.data + win_len, 0, sizeof(window.data) - win_len);
  ch.win = &window;
  ch.win_len = static_cast<__u32>(win_len);
  ch.total_len = bytes.size();
  if (bytes.size() == win_len) {
    http_tail_from_window(&ch);
  } else {
    std::memcpy(ch.tail, bytes.data() + bytes.size() - HTTP_TAIL, HTTP_TAIL);
    ch.tail_len = HTTP_TAIL;
  }
  return ch;
}

void copy_endpoint(const Endpoint& from, __u8 (&addr)[16], __u16& port) {
  std::memcpy(addr, from.addr.bytes.data(), sizeof(addr));
  port = from.port;
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
  conns_[key] = conn;
}

void HttpReplay::on_data(const ConnKey& key, Direction dir, uint64_t ts_ns,
                         std::span<const uint8_t> bytes) {
  auto it = conns_.find(key);
  if (it == conns_.end() || bytes.empty()) return;
  Conn& conn = it->second;
  if (conn.protocol == Protocol::http2) return;
  conn.had_data = true;
  if (conn.protocol == Protocol::unknown && looks_like_http2(bytes)) {
    conn.protocol = Protocol::http2;
    counters_.http2_not_supported++;
    return;
  }

  http_chunk ch = make_chunk(window_, bytes);
  const bool tracked_before = conn.x.role != HTTP_ROLE_UNKNOWN;
  // Until the first request the roles are open: whoever sends it is the client.
  if (!tracked_before)
    conn.swapped = dir == Direction::server_to_client &&
                   http_classify(&window_, ch.win_len) == HTTP_START_REQUEST;
  const bool to_server = (dir == Direction::client_to_server) != conn.swapped;
  const int http_dir = to_server ? HTTP_DIR_INGRESS : HTTP_DIR_EGRESS;
  // A segment is captured once: it entered and left "the syscall" at the same time.
  const int res = engine_->feed(conn.x, http_dir, ch, ts_ns, ts_ns, done_);

  if (!tracked_before && conn.x.role == HTTP_ROLE_UNKNOWN) return;  // no state in the kernel
  if (conn.protocol == Protocol::unknown) {
    conn.protocol = Protocol::http1;
    counters_.connections_tracked++;
  }
  counters_.io_calls++;
  if (res == HTTP_FEED_DONE)
    emit(key, conn);
  else if (res == HTTP_FEED_IGNORED)
    counters_.non_http_data++;
}

void HttpReplay::on_gap(const ConnKey& key, Direction, uint64_t, uint64_t) {
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  http_exchange& x = it->second.x;
  if (x.phase == HTTP_PHASE_IDLE) return;
  // Where the missing bytes were, a message boundary or a Content-Length may have been: the
  // exchange cannot be finished without guessing.
  http_exchange_reset(&x);
  counters_.exchanges_abandoned_gap++;
}

void HttpReplay::on_close(const ConnKey& key, uint64_t ts_ns, CloseReason reason) {
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  Conn& conn = it->second;
  if (conn.protocol == Protocol::unknown && conn.had_data) counters_.connections_non_http++;
  switch (reason) {
    case CloseReason::fin:
    case CloseReason::reset:
    case CloseReason::reused:
      if (engine_->close(conn.x, ts_ns, done_) == HTTP_FEED_DONE) emit(key, conn);
      break;
    case CloseReason::timeout:
    case CloseReason::evicted:
    case CloseReason::end_of_capture:
      if (conn.x.phase != HTTP_PHASE_IDLE) counters_.exchanges_unfinished++;
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
  const Endpoint& client = conn.swapped ? key.server : key.client;
  dt_tuple tuple{};
  copy_endpoint(server, tuple.local_addr, tuple.local_port);
  copy_endpoint(client, tuple.peer_addr, tuple.peer_port);
  tuple.family = server.addr.family == IpFamily::v4 ? AF_INET : AF_INET6;

  dt_span_event ev{};
  dt_span_event_fill(&ev, &x, &tuple, conn.id, 0, 0);
  std::strncpy(ev.comm, "replay", sizeof(ev.comm) - 1);
  capture::Span span = decoder_.decode(ev);
  span.service_name = to_string(server);
  on_span_(std::move(span));
}

}  // namespace difftrace::replay
