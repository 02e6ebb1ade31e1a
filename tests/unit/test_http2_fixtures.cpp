// [http2] DeepFlow's HTTP/2 and gRPC captures (tests/fixtures/pcap/deepflow/, NOTICE) through
// replay: the spans, gRPC names and statuses, and the HPACK fields left unresolved must be what
// the captures hold.
//
// How the expected values were established, independently of our code: tshark 4.0 (Debian 12)
// decoding each capture as HTTP/2 (`tshark -r F -d tcp.port==P,http2 -Y http2 -T fields -e
// http2.streamid -e http2.type -e http2.flags -e http2.header.name -e http2.header.value`),
// read by hand: which streams have END_STREAM both ways (a span), which are still open when the
// capture ends (unfinished: replay never guesses their end), the header values, and the number of
// header names tshark shows as <unknown> (fields indexed into a table built before the capture),
// which must equal http2_fields_unresolved. DeepFlow's .result files list the same requests and
// responses (they also report the half-seen ones, which replay counts as unfinished).
#include <catch2/catch.hpp>

#include "replay/capture_replay.h"
#include "replay/http_replay.h"
#include "test_pcap_support.h"

using namespace difftrace;
using namespace difftrace::replay;
using namespace difftrace::replay::test;

namespace {

struct Got {
  std::vector<capture::Span> spans;
  HttpReplayCounters counters;
};

Got replay_h2(const std::string& name) {
  Got out;
  HttpReplay sink({}, [&](capture::Span&& s) { out.spans.push_back(std::move(s)); });
  auto summary = replay_file(fixture("deepflow/" + name), sink);
  if (!summary.ok()) FAIL(summary.error().message());
  out.counters = sink.counters();
  CHECK(out.counters.http2_connections == 1);
  CHECK(out.counters.non_http_data == 0);
  CHECK(out.counters.http2_blocks_malformed == 0);
  return out;
}

void check_grpc(const capture::Span& s, const std::string& service, const std::string& method) {
  CHECK(s.http_version == 2);
  CHECK(s.method == "POST");
  CHECK(s.path == "/" + service + "/" + method);
  CHECK(s.status == 200);
  REQUIRE(s.rpc);
  CHECK(s.rpc->service == service);
  CHECK(s.rpc->method == method);
  CHECK(s.rpc->grpc_status == 0);
  CHECK_FALSE(s.is_error());
  CHECK(s.unresolved_fields == 0);
}

}  // namespace

TEST_CASE("http2 fixtures: complete gRPC calls, fully decoded", "[http2][replay]") {
  SECTION("grpc-service-name: preface, client-streaming call, trailers grpc-status 0") {
    const Got g = replay_h2("grpc-service-name.pcap");
    REQUIRE(g.spans.size() == 1);
    check_grpc(g.spans[0], "StreamingService", "ClientStreamRPC");
    CHECK(g.counters.http2_fields_unresolved == 0);
  }
  SECTION("grpc-server-stream: mid-stream, three response DATA frames, trailers grpc-status 0") {
    const Got g = replay_h2("grpc-server-stream.pcap");
    REQUIRE(g.spans.size() == 1);
    check_grpc(g.spans[0], "timeseriesquery.TimeSeriesQueryService", "ServerStreamQuery");
    CHECK(g.counters.http2_fields_unresolved == 0);
    // tcpdump -nn -r: the capture lacks 8 runs of bytes between frames (the server's first 30
    // bytes, 17-byte frames between the DATA frames, the client's acks): followed past, marked.
    CHECK(g.spans[0].capture_gap);
    CHECK(g.counters.http2_gaps_resynced == 8);
  }
  SECTION("h2c_ascii: mid-stream, every field a literal, trailers grpc-status 0") {
    const Got g = replay_h2("h2c_ascii.pcap");
    REQUIRE(g.spans.size() == 1);
    check_grpc(g.spans[0], "hipstershop.CartService", "GetCart");
    CHECK(g.counters.http2_fields_unresolved == 0);
  }
}

TEST_CASE("http2 fixtures: fields indexed before the capture are counted, never guessed",
          "[http2][replay]") {
  SECTION("grpc-unknown: :path and grpc-status unresolved (tshark: 7 <unknown>)") {
    const Got g = replay_h2("grpc-unknown.pcap");
    REQUIRE(g.spans.size() == 1);
    const capture::Span& s = g.spans[0];
    CHECK(s.method == "POST");
    CHECK(s.path.empty());
    CHECK(s.status == 200);
    REQUIRE(s.rpc);  // content-type application/grpc is a literal
    CHECK(s.rpc->service.empty());
    CHECK_FALSE(s.rpc->grpc_status);
    CHECK(s.unresolved_fields == 7);
    CHECK(g.counters.http2_fields_unresolved == 7);
  }
  SECTION("http2-multi: two concurrent streams answered in reverse order (tshark: 18 <unknown>)") {
    const Got g = replay_h2("http2-multi.pcap");
    REQUIRE(g.spans.size() == 2);
    for (const capture::Span& s : g.spans) {
      CHECK(s.method == "POST");
      CHECK(s.path.empty());
      CHECK(s.status == 200);
      CHECK_FALSE(s.rpc);  // content-type and grpc-status are among the unresolved
      CHECK(s.unresolved_fields == 9);
    }
    // Both requests in one segment (tshark: frame 1), both responses in the next.
    CHECK(g.spans[0].start_unix_ns == g.spans[1].start_unix_ns);
    CHECK(g.counters.http2_fields_unresolved == 18);
  }
}

TEST_CASE("http2 fixtures: streams the capture does not finish are counted, not emitted",
          "[http2][replay]") {
  SECTION("grpc-unary: the response's DATA and trailers are past the capture's end") {
    const Got g = replay_h2("grpc-unary.pcap");
    CHECK(g.spans.empty());
    CHECK(g.counters.exchanges_unfinished == 1);
    CHECK(g.counters.http2_fields_unresolved == 0);
  }
  SECTION("grpc-segmented: only the request side, its DATA not ended") {
    const Got g = replay_h2("grpc-segmented.pcap");
    CHECK(g.spans.empty());
    CHECK(g.counters.exchanges_unfinished == 1);
  }
  SECTION("httpv2-stream-id: one request HEADERS, no answer (tshark: 7 <unknown>)") {
    const Got g = replay_h2("httpv2-stream-id.pcap");
    CHECK(g.spans.empty());
    CHECK(g.counters.exchanges_unfinished == 1);
    CHECK(g.counters.http2_fields_unresolved == 7);
  }
}
