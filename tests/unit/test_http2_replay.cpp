// [http2] HTTP/2 in replay on hand-made streams: HPACK decoding (libnghttp2 for strings and the
// static table, our dynamic table for what was indexed before the capture), and HttpReplay's
// spans for h2c and gRPC: method, path, status, grpc-status from trailers or a trailers-only
// response, errors, unresolved fields counted.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "common/cases/http2_cases.h"
#include "replay/hpack_decoder.h"
#include "replay/http_replay.h"
#include "test_pcap_support.h"

using namespace difftrace;
using namespace difftrace::replay;
using namespace difftrace::testing;

namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// HPACK representations, plain (not Huffman) strings under 127 bytes.
std::string str(const std::string& s) { return std::string(1, static_cast<char>(s.size())) + s; }
// Literal without indexing, new name.
std::string lit(const std::string& n, const std::string& v) { return std::string(1, '\0') + str(n) + str(v); }
// Literal with incremental indexing, new name: added to the dynamic table.
std::string add(const std::string& n, const std::string& v) { return "\x40" + str(n) + str(v); }
// Indexed field (index < 127).
std::string idx(int i) { return std::string(1, static_cast<char>(0x80 | i)); }

constexpr int kHdr = H2_F_END_HEADERS;
constexpr int kEnd = H2_F_END_STREAM;

struct Harness {
  Harness() : replay({}, [this](capture::Span&& s) { spans.push_back(std::move(s)); }) {
    replay.on_open(key, 0);
  }
  void to_server(uint64_t ms, const std::string& b) { replay.on_data(key, Direction::client_to_server, ms * 1'000'000, bytes_of(b)); }
  void to_client(uint64_t ms, const std::string& b) { replay.on_data(key, Direction::server_to_client, ms * 1'000'000, bytes_of(b)); }
  void close(uint64_t ms, CloseReason r) { replay.on_close(key, ms * 1'000'000, r); }
  ConnKey key{{test::parse_ip("10.0.0.1"), 40000}, {test::parse_ip("10.0.0.2"), 50051}};
  std::vector<capture::Span> spans;
  HttpReplay replay;
};

const std::string kTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const std::string kGrpcRequest = idx(3) /* :method POST */ + idx(6) /* :scheme http */ +
                                 lit(":path", "/pkg.Greeter/Hello") +
                                 lit("content-type", "application/grpc") +
                                 lit("traceparent", kTraceparent);

}  // namespace

TEST_CASE("hpack: static table, literals, the dynamic table and what came before", "[http2]") {
  HpackDecoder d;
  auto decode = [&](const std::string& b) { return d.decode(bytes_of(b)); };
  SECTION("static and literal fields") {
    const HeaderBlock b = decode(idx(2) + idx(4) + lit("x-a", "1"));
    REQUIRE(b.fields.size() == 3);
    CHECK(b.fields[0].name == ":method");
    CHECK(b.fields[0].value == "GET");
    CHECK(*b.find(":path") == "/");
    CHECK(*b.find("x-a") == "1");
    CHECK(b.unresolved == 0);
  }
  SECTION("Huffman strings are nghttp2's: RFC 7541 C.4.1's first request") {
    const std::string c41("\x82\x86\x84\x41\x8c\xf1\xe3\xc2\xe5\xf2\x3a\x6b\xa0\xab\x90\xf4\xff", 17);
    const HeaderBlock b = decode(c41);
    CHECK(*b.find(":authority") == "www.example.com");
    CHECK(d.dynamic_entries() == 1);
  }
  SECTION("an index into a table built before us is unresolved, never guessed") {
    const HeaderBlock first = decode(idx(62) + idx(2));
    CHECK(first.unresolved == 1);
    CHECK(first.fields.size() == 1);
    // Entries added since are the newest: their indices are certain.
    decode(add("x-trace", "abc"));
    const HeaderBlock later = decode(idx(62) + idx(63));
    CHECK(*later.find("x-trace") == "abc");
    CHECK(later.unresolved == 1);  // 63: the one before ours
  }
  SECTION("the size rule evicts the oldest entries") {
    decode("\x3f\x21");  // size update to 64 (5-bit prefix: 31 + 33)
    decode(add("a", "1") + add("b", "2"));  // 34 bytes each: only "b" fits
    CHECK(d.dynamic_entries() == 1);
    const HeaderBlock b = decode(idx(62));
    CHECK(*b.find("b") == "2");
  }
  SECTION("garbage is malformed, and the direction's table is lost after it") {
    CHECK(decode(idx(0)).malformed);          // index 0 does not exist
    CHECK(decode(lit("a", "b")).malformed);   // nothing is trusted after
  }
  SECTION("a cut string is malformed") { CHECK(decode(std::string("\x00\x05" "ab", 4)).malformed); }
}

