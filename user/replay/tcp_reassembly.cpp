#include "replay/tcp_reassembly.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <list>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

namespace difftrace::replay {

const char* to_string(CloseReason reason) {
  switch (reason) {
    case CloseReason::fin: return "fin";
    case CloseReason::reset: return "reset";
    case CloseReason::timeout: return "timeout";
    case CloseReason::evicted: return "evicted";
    case CloseReason::reused: return "reused";
    case CloseReason::end_of_capture: return "end_of_capture";
  }
  return "?";
}

namespace {

// Sequence numbers further ahead than this are not believed (TCP windows stay below 1 GiB).
constexpr int64_t kMaxWindow = int64_t{1} << 30;

// A run of stream bytes at a stream offset (bytes since the direction's start), not owning its
// bytes: they live in the segment being processed or in a buffered Piece.
struct Run {
  uint64_t off = 0;
  uint64_t ts_ns = 0;
  std::span<const uint8_t> bytes;  // captured bytes from `off`
  uint64_t missing = 0;            // unknown bytes after `bytes` (snaplen cut)
};

uint64_t run_len(const Run& r) { return r.bytes.size() + r.missing; }
uint64_t run_end(const Run& r) { return r.off + run_len(r); }

// Drops the first n (<= run_len) bytes.
void trim_front(Run& r, uint64_t n) {
  const uint64_t from_bytes = std::min<uint64_t>(n, r.bytes.size());
  r.bytes = r.bytes.subspan(from_bytes);
  r.missing -= n - from_bytes;
  r.off += n;
}

// Drops the last n (<= run_len) bytes.
void trim_back(Run& r, uint64_t n) {
  const uint64_t from_missing = std::min(n, r.missing);
  r.missing -= from_missing;
  r.bytes = r.bytes.first(r.bytes.size() - (n - from_missing));
}

// [from, to) of r, with r.off <= from <= to <= run_end(r).
Run slice(const Run& r, uint64_t from, uint64_t to) {
  Run s = r;
  trim_front(s, from - r.off);
  trim_back(s, run_end(r) - to);
  return s;
}

// An out-of-order run waiting in a buffer, owning a copy of its bytes.
struct Piece {
  uint64_t off = 0;
  uint64_t ts_ns = 0;
  std::vector<uint8_t> bytes;
  uint64_t missing = 0;
};

Run view(const Piece& p) { return {p.off, p.ts_ns, p.bytes, p.missing}; }
Piece own(const Run& r) { return {r.off, r.ts_ns, {r.bytes.begin(), r.bytes.end()}, r.missing}; }
uint64_t piece_end(const Piece& p) { return p.off + p.bytes.size() + p.missing; }
size_t piece_cost(const Piece& p) { return p.bytes.size() + kBufferedSegmentOverhead; }
size_t run_cost(const Run& r) { return r.bytes.size() + kBufferedSegmentOverhead; }

// A connection's endpoints in canonical order (lo < hi), whoever sent the segment.
struct FlowKey {
  Endpoint lo;
  Endpoint hi;
  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};

struct FlowKeyHash {
  size_t operator()(const FlowKey& flow) const noexcept {
    return ConnKeyHash{}(ConnKey{flow.lo, flow.hi});
  }
};

// One direction: the bytes one endpoint sends.
struct HalfStream {
  bool started = false;
  uint32_t start_seq = 0;  // sequence number of stream offset 0
  uint32_t next_seq = 0;   // next expected sequence number
  uint64_t next_off = 0;   // its stream offset: bytes delivered or gapped so far
  bool syn_seen = false;
  uint32_t syn_seq = 0;
  bool fin_seen = false;
  uint64_t fin_off = 0;
  std::map<uint64_t, Piece> pending;  // out of order, by offset: disjoint, all beyond next_off
};

struct Conn {
  FlowKey flow;
  HalfStream half[2];  // half[i]: bytes sent by endpoint i (0 = flow.lo, 1 = flow.hi)
  int client = -1;     // index of the client endpoint; -1 while unknown
  ConnKey key;         // valid once announced
  bool announced = false;
  bool closed = false;
  uint64_t first_ts = 0;
  uint64_t last_seen_ts = 0;   // latest capture timestamp of its segments
  uint64_t last_activity = 0;  // the reassembler's clock at its last segment (LRU order)
  size_t buffered = 0;         // cost of both halves' pending pieces
  std::list<Conn*>::iterator lru;
};

const Endpoint& endpoint(const FlowKey& flow, int index) { return index == 0 ? flow.lo : flow.hi; }

bool looks_like_http_request(std::span<const uint8_t> p) {
  size_t n = 0;
  while (n < p.size() && n <= 16 && ((p[n] >= 'A' && p[n] <= 'Z') || p[n] == '-' || p[n] == '_')) {
    ++n;
  }
  return n >= 3 && n <= 16 && n < p.size() && p[n] == ' ';
}

bool looks_like_http_response(std::span<const uint8_t> p) {
  return p.size() >= 5 && std::memcmp(p.data(), "HTTP/", 5) == 0;
}

}  // namespace

class TcpReassembler::Impl {
 public:
  Impl(StreamSink& sink, ReassemblyLimits limits) : sink_(sink), limits_(limits) {
    limits_.closed_linger_ns = std::min(limits_.closed_linger_ns, limits_.idle_timeout_ns);
    limits_.max_connections = std::max<size_t>(limits_.max_connections, 1);
  }

