// [replay] HttpReplay on hand-made streams: how reassembled data, gaps and closes become spans,
// other protocols, and connection selection (HTTP/2: test_http2_replay.cpp).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "replay/conn_selector.h"
#include "replay/http_replay.h"
#include "test_pcap_support.h"

using namespace difftrace;
using namespace difftrace::replay;
using namespace difftrace::replay::test;

namespace {

constexpr auto kC2S = Direction::client_to_server;
constexpr auto kS2C = Direction::server_to_client;
constexpr uint64_t kMs = 1'000'000;

ConnKey test_key(uint16_t server_port = 80) {
  return {{parse_ip("10.0.0.1"), 40000}, {parse_ip("10.0.0.2"), server_port}};
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// One connection driven by hand; times in ms.
struct Harness {
  explicit Harness(ConnSelector selector = {})
      : replay(std::move(selector), [this](capture::Span&& s) { spans.push_back(std::move(s)); }) {}
  void open(uint64_t ms = 0) { replay.on_open(key, ms * kMs); }
  void data(Direction dir, uint64_t ms, const std::string& text) {
    replay.on_data(key, dir, ms * kMs, bytes_of(text));
  }
  void gap(Direction dir, uint64_t ms, uint64_t n) { replay.on_gap(key, dir, ms * kMs, n); }
  void close(uint64_t ms, CloseReason reason) { replay.on_close(key, ms * kMs, reason); }
  const HttpReplayCounters& counters() const { return replay.counters(); }

  ConnKey key = test_key();
  std::vector<capture::Span> spans;
  HttpReplay replay;
};

const std::string kGet = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

}  // namespace

TEST_CASE("a request and its response give a SERVER span on the wire's times", "[replay]") {
  Harness h;
  h.open();
  h.data(kC2S, 10, kGet);
  h.data(kS2C, 13, kOk);
  h.close(20, CloseReason::fin);
  REQUIRE(h.spans.size() == 1);
  const auto& s = h.spans[0];
  CHECK(s.kind == capture::SpanKind::kServer);
  CHECK(s.method == "GET");
  CHECK(s.path == "/a");
  CHECK(s.status == 200);
  CHECK(s.start_unix_ns == 10 * kMs);  // a WallClock with offset 0: capture times as they are
  CHECK(s.end_unix_ns == 13 * kMs);
  CHECK(s.local.address == "10.0.0.2");
  CHECK(s.local.port == 80);
  CHECK(s.peer.address == "10.0.0.1");
  CHECK(s.peer.port == 40000);
  CHECK(s.service_name == "10.0.0.2:80");
  CHECK(s.request_bytes == kGet.size());
  CHECK(s.response_bytes == kOk.size());
  CHECK(h.counters().spans_seen == 1);
  CHECK(h.counters().connections_tracked == 1);
  CHECK(h.counters().io_calls == 2);
}

TEST_CASE("a segment longer than the window ends a chunked body by its tail", "[replay]") {
  Harness h;
  h.open();
  h.data(kC2S, 1, kGet);
  h.data(kS2C, 2, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  // Past DT_WIN bytes: only the kernel's window and tail are looked at, here too.
  h.data(kS2C, 3, "800\r\n" + std::string(2048, 'a') + "\r\n0\r\n\r\n");
  REQUIRE(h.spans.size() == 1);
  CHECK(h.spans[0].end_unix_ns == 3 * kMs);
  CHECK(h.spans[0].flags == 0);
}

TEST_CASE("gaps abandon the exchange they cut, and only that one", "[replay]") {
  Harness h;
  h.open();
  SECTION("in the request") {
    h.data(kC2S, 1, "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345");
    h.gap(kC2S, 2, 5);
  }
  SECTION("in the response") {
    h.data(kC2S, 1, kGet);
    h.data(kS2C, 2, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12");
    h.gap(kS2C, 3, 4);
    h.data(kS2C, 4, "7890");  // the rest arrives, but the boundary is not known any more
  }
  CHECK(h.spans.empty());
  CHECK(h.counters().exchanges_abandoned_gap == 1);
  // The next exchange on the connection is whole again.
  h.data(kC2S, 10, kGet);
  h.data(kS2C, 11, kOk);
  REQUIRE(h.spans.size() == 1);
  CHECK(h.spans[0].start_unix_ns == 10 * kMs);
}

TEST_CASE("a gap between exchanges abandons nothing", "[replay]") {
  Harness h;
  h.open();
  h.data(kC2S, 1, kGet);
  h.data(kS2C, 2, kOk);
  h.gap(kC2S, 3, 100);
  CHECK(h.spans.size() == 1);
  CHECK(h.counters().exchanges_abandoned_gap == 0);
}

TEST_CASE("closing: FIN and RST close as close() does, the capture's end does not", "[replay]") {
  Harness h;
  h.open();
  h.data(kC2S, 1, kGet);
  SECTION("RST after a request: an unanswered span, status 0, ending at the reset") {
    h.close(5, CloseReason::reset);
    REQUIRE(h.spans.size() == 1);
    CHECK(h.spans[0].status == 0);
    CHECK(h.spans[0].end_unix_ns == 5 * kMs);
    CHECK((h.spans[0].flags & DT_SPAN_F_NO_RESPONSE) != 0);
    CHECK(h.counters().requests_unanswered == 1);
  }
  SECTION("a response without a length ends at FIN, timed by its last byte") {
    h.data(kS2C, 2, "HTTP/1.0 200 OK\r\n\r\nsome");
    h.data(kS2C, 3, "more");
    h.close(9, CloseReason::fin);
    REQUIRE(h.spans.size() == 1);
    CHECK(h.spans[0].status == 200);
    CHECK(h.spans[0].end_unix_ns == 3 * kMs);
    CHECK((h.spans[0].flags & DT_SPAN_F_CLOSE_DELIMITED) != 0);
  }
  SECTION("the capture ends mid-exchange: counted, not emitted") {
    const auto reason = GENERATE(CloseReason::end_of_capture, CloseReason::timeout,
                                 CloseReason::evicted);
    h.data(kS2C, 2, "HTTP/1.0 200 OK\r\n\r\nsome");
    h.close(9, reason);
    CHECK(h.spans.empty());
    CHECK(h.counters().exchanges_unfinished == 1);
  }
}

TEST_CASE("requests sent by the side reassembly called the server swap the roles", "[replay]") {
  Harness h;
  h.open();
  h.data(kS2C, 1, kGet);
  h.data(kC2S, 2, kOk);
  REQUIRE(h.spans.size() == 1);
  CHECK(h.spans[0].kind == capture::SpanKind::kServer);
  CHECK(h.spans[0].local.address == "10.0.0.1");  // the side that answered
  CHECK(h.spans[0].service_name == "10.0.0.1:40000");
}

TEST_CASE("other protocols are counted, not turned into spans", "[replay]") {
  Harness h;
  h.open();
  SECTION("HTTP/2 whose frames break after the preface") {
    h.data(kC2S, 1, std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string(9, '\0'));
    h.data(kC2S, 2, kGet);  // never parsed as HTTP/1.x once the connection is known to be HTTP/2
    h.close(3, CloseReason::fin);
    CHECK(h.counters().http2_connections == 1);
    CHECK(h.counters().non_http_data == 1);  // DATA on stream 0: no longer followed
    CHECK(h.counters().connections_non_http == 0);
  }
  SECTION("something else") {
    h.data(kC2S, 1, "SSH-2.0-OpenSSH_9.2p1\r\n");
    h.data(kS2C, 2, "SSH-2.0-OpenSSH_9.2p1\r\n");
    h.close(3, CloseReason::fin);
    CHECK(h.counters().connections_non_http == 1);
    CHECK(h.counters().http2_connections == 0);
    CHECK(h.counters().io_calls == 0);  // no state for them in the kernel either
  }
  CHECK(h.spans.empty());
}

TEST_CASE("--port and --host select connections by their server side", "[replay]") {
  ConnSelector by_port;
  by_port.server_ports = {8080};
  CHECK(by_port.selects(test_key(8080)));
  CHECK_FALSE(by_port.selects(test_key(80)));
  ConnSelector by_host;
  by_host.server_hosts = {*parse_ip_addr("10.0.0.2")};
  CHECK(by_host.selects(test_key()));
  by_host.server_hosts = {*parse_ip_addr("10.0.0.1")};
  CHECK_FALSE(by_host.selects(test_key()));
  CHECK(parse_ip_addr("::1").has_value());
  CHECK_FALSE(parse_ip_addr("localhost").has_value());
  CHECK_FALSE(parse_ip_addr("10.0.0.1:80").has_value());

  Harness h(by_port);
  h.open();
  h.data(kC2S, 1, kGet);
  h.data(kS2C, 2, kOk);
  h.close(3, CloseReason::fin);
  CHECK(h.spans.empty());
  CHECK(h.counters().connections_not_selected == 1);
}

namespace {

std::string get(const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"; }
std::string ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::vector<std::string> paths(const std::vector<capture::Span>& spans) {
  std::vector<std::string> out;
  for (const auto& s : spans) out.push_back(s.method + " " + s.path + " " + std::to_string(s.status));
  return out;
}

}  // namespace

TEST_CASE("pipelining: every request gets its span, answered in order", "[replay]") {
  Harness h;
  h.open();
  const std::string post = "POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  const std::string chunked =
      "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n";
  SECTION("three requests in one segment, the responses in one") {
    h.data(kC2S, 10, get("/a") + post + "HEAD /h HTTP/1.1\r\n\r\n");
    h.data(kS2C, 12, ok("hi") + chunked + "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n");
    REQUIRE(paths(h.spans) == std::vector<std::string>{"GET /a 200", "POST /p 404", "HEAD /h 200"});
    for (const auto& s : h.spans) {
      CHECK(s.start_unix_ns == 10 * kMs);
      CHECK(s.end_unix_ns == 12 * kMs);
    }
    CHECK(h.spans[0].request_bytes == get("/a").size());
    CHECK(h.spans[1].request_bytes == post.size());
    CHECK(h.spans[0].response_bytes == ok("hi").size());
    CHECK(h.spans[1].response_bytes == chunked.size());
  }
  SECTION("requests in separate segments, responses cut anywhere") {
    h.data(kC2S, 10, get("/a"));
    h.data(kC2S, 11, post.substr(0, 20));
    h.data(kC2S, 12, post.substr(20) + get("/c").substr(0, 5));
    h.data(kC2S, 13, get("/c").substr(5));
    const std::string resp = ok("hi") + chunked + ok("c");
    h.data(kS2C, 20, resp.substr(0, 30));
    h.data(kS2C, 21, resp.substr(30, 40));
    h.data(kS2C, 22, resp.substr(70));
    REQUIRE(paths(h.spans) == std::vector<std::string>{"GET /a 200", "POST /p 404", "GET /c 200"});
    CHECK(h.spans[0].start_unix_ns == 10 * kMs);
    CHECK(h.spans[0].end_unix_ns == 21 * kMs);
    CHECK(h.spans[1].start_unix_ns == 11 * kMs);
    CHECK(h.spans[1].end_unix_ns == 22 * kMs);
    CHECK(h.spans[2].start_unix_ns == 12 * kMs);  // its first bytes came with the POST's last
    CHECK(h.spans[2].end_unix_ns == 22 * kMs);
  }
  SECTION("a request arriving while the previous response is on the wire") {
    h.data(kC2S, 10, get("/a"));
    h.data(kS2C, 11, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
    h.data(kC2S, 12, get("/b"));
    h.data(kS2C, 13, "cd" + ok("b"));
    REQUIRE(paths(h.spans) == std::vector<std::string>{"GET /a 200", "GET /b 200"});
    CHECK(h.spans[0].end_unix_ns == 13 * kMs);  // not ended early by the next request
    CHECK(h.spans[1].start_unix_ns == 12 * kMs);
  }
  CHECK(h.counters().pipelined_requests == h.spans.size() - 1);  // all but the first
  CHECK(h.counters().pipelined_requests_unsupported == 0);
  CHECK(h.counters().non_http_data == 0);
  CHECK(h.counters().spans_seen == h.spans.size());
}

TEST_CASE("pipelining: requests still waiting at FIN are unanswered, at a gap abandoned",
          "[replay]") {
  Harness h;
  h.open();
  h.data(kC2S, 1, get("/a") + get("/b") + get("/c"));
  h.data(kS2C, 2, ok("a"));
  SECTION("FIN") {
    h.close(5, CloseReason::fin);
    REQUIRE(paths(h.spans) == std::vector<std::string>{"GET /a 200", "GET /b 0", "GET /c 0"});
    CHECK(h.spans[2].end_unix_ns == 5 * kMs);
    CHECK(h.counters().requests_unanswered == 2);
  }
  SECTION("gap") {
    h.gap(kS2C, 3, 10);
    CHECK(h.counters().exchanges_abandoned_gap == 2);
    // Framing starts again at the next request with nothing in progress.
    h.data(kC2S, 4, get("/d") + get("/e"));
    h.data(kS2C, 5, ok("d") + ok("e"));
    CHECK(paths(h.spans) == std::vector<std::string>{"GET /a 200", "GET /d 200", "GET /e 200"});
  }
  SECTION("end of capture") {
    h.close(5, CloseReason::end_of_capture);
    CHECK(h.spans.size() == 1);
    CHECK(h.counters().exchanges_unfinished == 2);
  }
}

TEST_CASE("pipelining: a response whose end the boundary code missed ends at the next one",
          "[replay]") {
  Harness h;
  h.open();
  h.data(kC2S, 1, get("/a") + get("/b"));
  // Headers past the kernel's 1 KiB window: the boundary code cannot see the length.
  const std::string big = "HTTP/1.1 200 OK\r\nX-Pad: " + std::string(1200, 'p') +
                          "\r\nContent-Length: 2\r\n\r\nhi";
  h.data(kS2C, 2, big);
  h.data(kS2C, 3, ok("b"));
  REQUIRE(paths(h.spans) == std::vector<std::string>{"GET /a 200", "GET /b 200"});
  CHECK(h.spans[0].end_unix_ns == 2 * kMs);  // its last byte, as the kernel would time it
  CHECK(h.spans[0].end_reason == HTTP_END_NEXT);
  CHECK(h.counters().headers_past_window == 1);
}

TEST_CASE("pipelining that cannot be framed is counted, not guessed", "[replay]") {
  Harness h;
  h.open();
  // A Content-Length that is no number: the framer gives up; the kernel's way goes on, where a
  // request sent before the previous one's response is taken as more of that one.
  h.data(kC2S, 1, "POST /a HTTP/1.1\r\nContent-Length: x\r\n\r\n");
  h.data(kC2S, 2, get("/b"));
  h.data(kC2S, 3, get("/c"));
  h.data(kS2C, 4, ok("a"));
  h.data(kS2C, 5, ok("b"));
  CHECK(paths(h.spans) == std::vector<std::string>{"POST /a 200"});
  CHECK(h.counters().pipelined_requests == 0);
  CHECK(h.counters().pipelined_requests_unsupported == 2);
  CHECK(h.counters().non_http_data == 1);  // the second response, as in the kernel
  // Once idle, the next request starts framing again.
  h.data(kC2S, 6, get("/d") + get("/e"));
  h.data(kS2C, 7, ok("d") + ok("e"));
  CHECK(paths(h.spans) == std::vector<std::string>{"POST /a 200", "GET /d 200", "GET /e 200"});
  CHECK(h.counters().pipelined_requests == 1);
}

TEST_CASE("pipelining: a request after a response without a length ends it, as in the kernel",
          "[replay]") {
  Harness h;
  h.open();
  h.data(kC2S, 1, get("/a"));
  h.data(kS2C, 2, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody");
  h.data(kC2S, 3, get("/b"));
  h.data(kS2C, 4, ok("b"));
  REQUIRE(paths(h.spans) == std::vector<std::string>{"GET /a 200", "GET /b 200"});
  CHECK(h.spans[0].end_reason == HTTP_END_NEXT);
  CHECK(h.counters().pipelined_requests == 0);
  CHECK(h.counters().pipelined_requests_unsupported == 0);
}

TEST_CASE("pipelining: a start cut short by a segment's end is read with its next bytes",
          "[replay]") {
  Harness h;
  h.open();
  const std::string reqs = get("/a") + get("/b");
  const std::string resps = ok("a") + ok("bb");
  // Each second message begins in the last byte(s) of the segment that ends the first.
  const size_t req_cut = get("/a").size() + 1, resp_cut = ok("a").size() + 10;
  h.data(kC2S, 1, reqs.substr(0, req_cut));  // "...\r\n\r\nG"
  h.data(kC2S, 2, reqs.substr(req_cut));     // "ET /b ..."
  h.data(kS2C, 3, resps.substr(0, resp_cut));  // "...aHTTP/1.1 2"
  h.data(kS2C, 4, resps.substr(resp_cut));
  REQUIRE(paths(h.spans) == std::vector<std::string>{"GET /a 200", "GET /b 200"});
  CHECK(h.spans[1].start_unix_ns == 1 * kMs);  // timed by its first byte
  CHECK(h.spans[1].end_unix_ns == 4 * kMs);
  CHECK(h.spans[1].request_bytes == get("/b").size());
  CHECK(h.spans[1].response_bytes == ok("bb").size());
  CHECK(h.counters().non_http_data == 0);
}