TEST_CASE("hpack by position: the kernel's blocks, decoded in the order their spans finish",
          "[http2]") {
  HpackDecoder d;
  auto at = [&](const std::string& b, std::optional<std::uint64_t> pos, bool cut = false) {
    return d.decode_at(bytes_of(b), pos, cut);
  };
  SECTION("a later block first: its index into an entry not seen yet is unresolved") {
    // Block A (position 0) adds x-a; block B (position 1) names it (62) and adds x-b.
    const HeaderBlock b = at(idx(62) + add("x-b", "2"), 1);
    CHECK(b.unresolved == 1);
    at(add("x-a", "1"), 0);
    // Block C (position 2) names both: 62 is x-b (newest), 63 is x-a.
    const HeaderBlock c = at(idx(62) + idx(63), 2);
    CHECK(*c.find("x-b") == "2");
    CHECK(*c.find("x-a") == "1");
    CHECK(c.unresolved == 0);
  }
  SECTION("a position the kernel lost: every dynamic index unresolved, nothing kept") {
    const HeaderBlock b = at(add("x-a", "1") + idx(62) + idx(2), std::nullopt);
    CHECK(b.unresolved == 1);
    CHECK(*b.find("x-a") == "1");
    CHECK(*b.find(":method") == "GET");
    CHECK(at(idx(62), 1).unresolved == 1);  // x-a was not kept at an unknown place
  }
  SECTION("an index past what came before us is unresolved") {
    CHECK(at(idx(62), 0).unresolved == 1);
  }
  SECTION("a block the kernel cut keeps its fields before the cut") {
    const std::string whole = lit("x-a", "1") + lit("x-b", "2");
    const HeaderBlock b = at(whole.substr(0, whole.size() - 2), 0, true);
    CHECK(!b.malformed);
    CHECK(*b.find("x-a") == "1");
    CHECK(b.find("x-b") == nullptr);
  }
}

TEST_CASE("h2c gRPC in replay: a unary call with its status in the trailers", "[http2]") {
  Harness h;
  h.to_server(1, kH2Preface + h2_frame_bytes(H2_SETTINGS, 0, 0, "") +
                     h2_frame_bytes(H2_HEADERS, kHdr, 1, kGrpcRequest) +
                     h2_frame_bytes(H2_DATA, kEnd, 1, std::string(10, 'q')));
  h.to_client(3, h2_frame_bytes(H2_HEADERS, kHdr, 1, idx(8) /* :status 200 */ +
                                                           lit("content-type", "application/grpc")) +
                     h2_frame_bytes(H2_DATA, 0, 1, std::string(12, 'r')));
  const bool fail = GENERATE(false, true);
  h.to_client(5, h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 1, lit("grpc-status", fail ? "14" : "0")));
  REQUIRE(h.spans.size() == 1);
  const capture::Span& s = h.spans[0];
  CHECK(s.http_version == 2);
  CHECK(s.method == "POST");
  CHECK(s.path == "/pkg.Greeter/Hello");
  CHECK(s.status == 200);
  REQUIRE(s.rpc);
  CHECK(s.rpc->service == "pkg.Greeter");
  CHECK(s.rpc->method == "Hello");
  CHECK(s.rpc->grpc_status == (fail ? 14 : 0));
  CHECK(s.is_error() == fail);  // whatever the HTTP status
  CHECK(s.start_unix_ns == 1'000'000);
  CHECK(s.end_unix_ns == 5'000'000);
  CHECK(s.local.port == 50051);
  CHECK(s.unresolved_fields == 0);
  CHECK(s.trace_from_header);
  CHECK(capture::to_hex(s.trace_id) == "0af7651916cd43dd8448eb211c80319c");
  CHECK(h.replay.counters().http2_connections == 1);
}

TEST_CASE("h2c: a request's B3 headers, single or multi, give its trace as HTTP/1's do",
          "[http2]") {
  struct Case {
    std::string headers, trace, parent;
  } cases[] = {
      {lit("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"),
       "80f198ee56343ba864fe8b2a57d3eff7", "e457b5a2e4d86bd1"},
      {lit("b3", "64fe8b2a57d3eff7-e457b5a2e4d86bd1"), "000000000000000064fe8b2a57d3eff7",
       "e457b5a2e4d86bd1"},
      {lit("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7") +
           lit("x-b3-spanid", "e457b5a2e4d86bd1") + lit("x-b3-sampled", "1"),
       "80f198ee56343ba864fe8b2a57d3eff7", "e457b5a2e4d86bd1"},
      // traceparent wins when both are there
      {lit("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1") +
           lit("traceparent", kTraceparent),
       "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"},
      // a trace id without a span id is no context
      {lit("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"), "", ""},
  };
  for (const auto& c : cases) {
    Harness h;
    h.to_server(1, kH2Preface + h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 1,
                                               idx(2) + lit(":path", "/b3") + c.headers));
    h.to_client(2, h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 1, idx(8)));
    REQUIRE(h.spans.size() == 1);
    const capture::Span& s = h.spans[0];
    INFO(c.headers);
    CHECK(s.trace_from_header == !c.trace.empty());
    if (c.trace.empty()) continue;
    CHECK(capture::to_hex(s.trace_id) == c.trace);
    REQUIRE(s.header_parent_id);
    CHECK(capture::to_hex(*s.header_parent_id) == c.parent);
  }
}

