// [replay] Every capture in tests/fixtures/pcap through `difftrace replay`'s pipeline (pcap ->
// reassembly -> HttpReplay), compared exactly with the checked-in expected spans in
// tests/fixtures/replay (made by regen.sh, reviewed by hand): kind, method, path, status,
// server, start and end to the nanosecond of the capture.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "replay/capture_replay.h"
#include "replay/http_replay.h"
#include "test_pcap_support.h"

using namespace difftrace;
using namespace difftrace::replay;
using namespace difftrace::replay::test;
using nlohmann::json;

namespace {

struct Replayed {
  std::vector<json> spans;  // as the expected files hold them, sorted the same way
  HttpReplayCounters counters;
  CaptureSummary summary;
};

// The expected-file form of a span (tests/fixtures/replay/spans_from_otlp.py builds the same
// from the binary's OTLP output).
json expected_form(const capture::Span& s) {
  const auto& server = s.server();
  const bool v6 = server.address.find(':') != std::string::npos;
  return {{"kind", s.kind == capture::SpanKind::kServer ? "server" : "client"},
          {"method", s.method},
          {"path", s.path},
          {"status", s.status},
          {"server", (v6 ? "[" + server.address + "]" : server.address) + ":" +
                         std::to_string(server.port)},
          {"start_ns", s.start_unix_ns},
          {"end_ns", s.end_unix_ns},
          {"duration_us", s.duration_ns() / 1000}};
}

void sort_spans(std::vector<json>& spans) {
  std::sort(spans.begin(), spans.end(), [](const json& a, const json& b) {
    auto key = [](const json& s) {
      return std::make_tuple(s["start_ns"].get<uint64_t>(), s["end_ns"].get<uint64_t>(),
                             s["server"].get<std::string>(), s["path"].get<std::string>());
    };
    return key(a) < key(b);
  });
}

Replayed replay_fixture(const std::string& name) {
  Replayed out;
  HttpReplay sink({}, [&](capture::Span&& s) { out.spans.push_back(expected_form(s)); });
  auto summary = replay_file(fixture(name), sink);
  if (!summary.ok()) FAIL(summary.error().message());
  out.summary = summary.value();
  out.counters = sink.counters();
  sort_spans(out.spans);
  return out;
}

// tests/fixtures/replay/<name without .pcap>.spans.jsonl, found next to the pcap fixtures.
std::vector<json> expected_spans(const std::string& name) {
  const std::string stem = name.substr(0, name.rfind('.'));
  const std::string path = fixture("../replay/" + stem + ".spans.jsonl");
  std::ifstream in(path);
  if (!in) FAIL("missing expected file " << path << ": run tests/fixtures/replay/regen.sh");
  std::vector<json> spans;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) spans.push_back(json::parse(line));
  return spans;
}

std::string lines(const std::vector<json>& spans) {
  std::string out;
  for (const auto& s : spans) out += s.dump() + "\n";
  return out.empty() ? "(no spans)\n" : out;
}

}  // namespace

TEST_CASE("replay of every fixture equals its expected spans", "[replay]") {
  const auto name = GENERATE(as<std::string>{}, "lo_http11_keepalive.pcap", "any_sll2_ipv6.pcap",
                             "any_sll_ipv4.pcap", "lo_snaplen_cut.pcap", "lo_refused_rst.pcap",
                             "deepflow/http.pcap", "deepflow/httpv1.pcap",
                             "lo_statuses_chunked_large.pcap", "deepflow/grpc-service-name.pcap",
                             "deepflow/h2c_ascii.pcap", "lo_pipelined.pcap",
                             "deepflow/grpc-server-stream.pcap", "deepflow/grpc-unary.pcap",
                             "deepflow/grpc-segmented.pcap", "deepflow/grpc-unknown.pcap",
                             "deepflow/http2-multi.pcap", "deepflow/httpv2-stream-id.pcap");
  const auto got = replay_fixture(name);
  const auto want = expected_spans(name);
  INFO(name << "\nexpected:\n" << lines(want) << "replayed:\n" << lines(got.spans));
  CHECK(got.summary.stopped_early.empty());
  CHECK(got.spans == want);
}