  void process(const TcpSegment& seg);
  void finish();

  ReassemblyCounters counters_;
  size_t buffered_total_ = 0;
  std::unordered_map<FlowKey, Conn, FlowKeyHash> conns_;

 private:
  Direction direction(const Conn& c, int index) const {
    return index == c.client ? Direction::client_to_server : Direction::server_to_client;
  }

  void touch(Conn& c, uint64_t ts_ns);
  void erase(Conn& c);
  void expire();
  void make_room();
  void decide_direction(Conn& c, int from, const TcpSegment& seg);
  void announce(Conn& c);
  void close(Conn& c, uint64_t ts_ns, CloseReason reason);
  void maybe_close_fin(Conn& c, uint64_t ts_ns);

  void start(HalfStream& h, uint32_t seq);
  void advance(HalfStream& h, uint64_t n);
  void release(Conn& c, size_t cost);
  void deliver(Conn& c, int index, const Run& r);
  void emit_gap(Conn& c, int index, uint64_t ts_ns, uint64_t n);
  void drain(Conn& c, int index);
  void flush_to(Conn& c, int index, uint64_t target, uint64_t ts_ns);
  void deliver_in_order(Conn& c, int index, Run r);
  void add_data(Conn& c, int index, uint32_t seq, const TcpSegment& seg);
  void ack_advance(Conn& c, int index, uint32_t ack, uint64_t ts_ns);
  void note_fin(Conn& c, int index, uint32_t fin_seq);