TEST_CASE("h2c in replay: trailers-only, RST_STREAM, concurrent streams, close", "[http2]") {
  Harness h;
  h.to_server(1, kH2Preface + h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 1, kGrpcRequest) +
                     h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 3, idx(2) + idx(4)) +
                     h2_frame_bytes(H2_HEADERS, kHdr, 5, idx(2) + lit(":path", "/slow")) +
                     h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 7, idx(2) + lit(":path", "/x")));
  // A trailers-only gRPC failure on 1, 404 on 3, 5 reset by the client, 7 unanswered at close.
  h.to_client(2, h2_frame_bytes(H2_HEADERS, kHdr, 3, idx(13) /* 404 */) +
                     h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 1,
                                    idx(8) + lit("content-type", "application/grpc") +
                                        lit("grpc-status", "5")));
  h.to_client(3, h2_frame_bytes(H2_DATA, kEnd, 3, "nf"));
  h.to_server(4, h2_frame_bytes(H2_RST_STREAM, 0, 5, std::string("\0\0\0\x08", 4)));
  h.close(6, CloseReason::fin);
  REQUIRE(h.spans.size() == 4);
  CHECK(h.spans[0].path == "/pkg.Greeter/Hello");
  CHECK(h.spans[0].rpc->grpc_status == 5);
  CHECK(h.spans[0].is_error());
  CHECK(h.spans[1].path == "/");
  CHECK(h.spans[1].status == 404);
  CHECK_FALSE(h.spans[1].rpc);
  CHECK(h.spans[2].path == "/slow");
  CHECK(h.spans[2].status == 0);  // reset before any response
  CHECK(h.spans[2].end_reason == H2_END_RESET);
  CHECK(h.spans[3].path == "/x");
  CHECK(h.spans[3].end_reason == H2_END_CLOSE);
  CHECK(h.spans[3].end_unix_ns == 6'000'000);
  CHECK(h.replay.counters().requests_unanswered == 2);
}

TEST_CASE("h2c in replay: streams over the table's size are counted, also after the close",
          "[http2]") {
  Harness h;
  std::string requests;
  for (int i = 0; i <= H2_MAX_STREAMS; i++)
    requests += h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 2 * i + 1, idx(2) + idx(4));
  h.to_server(1, kH2Preface + requests);
  h.close(2, CloseReason::fin);  // the close finishes the followed ones and clears the follower
  CHECK(h.spans.size() == H2_MAX_STREAMS);
  CHECK(h.replay.counters().http2_streams_untracked == 1);
}

TEST_CASE("h2c: a reset before the response ended cuts the call off; one after it does not",
          "[http2]") {
  Harness h;
  // 1: a server-streaming call the client cancels after the first message (grpc's cancel).
  // 3: a bidirectional call the server answers whole, then resets the rest of the request
  // with NO_ERROR (RFC 9113 8.1).
  h.to_server(1, kH2Preface + h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 1, kGrpcRequest) +
                     h2_frame_bytes(H2_HEADERS, kHdr, 3, kGrpcRequest));
  h.to_client(2, h2_frame_bytes(H2_HEADERS, kHdr, 1, idx(8) + lit("content-type", "application/grpc")) +
                     h2_frame_bytes(H2_DATA, 0, 1, std::string("\0\0\0\0\x01x", 6)));
  h.to_server(3, h2_frame_bytes(H2_RST_STREAM, 0, 1, std::string("\0\0\0\x08", 4)));  // CANCEL
  h.to_client(4, h2_frame_bytes(H2_HEADERS, kHdr, 3, idx(8) + lit("content-type", "application/grpc")) +
                     h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 3, lit("grpc-status", "0")) +
                     h2_frame_bytes(H2_RST_STREAM, 0, 3, std::string("\0\0\0\0", 4)));  // NO_ERROR
  h.close(6, CloseReason::fin);
  REQUIRE(h.spans.size() == 2);
  CHECK(h.spans[0].status == 200);
  CHECK(h.spans[0].stream_reset());
  CHECK(h.spans[0].is_error());
  CHECK(h.spans[0].error_text() == "stream reset");
  CHECK(h.spans[0].end_unix_ns == 2'000'000);  // its last frame before the reset
  CHECK_FALSE(h.spans[1].stream_reset());
  CHECK(h.spans[1].end_reason == H2_END_COMPLETE);
  CHECK(h.spans[1].rpc->grpc_status == 0);
  CHECK_FALSE(h.spans[1].is_error());
}

