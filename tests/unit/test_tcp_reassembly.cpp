// [tcp] TCP reassembly: ordering, retransmission, overlap, gaps, SYN/FIN/RST, mid-stream pickup,
// limits, timeouts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <random>

#include "replay/tcp_reassembly.h"
#include "test_pcap_support.h"

using namespace difftrace::replay;
using namespace difftrace::replay::test;

namespace {

constexpr uint8_t kAck = tcp_flag::ack;
constexpr uint8_t kPsh = tcp_flag::psh;
constexpr uint8_t kSyn = tcp_flag::syn;
constexpr uint8_t kFin = tcp_flag::fin;
constexpr uint8_t kRst = tcp_flag::rst;

// A segment of the test connection between client 10.0.0.1:40000 and server 10.0.0.2:80.
// Sequence numbers are relative to each side's first data byte (client ISN 1000, server 5000),
// so -1 is the SYN. `ack`, relative to the peer's first data byte, defaults to 0.
struct Seg {
  bool from_client = true;
  int64_t rel_seq = 0;
  std::string payload;
  uint8_t flags = kAck | kPsh;
  int64_t rel_ack = 0;
  uint64_t ts_ns = 0;
  uint32_t wire_len = 0;  // > payload.size(): snaplen cut
  uint16_t client_port = 40000;
};

constexpr uint32_t kClientIsn = 1000;
constexpr uint32_t kServerIsn = 5000;

Seg C(int64_t rel_seq, std::string payload, uint8_t flags = kAck | kPsh, int64_t rel_ack = 0) {
  return {true, rel_seq, std::move(payload), flags, rel_ack};
}
Seg S(int64_t rel_seq, std::string payload, uint8_t flags = kAck | kPsh, int64_t rel_ack = 0) {
  return {false, rel_seq, std::move(payload), flags, rel_ack};
}
Seg syn() { return {true, -1, "", kSyn, 0}; }
Seg syn_ack() { return {false, -1, "", kSyn | kAck, 0}; }

TcpSegment to_segment(const Seg& s, uint64_t default_ts) {
  TcpSegment t;
  const Endpoint client{parse_ip("10.0.0.1"), s.client_port};
  const Endpoint server{parse_ip("10.0.0.2"), 80};
  const Endpoint& src = s.from_client ? client : server;
  const Endpoint& dst = s.from_client ? server : client;
  t.src = src.addr;
  t.src_port = src.port;
  t.dst = dst.addr;
  t.dst_port = dst.port;
  const uint32_t own_base = (s.from_client ? kClientIsn : kServerIsn) + 1;
  const uint32_t peer_base = (s.from_client ? kServerIsn : kClientIsn) + 1;
  t.seq = own_base + static_cast<uint32_t>(s.rel_seq);
  t.ack = (s.flags & kAck) != 0 ? peer_base + static_cast<uint32_t>(s.rel_ack) : 0;
  t.flags = s.flags;
  t.ts_ns = s.ts_ns != 0 ? s.ts_ns : default_ts;
  t.payload = {reinterpret_cast<const uint8_t*>(s.payload.data()), s.payload.size()};
  t.payload_wire_len = std::max<uint32_t>(s.wire_len, static_cast<uint32_t>(s.payload.size()));
  t.truncated = t.payload.size() < t.payload_wire_len;
  return t;
}

struct Run {
  RecordingSink sink;
  ReassemblyCounters counters;
};

// Feeds the segments (timestamps 1 ms apart unless given) and finishes.
std::unique_ptr<Run> run(const std::vector<Seg>& segs, ReassemblyLimits limits = {},
                         bool finish = true) {
  auto r = std::make_unique<Run>();
  TcpReassembler reassembler(r->sink, limits);
  uint64_t ts = 1'000'000'000;
  for (const Seg& s : segs) {
    ts += 1'000'000;
    reassembler.process(to_segment(s, ts));
  }
  if (finish) reassembler.finish();
  r->counters = reassembler.counters();
  return r;
}

std::vector<std::string> events(const Run& r) { return r.sink.events; }

}  // namespace