  StreamSink& sink_;
  ReassemblyLimits limits_;
  std::list<Conn*> lru_;  // least recently active first
  uint64_t now_ = 0;      // the latest capture timestamp seen
};

void TcpReassembler::Impl::touch(Conn& c, uint64_t ts_ns) {
  c.last_activity = now_;
  c.last_seen_ts = std::max(c.last_seen_ts, ts_ns);
  lru_.splice(lru_.end(), lru_, c.lru);
}

void TcpReassembler::Impl::erase(Conn& c) {
  for (HalfStream& h : c.half) {
    for (const auto& [off, piece] : h.pending) release(c, piece_cost(piece));
  }
  lru_.erase(c.lru);
  const FlowKey flow = c.flow;
  conns_.erase(flow);
}

void TcpReassembler::Impl::expire() {
  while (!lru_.empty()) {
    Conn& c = *lru_.front();
    const uint64_t idle = now_ - c.last_activity;
    if (c.closed) {
      if (idle < limits_.closed_linger_ns) break;
    } else {
      if (idle < limits_.idle_timeout_ns) break;
      close(c, c.last_seen_ts, CloseReason::timeout);
    }
    erase(c);
  }
}

void TcpReassembler::Impl::make_room() {
  while (conns_.size() >= limits_.max_connections && !lru_.empty()) {
    Conn& c = *lru_.front();
    if (!c.closed) close(c, c.last_seen_ts, CloseReason::evicted);
    erase(c);
  }
}

void TcpReassembler::Impl::decide_direction(Conn& c, int from, const TcpSegment& seg) {
  if (looks_like_http_request(seg.payload)) {
    c.client = from;
    ++counters_.direction_by_http;
  } else if (looks_like_http_response(seg.payload)) {
    c.client = 1 - from;
    ++counters_.direction_by_http;
  }
  // Otherwise announce() falls back to the port rule.
}

void TcpReassembler::Impl::announce(Conn& c) {
  if (c.announced) return;
  if (c.client < 0) {
    const uint16_t lo_port = c.flow.lo.port;
    const uint16_t hi_port = c.flow.hi.port;
    int server = lo_port < hi_port ? 0 : 1;
    if (lo_port == hi_port) server = c.half[0].started && !c.half[1].started ? 1 : 0;
    c.client = 1 - server;
    ++counters_.direction_by_port;
  }
  c.key = ConnKey{endpoint(c.flow, c.client), endpoint(c.flow, 1 - c.client)};
  c.announced = true;
  ++counters_.connections_opened;
  if (!c.half[0].syn_seen && !c.half[1].syn_seen) ++counters_.midstream_pickups;
  sink_.on_open(c.key, c.first_ts);
}

void TcpReassembler::Impl::close(Conn& c, uint64_t ts_ns, CloseReason reason) {
  if (c.closed) return;
  if (c.announced) {
    for (int i = 0; i < 2; ++i) {
      HalfStream& h = c.half[i];
      if (!h.started) continue;
      uint64_t target = h.fin_seen ? h.fin_off : 0;
      if (!h.pending.empty()) target = std::max(target, piece_end(h.pending.rbegin()->second));
      flush_to(c, i, target, ts_ns);
    }
    switch (reason) {
      case CloseReason::fin: ++counters_.closed_fin; break;
      case CloseReason::reset: ++counters_.closed_reset; break;
      case CloseReason::timeout: ++counters_.closed_timeout; break;
      case CloseReason::evicted: ++counters_.closed_evicted; break;
      case CloseReason::reused: ++counters_.closed_reused; break;
      case CloseReason::end_of_capture: ++counters_.closed_end_of_capture; break;
    }
    sink_.on_close(c.key, ts_ns, reason);
  } else {
    ++counters_.connections_silent;
  }
  for (HalfStream& h : c.half) {
    for (const auto& [off, piece] : h.pending) release(c, piece_cost(piece));
    h.pending.clear();
  }
  c.closed = true;
}

void TcpReassembler::Impl::maybe_close_fin(Conn& c, uint64_t ts_ns) {
  if (c.closed) return;
  for (const HalfStream& h : c.half) {
    if (!h.fin_seen || h.next_off < h.fin_off) return;
  }
  close(c, ts_ns, CloseReason::fin);
}

void TcpReassembler::Impl::start(HalfStream& h, uint32_t seq) {
  h.started = true;
  h.start_seq = seq;
  h.next_seq = seq;
  h.next_off = 0;
}

void TcpReassembler::Impl::advance(HalfStream& h, uint64_t n) {
  h.next_off += n;
  h.next_seq += static_cast<uint32_t>(n);
}

void TcpReassembler::Impl::release(Conn& c, size_t cost) {
  c.buffered -= cost;
  buffered_total_ -= cost;
}

void TcpReassembler::Impl::deliver(Conn& c, int index, const Run& r) {
  HalfStream& h = c.half[index];
  if (!r.bytes.empty()) {
    counters_.bytes_delivered += r.bytes.size();
    advance(h, r.bytes.size());
    sink_.on_data(c.key, direction(c, index), r.ts_ns, r.bytes);
  }
  if (r.missing > 0) emit_gap(c, index, r.ts_ns, r.missing);
}

void TcpReassembler::Impl::emit_gap(Conn& c, int index, uint64_t ts_ns, uint64_t n) {
  ++counters_.gaps;
  counters_.gap_bytes += n;
  advance(c.half[index], n);
  sink_.on_gap(c.key, direction(c, index), ts_ns, n);
}

// Delivers pending pieces that have become contiguous with the stream.
void TcpReassembler::Impl::drain(Conn& c, int index) {
  HalfStream& h = c.half[index];
  while (!h.pending.empty() && h.pending.begin()->first <= h.next_off) {
    const Piece p = std::move(h.pending.begin()->second);
    h.pending.erase(h.pending.begin());
    release(c, piece_cost(p));
    Run r = view(p);
    if (run_end(r) <= h.next_off) {
      counters_.overlap_bytes += run_len(r);
      continue;
    }
    if (r.off < h.next_off) {
      counters_.overlap_bytes += h.next_off - r.off;
      trim_front(r, h.next_off - r.off);
    }
    deliver(c, index, r);
  }
}

// Moves the stream to `target`: buffered pieces are delivered, holes become gaps.
void TcpReassembler::Impl::flush_to(Conn& c, int index, uint64_t target, uint64_t ts_ns) {
  HalfStream& h = c.half[index];
  drain(c, index);
  while (h.next_off < target) {
    uint64_t stop = target;
    if (!h.pending.empty()) stop = std::min(stop, h.pending.begin()->first);
    emit_gap(c, index, ts_ns, stop - h.next_off);
    drain(c, index);
  }
}

// r.off == next_off. Bytes already buffered for a range win over r's (first seen).
void TcpReassembler::Impl::deliver_in_order(Conn& c, int index, Run r) {
  HalfStream& h = c.half[index];
  for (;;) {
    const uint64_t next_pending =
        h.pending.empty() ? std::numeric_limits<uint64_t>::max() : h.pending.begin()->first;
    if (run_end(r) <= next_pending) {
      deliver(c, index, r);
      drain(c, index);
      return;
    }
    deliver(c, index, slice(r, r.off, next_pending));
    drain(c, index);
    const uint64_t covered_end = std::min(run_end(r), h.next_off);
    counters_.overlap_bytes += covered_end - next_pending;
    if (run_end(r) <= h.next_off) return;
    trim_front(r, h.next_off - r.off);
  }
}

void TcpReassembler::Impl::add_data(Conn& c, int index, uint32_t seq, const TcpSegment& seg) {
  HalfStream& h = c.half[index];
  const uint64_t wire = seg.payload_wire_len;
  int64_t diff = static_cast<int32_t>(seq - h.next_seq);
  if (diff > kMaxWindow) {
    ++counters_.out_of_window_segments;
    return;
  }
  if (diff + static_cast<int64_t>(wire) <= 0) {
    ++counters_.retransmitted_segments;
    counters_.retransmitted_bytes += wire;
    return;
  }
  Run r;
  r.ts_ns = seg.ts_ns;
  r.bytes = seg.payload.first(std::min<size_t>(seg.payload.size(), wire));
  r.missing = wire - r.bytes.size();
  if (diff < 0) {
    counters_.overlap_bytes += static_cast<uint64_t>(-diff);
    trim_front(r, static_cast<uint64_t>(-diff));
    diff = 0;
  }
  r.off = h.next_off + static_cast<uint64_t>(diff);
  if (h.fin_seen && run_end(r) > h.fin_off) {
    const uint64_t beyond = std::min(run_end(r) - h.fin_off, run_len(r));
    counters_.data_after_fin_bytes += beyond;
    if (beyond == run_len(r)) return;
    trim_back(r, beyond);
  }

  for (;;) {
    if (r.off <= h.next_off) {
      if (run_end(r) <= h.next_off) {
        counters_.overlap_bytes += run_len(r);
        return;
      }
      counters_.overlap_bytes += h.next_off - r.off;
      trim_front(r, h.next_off - r.off);
      deliver_in_order(c, index, r);  // no copy: straight from the segment
      return;
    }
    // Out of order: buffer the parts not already buffered.
    std::vector<Run> parts;
    uint64_t cursor = r.off;
    auto it = h.pending.upper_bound(r.off);
    if (it != h.pending.begin()) --it;
    for (; it != h.pending.end() && it->first < run_end(r); ++it) {
      const uint64_t q_end = piece_end(it->second);
      if (q_end <= cursor) continue;
      if (it->first > cursor) parts.push_back(slice(r, cursor, it->first));
      cursor = std::max(cursor, q_end);
    }
    if (cursor < run_end(r)) parts.push_back(slice(r, cursor, run_end(r)));
    if (parts.empty()) {
      ++counters_.retransmitted_segments;
      counters_.retransmitted_bytes += run_len(r);
      return;
    }
    size_t cost = 0;
    uint64_t new_len = 0;
    for (const Run& part : parts) {
      cost += run_cost(part);
      new_len += run_len(part);
    }
    if (c.buffered + cost > limits_.max_buffered_bytes_per_conn) {
      // Give up the first hole of this direction to make room, then look again.
      ++counters_.buffer_forced_skips;
      uint64_t target = r.off;
      if (!h.pending.empty()) target = std::min(target, h.pending.begin()->first);
      flush_to(c, index, target, seg.ts_ns);
      continue;
    }
    if (buffered_total_ + cost > limits_.max_buffered_bytes_total) {
      ++counters_.buffer_dropped_segments;
      counters_.buffer_dropped_bytes += run_len(r);
      return;
    }
    counters_.overlap_bytes += run_len(r) - new_len;
    ++counters_.out_of_order_segments;
    for (const Run& part : parts) {
      c.buffered += run_cost(part);
      buffered_total_ += run_cost(part);
      h.pending.emplace(part.off, own(part));
    }
    return;
  }
}

// The peer acknowledged up to `ack`: bytes before it reached the peer, so any we lack are gone.
void TcpReassembler::Impl::ack_advance(Conn& c, int index, uint32_t ack, uint64_t ts_ns) {
  HalfStream& h = c.half[index];
  const int64_t diff = static_cast<int32_t>(ack - h.next_seq);
  if (diff <= 0 || diff > kMaxWindow) return;
  uint64_t target = h.next_off + static_cast<uint64_t>(diff);
  if (h.fin_seen) target = std::min(target, h.fin_off);  // the FIN takes a sequence number
  if (target <= h.next_off) return;
  flush_to(c, index, target, ts_ns);
}

void TcpReassembler::Impl::note_fin(Conn& c, int index, uint32_t fin_seq) {
  HalfStream& h = c.half[index];
  if (h.fin_seen) return;
  const int64_t diff = static_cast<int32_t>(fin_seq - h.next_seq);
  if (diff > kMaxWindow) return;
  h.fin_seen = true;
  h.fin_off = h.next_off + static_cast<uint64_t>(std::max<int64_t>(diff, 0));
}

void TcpReassembler::Impl::process(const TcpSegment& seg) {
  ++counters_.segments;
  now_ = std::max(now_, seg.ts_ns);
  expire();

  const Endpoint src{seg.src, seg.src_port};
  const Endpoint dst{seg.dst, seg.dst_port};
  if (src == dst) {
    ++counters_.self_connection_segments;
    return;
  }
  const int from = src < dst ? 0 : 1;
  const FlowKey flow = from == 0 ? FlowKey{src, dst} : FlowKey{dst, src};
  const bool syn = (seg.flags & tcp_flag::syn) != 0;
  const bool ack = (seg.flags & tcp_flag::ack) != 0;
  const bool fin = (seg.flags & tcp_flag::fin) != 0;
  const bool rst = (seg.flags & tcp_flag::rst) != 0;

  auto it = conns_.find(flow);
  if (it != conns_.end()) {
    Conn& old = it->second;
    const HalfStream& h = old.half[from];
    const bool same_syn = h.syn_seen ? h.syn_seq == seg.seq
                                     : h.started && h.start_seq == seg.seq + 1;
    if (old.closed) {
      if ((syn && !ack) || now_ - old.last_activity >= limits_.closed_linger_ns) {
        erase(old);
        it = conns_.end();
      } else {
        ++counters_.segments_after_close;
        return;
      }
    } else if (syn && !ack && !same_syn) {
      close(old, seg.ts_ns, CloseReason::reused);
      erase(old);
      it = conns_.end();
    }
  }
  if (it == conns_.end()) {
    if (rst) {
      ++counters_.rst_without_connection;
      return;
    }
    make_room();
    it = conns_.emplace(flow, Conn{}).first;
    Conn& fresh = it->second;
    fresh.flow = flow;
    fresh.first_ts = seg.ts_ns;
    fresh.last_seen_ts = seg.ts_ns;
    fresh.lru = lru_.insert(lru_.end(), &fresh);
  }

  Conn& c = it->second;
  touch(c, seg.ts_ns);
  HalfStream& h = c.half[from];
  HalfStream& peer = c.half[1 - from];

  if (syn) {
    if (c.client < 0) {
      c.client = ack ? 1 - from : from;
      ++counters_.direction_by_syn;
    }
    if (!h.started) {
      start(h, seg.seq + 1);
      h.syn_seen = true;
      h.syn_seq = seg.seq;
    }
    if (ack && !peer.started) start(peer, seg.ack);  // where the client's bytes begin
    announce(c);
  }
  if (rst) {
    close(c, seg.ts_ns, CloseReason::reset);
    return;
  }
  if (ack && peer.started && c.announced) ack_advance(c, 1 - from, seg.ack, seg.ts_ns);

  const uint32_t data_seq = seg.seq + (syn ? 1 : 0);
  if (seg.payload_wire_len > 0 || fin) {
    if (!h.started) start(h, data_seq);
    if (seg.payload_wire_len > 0) {
      if (c.client < 0) decide_direction(c, from, seg);
      announce(c);
      add_data(c, from, data_seq, seg);
    }
    if (fin) note_fin(c, from, data_seq + seg.payload_wire_len);
  }
  maybe_close_fin(c, seg.ts_ns);
}

void TcpReassembler::Impl::finish() {
  while (!lru_.empty()) {
    Conn& c = *lru_.front();
    close(c, c.last_seen_ts, CloseReason::end_of_capture);
    erase(c);
  }
}

TcpReassembler::TcpReassembler(StreamSink& sink, ReassemblyLimits limits)
    : impl_(std::make_unique<Impl>(sink, limits)) {}

TcpReassembler::~TcpReassembler() = default;

void TcpReassembler::process(const TcpSegment& segment) { impl_->process(segment); }
void TcpReassembler::finish() { impl_->finish(); }
const ReassemblyCounters& TcpReassembler::counters() const { return impl_->counters_; }
size_t TcpReassembler::connection_count() const { return impl_->conns_.size(); }
size_t TcpReassembler::buffered_bytes() const { return impl_->buffered_total_; }

}  // namespace difftrace::replay