TEST_CASE("h2c picked up mid-stream: the side that sends HEADERS is the client; old indices unresolved",
          "[http2]") {
  Harness h;
  // Reassembly took the wrong side for the server: the client's frames come "from the server".
  h.to_client(1, h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 9, idx(3) + idx(70) + lit(":path", "/a")));
  h.to_server(2, h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 9, idx(8) + idx(64)));
  h.to_server(3, h2_frame_bytes(H2_PING, 0, 0, "seven!!"));  // a PING of 7: no longer HTTP/2
  h.close(4, CloseReason::end_of_capture);
  REQUIRE(h.spans.size() == 1);
  CHECK(h.spans[0].local.port == 40000);  // the side that answered
  CHECK(h.spans[0].path == "/a");
  CHECK(h.spans[0].status == 200);
  CHECK(h.spans[0].unresolved_fields == 2);
  CHECK(h.replay.counters().http2_fields_unresolved == 2);
  CHECK(h.replay.counters().non_http_data == 1);
}

TEST_CASE("h2c: capture gaps, and the end of the capture", "[http2]") {
  Harness h;
  h.to_server(1, kH2Preface + h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 1, idx(2) + idx(4)) +
                     h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 3, idx(2) + idx(4)));
  SECTION("a gap inside a frame abandons the open streams") {
    h.to_client(2, h2_frame_bytes(H2_DATA, 0, 1, std::string(100, 'd')).substr(0, 50));
    h.replay.on_gap(h.key, Direction::server_to_client, 2'000'000, 59);
    h.to_client(3, h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 3, idx(8)));
    CHECK(h.replay.counters().exchanges_abandoned_gap == 2);
    CHECK(h.spans.empty());
  }
  SECTION("a gap between frames: followed past; streams open across it marked") {
    h.to_client(2, h2_frame_bytes(H2_HEADERS, kHdr, 1, add("x-a", "1") + idx(8)));
    h.replay.on_gap(h.key, Direction::server_to_client, 3'000'000, 17);  // e.g. a PING
    // The lost bytes may have held blocks: index 62 ("x-a") is no longer certain.
    h.to_client(4, h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 1, idx(62)) +
                       h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 3, idx(13)));
    REQUIRE(h.spans.size() == 2);
    CHECK(h.spans[0].status == 200);
    CHECK(h.spans[0].capture_gap);
    CHECK(h.spans[0].unresolved_fields == 1);
    CHECK(h.spans[1].status == 404);  // its response came whole after the gap, but it was open
    CHECK(h.spans[1].capture_gap);
    h.close(5, CloseReason::fin);  // the session's counters are added when it ends
    CHECK(h.replay.counters().http2_gaps_resynced == 1);
  }
  SECTION("after a gap between frames, bytes that do not start frames end the session") {
    h.replay.on_gap(h.key, Direction::server_to_client, 3'000'000, 17);
    h.to_client(4, "garbage that is no frame");
    CHECK(h.replay.counters().exchanges_abandoned_gap == 2);
    CHECK(h.spans.empty());
  }
  SECTION("end of capture") {
    h.close(2, CloseReason::end_of_capture);
    CHECK(h.replay.counters().exchanges_unfinished == 2);
    CHECK(h.spans.empty());
  }
}

TEST_CASE("h2c with a filter that keeps everything: a failed gRPC call is still reported",
          "[http2]") {
  Harness h;
  int filtered = 0;
  h.replay.set_event_filter([&](dt_span_event& ev) {
    filtered++;
    CHECK(ev.protocol == DT_PROTO_HTTP2);
    CHECK(ev.status == 200);  // what the filter sees: the HTTP status, not grpc-status (yet)
    return false;             // normal: kept, not reported
  });
  h.to_server(1, kH2Preface + h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 1, kGrpcRequest) +
                     h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 3, kGrpcRequest));
  h.to_client(2, h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 1,
                                idx(8) + lit("content-type", "application/grpc") +
                                    lit("grpc-status", "0")) +
                     h2_frame_bytes(H2_HEADERS, kHdr | kEnd, 3,
                                    idx(8) + lit("content-type", "application/grpc") +
                                        lit("grpc-status", "13")));
  CHECK(filtered == 2);
  REQUIRE(h.spans.size() == 1);  // the OK call was kept by the filter
  CHECK(h.spans[0].rpc->grpc_status == 13);
  CHECK(h.spans[0].decision == "anomalous");
  CHECK(h.spans[0].reason == "status");
  CHECK(h.replay.counters().http2_grpc_errors_reported == 1);
}