TEST_CASE("handshake, request, response and FINs give open, data, close", "[tcp]") {
  auto r = run({
      syn(),
      syn_ack(),
      C(0, "", kAck),
      C(0, "GET / HTTP/1.1\r\n\r\n"),
      S(0, "HTTP/1.1 200 OK\r\n\r\n", kAck | kPsh, 18),
      C(18, "", kAck | kFin, 19),
      S(19, "", kAck | kFin, 19),
      C(19, "", kAck, 20),
  }, {}, /*finish=*/false);
  CHECK(events(*r) == std::vector<std::string>{"open 10.0.0.1:40000 -> 10.0.0.2:80",
                                               "data c2s 18", "data s2c 19", "close fin"});
  const auto& c = r->sink.conns.at(0);
  CHECK(c.c2s == "GET / HTTP/1.1\r\n\r\n");
  CHECK(c.s2c == "HTTP/1.1 200 OK\r\n\r\n");
  CHECK(c.open_ts == 1'001'000'000);
  CHECK(c.close_ts == 1'007'000'000);  // the server's FIN completed it
  CHECK(r->counters.closed_fin == 1);
  CHECK(r->counters.segments_after_close == 1);  // the final ACK
  CHECK(r->counters.direction_by_syn == 1);
  CHECK(r->counters.midstream_pickups == 0);
}

TEST_CASE("segment orderings, duplicates and overlaps give the first-seen stream", "[tcp]") {
  struct OrderCase {
    const char* name;
    std::vector<Seg> client;
    std::string expected;
    uint64_t retransmitted_segments;
    uint64_t overlap_bytes;
  };
  const std::vector<OrderCase> cases = {
      {"in order", {C(0, "AAAA"), C(4, "BBBB"), C(8, "CCCC")}, "AAAABBBBCCCC", 0, 0},
      {"reversed", {C(8, "CCCC"), C(4, "BBBB"), C(0, "AAAA")}, "AAAABBBBCCCC", 0, 0},
      {"middle swapped", {C(0, "AAAA"), C(8, "CCCC"), C(4, "BBBB")}, "AAAABBBBCCCC", 0, 0},
      {"duplicate delivered segment", {C(0, "AAAA"), C(0, "AAAA"), C(4, "BBBB")}, "AAAABBBB", 1, 0},
      {"duplicate buffered segment", {C(0, "AAAA"), C(8, "CCCC"), C(8, "CCCC"), C(4, "BBBB")},
       "AAAABBBBCCCC", 1, 0},
      {"retransmission spanning two segments",
       {C(0, "AAAA"), C(4, "BBBB"), C(0, "AAAABBBB"), C(8, "CCCC")}, "AAAABBBBCCCC", 1, 0},
      {"overlap with delivered bytes keeps the first", {C(0, "AAAA"), C(2, "xxBBBB")}, "AAAABBBB",
       0, 2},
      {"overlap with buffered bytes keeps the first",
       {C(0, "AAAA"), C(8, "CCCC"), C(4, "BBBBxxxxDD")}, "AAAABBBBCCCCDD", 0, 4},
      {"segment covering a buffered one", {C(8, "CC"), C(0, "AAAABBBBxxyy")}, "AAAABBBBCCyy", 0,
       2},
      {"two buffered pieces and a filler spanning both",
       {C(4, "BB"), C(8, "DD"), C(0, "AAAAxxCCxxEE")}, "AAAABBCCDDEE", 0, 4},
  };
  for (const OrderCase& c : cases) {
    SECTION(c.name) {
      std::vector<Seg> segs = {syn(), syn_ack()};
      segs.insert(segs.end(), c.client.begin(), c.client.end());
      auto r = run(segs);
      REQUIRE(r->sink.conns.size() == 1);
      CHECK(r->sink.conns[0].c2s == c.expected);
      CHECK(r->counters.gaps == 0);
      CHECK(r->counters.retransmitted_segments == c.retransmitted_segments);
      CHECK(r->counters.overlap_bytes == c.overlap_bytes);
      CHECK(r->counters.bytes_delivered == c.expected.size());
    }
  }
}

TEST_CASE("buffered bytes carry their own capture timestamps", "[tcp]") {
  Seg late = C(0, "AAAA");
  late.ts_ns = 50;
  Seg early = C(4, "BBBB");
  early.ts_ns = 40;
  auto r = run({syn(), syn_ack(), early, late});
  const auto& c = r->sink.conns.at(0);
  CHECK(c.c2s == "AAAABBBB");
  CHECK(c.c2s_data_ts == std::vector<uint64_t>{50, 40});
}

TEST_CASE("missing bytes become gaps, never data", "[tcp]") {
  SECTION("the peer acknowledged past the hole") {
    auto r = run({syn(), syn_ack(), C(0, "AAAA"), C(8, "CCCC"), S(0, "resp", kAck | kPsh, 12),
                  C(12, "DD")}, {}, false);
    CHECK(events(*r) == std::vector<std::string>{"open 10.0.0.1:40000 -> 10.0.0.2:80",
                                                 "data c2s 4", "gap c2s 4", "data c2s 4",
                                                 "data s2c 4", "data c2s 2"});
    CHECK(r->sink.conns[0].c2s == "AAAA[gap 4]CCCCDD");
    CHECK(r->counters.gap_bytes == 4);
  }
  SECTION("the acknowledgment reaches beyond everything captured") {
    auto r = run({syn(), syn_ack(), C(0, "AAAA"), S(0, "", kAck, 10), C(10, "BB")});
    CHECK(r->sink.conns.at(0).c2s == "AAAA[gap 6]BB");
  }
  SECTION("a FIN after the hole, acknowledged by the peer's FIN") {
    auto r = run({syn(), syn_ack(), C(0, "AAAA"), C(8, "CCCC", kAck | kPsh | kFin),
                  S(0, "", kAck | kFin, 13), C(13, "", kAck, 1)}, {}, false);
    const auto& c = r->sink.conns.at(0);
    CHECK(c.c2s == "AAAA[gap 4]CCCC");
    CHECK(c.reason == CloseReason::fin);
  }
  SECTION("end of capture with the hole still open") {
    auto r = run({syn(), syn_ack(), C(0, "AAAA"), C(8, "CCCC"), C(16, "EE")});
    const auto& c = r->sink.conns.at(0);
    CHECK(c.c2s == "AAAA[gap 4]CCCC[gap 4]EE");
    CHECK(c.reason == CloseReason::end_of_capture);
    CHECK(c.close_ts == 1'005'000'000);  // its last segment
    CHECK(r->counters.gaps == 2);
  }
  SECTION("a FIN whose data was never captured") {
    auto r = run({syn(), syn_ack(), C(0, "AAAA"), C(10, "", kAck | kFin)});
    CHECK(r->sink.conns.at(0).c2s == "AAAA[gap 6]");
  }
}

TEST_CASE("snaplen-cut segments deliver what was captured and gap the rest", "[tcp]") {
  Seg cut = C(4, "BB");
  cut.wire_len = 4;
  SECTION("in order") {
    auto r = run({syn(), syn_ack(), C(0, "AAAA"), cut, C(8, "CCCC")});
    CHECK(r->sink.conns.at(0).c2s == "AAAABB[gap 2]CCCC");
  }
  SECTION("out of order") {
    auto r = run({syn(), syn_ack(), C(8, "CCCC"), cut, C(0, "AAAA")});
    CHECK(r->sink.conns.at(0).c2s == "AAAABB[gap 2]CCCC");
  }
  SECTION("nothing of the payload captured") {
    Seg none = C(4, "");
    none.wire_len = 4;
    auto r = run({syn(), syn_ack(), C(0, "AAAA"), none, C(8, "CCCC")});
    CHECK(r->sink.conns.at(0).c2s == "AAAA[gap 4]CCCC");
  }
  SECTION("a complete retransmission does not refill a cut range") {
    auto r = run({syn(), syn_ack(), C(0, "AAAA"), cut, C(4, "BBBB"), C(8, "CC")});
    CHECK(r->sink.conns.at(0).c2s == "AAAABB[gap 2]CC");
  }
}

TEST_CASE("RST closes the connection with reset", "[tcp]") {
  SECTION("after a request") {
    auto r = run({syn(), syn_ack(), C(0, "GET / HTTP/1.1\r\n\r\n"), S(0, "", kRst | kAck, 18),
                  S(0, "late"), C(18, "more")}, {}, false);
    CHECK(events(*r) == std::vector<std::string>{"open 10.0.0.1:40000 -> 10.0.0.2:80",
                                                 "data c2s 18", "close reset"});
    CHECK(r->counters.closed_reset == 1);
    CHECK(r->counters.segments_after_close == 2);
  }
  SECTION("buffered bytes are delivered, holes gapped, before the close") {
    auto r = run({syn(), syn_ack(), C(0, "AA"), C(4, "CC"), C(6, "", kRst)});
    CHECK(r->sink.conns.at(0).c2s == "AA[gap 2]CC");
    CHECK(r->sink.events.back() == "close reset");
  }
  SECTION("a refused connection: SYN then RST") {
    auto r = run({syn(), S(-1 - static_cast<int64_t>(kServerIsn), "", kRst | kAck, 0)});
    CHECK(events(*r) == std::vector<std::string>{"open 10.0.0.1:40000 -> 10.0.0.2:80",
                                                 "close reset"});
  }
  SECTION("a RST for no known connection is ignored") {
    auto r = run({S(0, "", kRst)});
    CHECK(r->sink.events.empty());
    CHECK(r->counters.rst_without_connection == 1);
  }
}

TEST_CASE("connections open before the capture are picked up mid-stream", "[tcp]") {
  struct Endpoints {
    std::string a;
    uint16_t a_port;
    std::string b;
    uint16_t b_port;
  };
  struct PickupCase {
    const char* name;
    uint16_t first_sender_port;  // the first payload's source port
    uint16_t other_port;
    std::string first_payload;
    std::string expected_key;
    uint64_t by_http;
    uint64_t by_port;
  };
  const std::vector<PickupCase> cases = {
      {"HTTP request from the high port", 51000, 8080, "GET /x HTTP/1.1\r\n",
       "10.0.0.1:51000 -> 10.0.0.2:8080", 1, 0},
      {"HTTP request from the low port wins over the port rule", 80, 40000, "POST /y HTTP/1.1\r\n",
       "10.0.0.1:80 -> 10.0.0.2:40000", 1, 0},
      {"HTTP response first: its sender is the server", 80, 40000, "HTTP/1.1 200 OK\r\n",
       "10.0.0.2:40000 -> 10.0.0.1:80", 1, 0},
      {"HTTP/2 preface is a request", 50000, 9000, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
       "10.0.0.1:50000 -> 10.0.0.2:9000", 1, 0},
      {"not HTTP: the lower port is the server", 5432, 50000, "\x00\x00\x00\x08\x04\xd2\x16\x2f",
       "10.0.0.2:50000 -> 10.0.0.1:5432", 0, 1},
      {"lower-case method is not HTTP", 50000, 6379, "get key\r\n",
       "10.0.0.1:50000 -> 10.0.0.2:6379", 0, 1},
  };
  for (const PickupCase& c : cases) {
    SECTION(c.name) {
      RecordingSink sink;
      TcpReassembler reassembler(sink);
      TcpSegment first;
      first.ts_ns = 10;
      first.src = parse_ip("10.0.0.1");
      first.src_port = c.first_sender_port;
      first.dst = parse_ip("10.0.0.2");
      first.dst_port = c.other_port;
      first.seq = 777777;
      first.ack = 123;
      first.flags = kAck | kPsh;
      first.payload = {reinterpret_cast<const uint8_t*>(c.first_payload.data()),
                       c.first_payload.size()};
      first.payload_wire_len = static_cast<uint32_t>(c.first_payload.size());
      reassembler.process(first);
      TcpSegment reply = first;
      std::swap(reply.src, reply.dst);
      std::swap(reply.src_port, reply.dst_port);
      reply.seq = 123;
      reply.ack = 777777 + first.payload_wire_len;
      const std::string reply_payload = "reply";
      reply.payload = {reinterpret_cast<const uint8_t*>(reply_payload.data()), 5};
      reply.payload_wire_len = 5;
      reply.ts_ns = 20;
      reassembler.process(reply);
      reassembler.finish();
      REQUIRE(sink.conns.size() == 1);
      CHECK(to_string(sink.conns[0].key) == c.expected_key);
      const bool first_is_client = sink.conns[0].key.client.port == c.first_sender_port;
      CHECK((first_is_client ? sink.conns[0].c2s : sink.conns[0].s2c) == c.first_payload);
      CHECK((first_is_client ? sink.conns[0].s2c : sink.conns[0].c2s) == "reply");
      CHECK(sink.conns[0].open_ts == 10);
      CHECK(reassembler.counters().midstream_pickups == 1);
      CHECK(reassembler.counters().direction_by_http == c.by_http);
      CHECK(reassembler.counters().direction_by_port == c.by_port);
      CHECK(reassembler.counters().gaps == 0);
    }
  }
}

TEST_CASE("mid-stream details", "[tcp]") {
  SECTION("starts at the first seen sequence number; earlier bytes are old") {
    auto r = run({C(100, "GET /a HTTP/1.1\r\n\r\n"), C(90, "0123456789"), C(119, "X"),
                  S(7, "HTTP/1.1 204 No Content\r\n\r\n", kAck | kPsh, 120)});
    const auto& c = r->sink.conns.at(0);
    CHECK(c.c2s == "GET /a HTTP/1.1\r\n\r\nX");
    CHECK(c.s2c == "HTTP/1.1 204 No Content\r\n\r\n");
    CHECK(r->counters.retransmitted_segments == 1);
    CHECK(r->counters.gaps == 0);
  }
  SECTION("SYN missed, SYN-ACK seen: the client's bytes start at its acknowledgment") {
    auto r = run({syn_ack(), C(0, "", kAck), C(4, "BBBB"), C(0, "AAAA")});
    CHECK(to_string(r->sink.conns.at(0).key) == "10.0.0.1:40000 -> 10.0.0.2:80");
    CHECK(r->sink.conns.at(0).c2s == "AAAABBBB");
    CHECK(r->counters.midstream_pickups == 0);
  }
  SECTION("only pure ACKs: no events at all") {
    auto r = run({C(5, "", kAck, 9), S(9, "", kAck, 5), C(5, "", kAck, 9)});
    CHECK(r->sink.events.empty());
    CHECK(r->counters.connections_silent == 1);
  }
}

TEST_CASE("closing: half-close, FIN details, late segments", "[tcp]") {
  SECTION("the server keeps sending after the client's FIN") {
    auto r = run({syn(), syn_ack(), C(0, "req"), C(3, "", kAck | kFin), S(0, "part1 ", kAck, 4),
                  S(6, "part2", kAck | kPsh | kFin, 4), C(4, "", kAck, 12)}, {}, false);
    const auto& c = r->sink.conns.at(0);
    CHECK(c.c2s == "req");
    CHECK(c.s2c == "part1 part2");
    CHECK(c.reason == CloseReason::fin);
  }
  SECTION("bytes beyond a FIN are ignored") {
    auto r = run({syn(), syn_ack(), C(0, "abc", kAck | kFin), C(3, "zzz")});
    CHECK(r->sink.conns.at(0).c2s == "abc");
    CHECK(r->counters.data_after_fin_bytes == 3);
  }
  SECTION("a retransmitted FIN after close is absorbed") {
    auto r = run({syn(), syn_ack(), C(0, "", kAck | kFin), S(0, "", kAck | kFin, 1),
                  C(0, "", kAck | kFin, 1), S(0, "", kAck | kFin, 1)});
    CHECK(r->sink.conns.size() == 1);
    CHECK(r->counters.segments_after_close == 2);
  }
}

TEST_CASE("SYNs: retransmission, port reuse", "[tcp]") {
  SECTION("a retransmitted SYN changes nothing") {
    auto r = run({syn(), syn(), syn_ack(), syn_ack(), C(0, "A")});
    CHECK(r->sink.conns.size() == 1);
    CHECK(r->sink.conns[0].c2s == "A");
  }
  SECTION("a new SYN after the close opens a new connection") {
    std::vector<Seg> segs = {syn(), syn_ack(), C(0, "one", kAck | kPsh | kFin),
                             S(0, "", kAck | kFin, 4)};
    Seg again = syn();
    again.rel_seq = 100000;
    segs.push_back(again);
    auto r = run(segs);
    REQUIRE(r->sink.conns.size() == 2);
    CHECK(r->sink.conns[0].reason == CloseReason::fin);
    CHECK(r->sink.conns[1].reason == CloseReason::end_of_capture);
  }
  SECTION("a SYN with a new sequence number on an open connection replaces it") {
    Seg again = syn();
    again.rel_seq = 100000;
    auto r = run({syn(), syn_ack(), C(0, "old"), again});
    REQUIRE(r->sink.conns.size() == 2);
    CHECK(r->sink.conns[0].reason == CloseReason::reused);
    CHECK(r->sink.conns[0].c2s == "old");
    CHECK(r->counters.closed_reused == 1);
  }
}

TEST_CASE("sequence numbers wrap around 2^32", "[tcp]") {
  RecordingSink sink;
  TcpReassembler reassembler(sink);
  TcpSegment base;
  base.src = parse_ip("10.0.0.1");
  base.dst = parse_ip("10.0.0.2");
  base.src_port = 40000;
  base.dst_port = 80;
  const std::string a = "AAAAAAAA", b = "BBBBBBBB", c = "CCCCCCCC";
  auto seg = [&](uint32_t seq, const std::string& payload, uint8_t flags) {
    TcpSegment t = base;
    t.seq = seq;
    t.flags = flags;
    t.payload = {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
    t.payload_wire_len = static_cast<uint32_t>(payload.size());
    return t;
  };
  reassembler.process(seg(0xFFFFFFF3u, "", kSyn));  // data starts at 0xFFFFFFF4
  reassembler.process(seg(0x00000004u, c, kAck));   // after the wrap
  reassembler.process(seg(0xFFFFFFFCu, b, kAck));   // across the wrap
  reassembler.process(seg(0xFFFFFFF4u, a, kAck));
  reassembler.finish();
  REQUIRE(sink.conns.size() == 1);
  CHECK(sink.conns[0].c2s == a + b + c);
}

TEST_CASE("out-of-order buffering is bounded per connection and in total", "[tcp]") {
  SECTION("a full connection buffer gives up its oldest hole") {
    ReassemblyLimits limits;
    limits.max_buffered_bytes_per_conn = 2 * (kBufferedSegmentOverhead + 4);
    auto r = run({syn(), syn_ack(), C(0, "AAAA"), C(8, "CCCC"), C(16, "EEEE"), C(24, "GGGG"),
                  C(4, "BBBB")},
                 limits);
    // The third out-of-order segment did not fit: the hole before CCCC became a gap.
    CHECK(r->sink.conns.at(0).c2s == "AAAA[gap 4]CCCC[gap 4]EEEE[gap 4]GGGG");
    CHECK(r->counters.buffer_forced_skips == 1);
    CHECK(r->counters.retransmitted_segments == 1);  // BBBB came too late
  }
  SECTION("a full total buffer drops the segment; its bytes become a gap") {
    ReassemblyLimits limits;
    limits.max_buffered_bytes_total = kBufferedSegmentOverhead + 4;
    std::vector<Seg> segs = {syn(), syn_ack(), C(0, "AAAA"), C(8, "CCCC")};
    Seg other_syn = syn();
    other_syn.client_port = 40001;
    Seg other_data = C(8, "cccc");
    other_data.client_port = 40001;
    Seg other_first = C(0, "aaaa");
    other_first.client_port = 40001;
    segs.insert(segs.end(), {other_syn, other_data, other_first, C(4, "BBBB")});
    auto r = run(segs, limits);
    REQUIRE(r->sink.conns.size() == 2);
    CHECK(r->sink.conns[0].c2s == "AAAABBBBCCCC");
    CHECK(r->sink.conns[1].c2s == "aaaa");  // "cccc" dropped, nothing after it captured
    CHECK(r->counters.buffer_dropped_segments == 1);
    CHECK(r->counters.buffer_dropped_bytes == 4);
  }
}

TEST_CASE("the connection table is bounded and idle connections time out", "[tcp]") {
  SECTION("the least recently active connection is evicted") {
    ReassemblyLimits limits;
    limits.max_connections = 2;
    std::vector<Seg> segs;
    for (uint16_t port : {40001, 40002, 40003}) {
      Seg s = syn();
      s.client_port = port;
      Seg d = C(0, "x");
      d.client_port = port;
      segs.push_back(s);
      segs.push_back(d);
    }
    auto r = run(segs, limits, false);
    REQUIRE(r->sink.conns.size() == 3);
    CHECK(r->sink.conns[0].reason == CloseReason::evicted);
    CHECK(r->sink.conns[0].c2s == "x");
    CHECK_FALSE(r->sink.conns[1].closed);
    CHECK(r->counters.closed_evicted == 1);
  }
  SECTION("idle beyond the timeout, in capture time") {
    ReassemblyLimits limits;
    limits.idle_timeout_ns = 10'000'000'000;
    Seg first = C(0, "GET / HTTP/1.1\r\n");
    first.ts_ns = 1'000'000'000;
    Seg other = C(0, "GET / HTTP/1.1\r\n");
    other.client_port = 40001;
    other.ts_ns = 12'000'000'000;
    auto r = run({first, other}, limits, false);
    REQUIRE(r->sink.conns.size() == 2);
    CHECK(r->sink.conns[0].reason == CloseReason::timeout);
    CHECK(r->sink.conns[0].close_ts == 1'000'000'000);
    CHECK_FALSE(r->sink.conns[1].closed);
  }
}

TEST_CASE("random reordering, duplication and re-segmentation reassemble exactly", "[tcp]") {
  std::mt19937 rng(20240611);
  std::string request;
  for (int i = 0; i < 3000; ++i) request.push_back(static_cast<char>('a' + i % 26));
  for (int round = 0; round < 200; ++round) {
    // Cut the stream into random segments, add random retransmissions of random ranges.
    std::vector<Seg> data;
    for (size_t at = 0; at < request.size();) {
      const size_t len = std::min<size_t>(request.size() - at, 1 + rng() % 300);
      data.push_back(C(static_cast<int64_t>(at), request.substr(at, len)));
      at += len;
    }
    const size_t extra = rng() % 10;
    for (size_t i = 0; i < extra; ++i) {
      const size_t at = rng() % request.size();
      const size_t len = std::min<size_t>(request.size() - at, 1 + rng() % 500);
      data.push_back(C(static_cast<int64_t>(at), request.substr(at, len)));
    }
    std::shuffle(data.begin(), data.end(), rng);
    std::vector<Seg> segs = {syn(), syn_ack()};
    segs.insert(segs.end(), data.begin(), data.end());
    auto r = run(segs);
    REQUIRE(r->sink.conns.size() == 1);
    REQUIRE(r->sink.conns[0].c2s == request);
    REQUIRE(r->counters.buffer_dropped_segments == 0);
  }
}

TEST_CASE("IPv6 connections and the self-connection guard", "[tcp]") {
  RecordingSink sink;
  TcpReassembler reassembler(sink);
  const std::string payload = "GET / HTTP/1.1\r\n";
  TcpSegment t;
  t.src = parse_ip("2001:db8::1");
  t.dst = parse_ip("2001:db8::2");
  t.src_port = 50000;
  t.dst_port = 443;
  t.flags = kAck | kPsh;
  t.payload = {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
  t.payload_wire_len = static_cast<uint32_t>(payload.size());
  reassembler.process(t);
  TcpSegment self = t;
  self.dst = self.src;
  self.dst_port = self.src_port;
  reassembler.process(self);
  reassembler.finish();
  REQUIRE(sink.conns.size() == 1);
  CHECK(to_string(sink.conns[0].key) == "[2001:db8::1]:50000 -> [2001:db8::2]:443");
  CHECK(sink.conns[0].c2s == payload);
  CHECK(reassembler.counters().self_connection_segments == 1);
  CHECK(reassembler.connection_count() == 0);
  CHECK(reassembler.buffered_bytes() == 0);
}