TEST_CASE("fixtures: the expected files say what each capture holds", "[replay]") {
  SECTION("keep-alive: two GETs on one connection, the second delayed 43 ms by Nagle") {
    const auto want = expected_spans("lo_http11_keepalive.pcap");
    REQUIRE(want.size() == 2);
    CHECK(want[0]["duration_us"] == 434);
    CHECK(want[1]["duration_us"] == 43748);
  }
  SECTION("DeepFlow httpv1: their .result's POST /query?1590632942 -> 200, 84.051 ms on the wire") {
    const auto want = expected_spans("deepflow/httpv1.pcap");
    REQUIRE(want.size() == 1);
    CHECK(want[0]["method"] == "POST");
    CHECK(want[0]["path"] == "/query?1590632942");
    CHECK(want[0]["status"] == 200);
    CHECK(want[0]["duration_us"] == 84051);
  }
  SECTION("DeepFlow http: GET / -> 200") {
    const auto want = expected_spans("deepflow/http.pcap");
    REQUIRE(want.size() == 1);
    CHECK(want[0]["method"] == "GET");
    CHECK(want[0]["path"] == "/");
    CHECK(want[0]["status"] == 200);
  }
}

TEST_CASE("fixtures: pipelining gives one span per request, in the order sent", "[replay]") {
  // make_fixtures.sh: 20 requests (path ?p=1 .. ?p=20) on 3 connections, 14 of them written
  // before the previous response had ended: batches in one segment, in separate segments while
  // the server sleeps, cut across segments; nginx answering a batch in one segment.
  const auto got = replay_fixture("lo_pipelined.pcap");
  REQUIRE(got.spans.size() == 20);
  std::vector<json> in_order = got.spans;
  auto p_of = [](const json& s) {
    const std::string path = s["path"];
    return std::stoi(path.substr(path.rfind("p=") + 2));
  };
  std::sort(in_order.begin(), in_order.end(),
            [&](const json& a, const json& b) { return p_of(a) < p_of(b); });
  const std::vector<std::string> want = {
      "GET 200", "GET 200", "POST 200", "HEAD 200", "GET 404", "GET 200", "GET 200",
      "GET 204", "GET 500", "GET 200", "GET 200", "GET 404", "HEAD 200", "GET 200",
      "GET 200", "GET 200", "GET 200", "GET 200", "GET 200", "GET 200"};
  for (size_t i = 0; i < in_order.size(); ++i) {
    INFO(in_order[i].dump());
    CHECK(p_of(in_order[i]) == static_cast<int>(i + 1));
    CHECK(in_order[i]["method"].get<std::string>() + " " +
              std::to_string(in_order[i]["status"].get<int>()) == want[i]);
  }
  // A pipelined request waits for the responses before it: /sleep/30 (p=6) holds p=7..9 back.
  CHECK(in_order[5]["duration_us"] >= 30000);
  CHECK(in_order[6]["end_ns"] >= in_order[5]["end_ns"]);
  CHECK(in_order[8]["duration_us"] < in_order[6]["duration_us"]);  // sent last, waited least
  CHECK(got.counters.pipelined_requests == 14);
  CHECK(got.counters.pipelined_requests_unsupported == 0);
  CHECK(got.counters.non_http_data == 0);
  CHECK(got.counters.exchanges_unfinished == 0);
}

TEST_CASE("fixtures: the snaplen-cut request is abandoned at its gap, never guessed", "[replay]") {
  const auto got = replay_fixture("lo_snaplen_cut.pcap");
  CHECK(got.spans.empty());
  CHECK(got.counters.exchanges_abandoned_gap == 1);
  CHECK(got.counters.spans_seen == 0);
}

TEST_CASE("fixtures: HTTP/1.x request and response sizes match DeepFlow's .result", "[replay]") {
  std::vector<capture::Span> spans;
  HttpReplay sink({}, [&](capture::Span&& s) { spans.push_back(std::move(s)); });
  REQUIRE(replay_file(fixture("deepflow/httpv1.pcap"), sink).ok());
  REQUIRE(spans.size() == 1);
  // captured_request_byte: 231, captured_response_byte: 227
  CHECK(spans[0].request_bytes == 231);
  CHECK(spans[0].response_bytes == 227);
  CHECK(spans[0].service_name == "120.52.183.165:80");
  CHECK(spans[0].peer.address == "10.33.0.31");
  CHECK(spans[0].peer.port == 61959);
  CHECK(spans[0].pid == 0);
  CHECK(spans[0].comm == "replay");
}
