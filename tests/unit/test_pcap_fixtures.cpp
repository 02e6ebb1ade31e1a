// [pcap] recorded captures (tests/fixtures/pcap, made by make_fixtures.sh) and DeepFlow's public
// HTTP/1 captures, through decoding and reassembly.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "replay/capture_replay.h"
#include "replay/pcap_source.h"
#include "test_pcap_support.h"

using namespace difftrace::replay;
using namespace difftrace::replay::test;

namespace {

struct Replayed {
  RecordingSink sink;
  CaptureSummary summary;
};

std::unique_ptr<Replayed> replay_fixture(const std::string& name) {
  auto out = std::make_unique<Replayed>();
  auto summary = replay_file(fixture(name), out->sink);
  if (!summary.ok()) FAIL(summary.error().message());
  out->summary = summary.value();
  INFO(name << ": " << out->summary.stopped_early);
  CHECK(out->summary.stopped_early.empty());
  return out;
}

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// The text after `key` (searched from `from`) up to `end`, in DeepFlow's Rust debug output.
std::string field_after(const std::string& text, size_t from, const std::string& key,
                        const std::string& end) {
  const size_t at = text.find(key, from);
  if (at == std::string::npos) return "";
  const size_t begin = at + key.size();
  return text.substr(begin, text.find(end, begin) - begin);
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// Sum of payload_wire_len per sending endpoint port, straight from the decoder.
std::map<uint16_t, uint64_t> wire_bytes_by_src_port(const std::string& path) {
  std::map<uint16_t, uint64_t> bytes;
  auto source = PcapSource::open(path);
  REQUIRE(source.ok());
  TcpSegment s;
  while (source->next(s) == PcapSource::Next::segment) bytes[s.src_port] += s.payload_wire_len;
  return bytes;
}

}  // namespace

TEST_CASE("recorded: HTTP/1.1 keep-alive over lo (Ethernet, IPv4)", "[pcap]") {
  auto r = replay_fixture("lo_http11_keepalive.pcap");
  REQUIRE(r->sink.conns.size() == 1);
  const auto& c = r->sink.conns[0];
  CHECK(c.key.client.addr.family == IpFamily::v4);
  CHECK(to_string(c.key.server.addr) == "127.0.0.1");
  CHECK(starts_with(c.c2s, "GET /hello.txt HTTP/1.1\r\n"));
  CHECK(count_of(c.c2s, "GET /hello.txt HTTP/1.1\r\n") == 2);
  CHECK(starts_with(c.s2c, "HTTP/1.1 200 OK\r\n"));
  CHECK(count_of(c.s2c, "HTTP/1.1 200 OK\r\n") == 2);
  CHECK(count_of(c.s2c, "\r\n\r\nhello from difftrace\n") == 2);
  CHECK(c.c2s_gap_bytes + c.s2c_gap_bytes == 0);
  CHECK(c.reason == CloseReason::fin);
  CHECK(c.close_ts > c.open_ts);
  CHECK(r->summary.tcp.direction_by_syn == 1);
  CHECK(r->summary.tcp.midstream_pickups == 0);
  CHECK(r->summary.decode.tcp_segments == r->summary.read.records);
}

TEST_CASE("recorded: Linux cooked v2 (-i any), IPv6", "[pcap]") {
  auto r = replay_fixture("any_sll2_ipv6.pcap");
  REQUIRE(r->sink.conns.size() == 1);
  const auto& c = r->sink.conns[0];
  CHECK(c.key.client.addr.family == IpFamily::v6);
  CHECK(to_string(c.key.server.addr) == "::1");
  CHECK(starts_with(c.c2s, "GET /hello.txt HTTP/1.1\r\n"));
  CHECK(starts_with(c.s2c, "HTTP/1.1 200 OK\r\n"));
  CHECK(c.s2c.find("hello from difftrace\n") != std::string::npos);
  CHECK(c.c2s_gap_bytes + c.s2c_gap_bytes == 0);
}

TEST_CASE("recorded: Linux cooked v1 (-i any), IPv4, large response", "[pcap]") {
  auto r = replay_fixture("any_sll_ipv4.pcap");
  REQUIRE(r->sink.conns.size() == 1);
  const auto& c = r->sink.conns[0];
  CHECK(starts_with(c.c2s, "GET /big.txt HTTP/1.1\r\n"));
  std::string body;
  for (int i = 1; i <= 4000; ++i) body += std::to_string(i) + "\n";
  const size_t body_at = c.s2c.find("\r\n\r\n");
  REQUIRE(body_at != std::string::npos);
  CHECK(c.s2c.substr(body_at + 4) == body);
  CHECK(c.c2s_gap_bytes + c.s2c_gap_bytes == 0);
  CHECK(c.reason == CloseReason::fin);
}

TEST_CASE("recorded: snaplen 120 cuts payloads, reported as gaps, never as data", "[pcap]") {
  const std::string path = fixture("lo_snaplen_cut.pcap");
  auto r = replay_fixture("lo_snaplen_cut.pcap");
  REQUIRE(r->sink.conns.size() == 1);
  const auto& c = r->sink.conns[0];
  CHECK(starts_with(c.c2s, "GET /big.txt"));
  CHECK(c.c2s.find("[gap ") != std::string::npos);
  CHECK(starts_with(c.s2c, "HTTP/1.1 200"));
  CHECK(c.s2c_gap_bytes > 18000);
  CHECK(r->summary.decode.snaplen_cut_segments >= 3);
  // Every wire byte is delivered or gapped exactly once.
  const auto wire = wire_bytes_by_src_port(path);
  CHECK(c.c2s_data_bytes + c.c2s_gap_bytes == wire.at(c.key.client.port));
  CHECK(c.s2c_data_bytes + c.s2c_gap_bytes == wire.at(c.key.server.port));
  CHECK(c.reason == CloseReason::fin);
}

TEST_CASE("recorded: a refused connection is a SYN answered by RST", "[pcap]") {
  auto r = replay_fixture("lo_refused_rst.pcap");
  REQUIRE(r->sink.conns.size() == 1);
  const auto& c = r->sink.conns[0];
  CHECK(c.reason == CloseReason::reset);
  CHECK(c.c2s.empty());
  CHECK(c.s2c.empty());
  CHECK(r->sink.events.size() == 2);
}

TEST_CASE("DeepFlow httpv1.pcap: the request line their .result reports, picked up mid-stream",
          "[pcap]") {
  // The .result file (Rust debug format) names method, path and version of the request.
  std::ifstream result_file(fixture("deepflow/httpv1.result"));
  REQUIRE(result_file.good());
  std::stringstream text;
  text << result_file.rdbuf();
  const std::string result = text.str();
  const size_t request = result.find("msg_type: Request");
  REQUIRE(request != std::string::npos);
  const std::string version = field_after(result, request, "version: V1_", ",");
  std::string method = field_after(result, request, "method: ", ",");
  const std::string path = field_after(result, request, "path: \"", "\"");
  for (char& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const std::string request_line = method + " " + path + " HTTP/1." + version + "\r\n";
  CHECK(request_line == "POST /query?1590632942 HTTP/1.1\r\n");
  const size_t request_bytes =
      std::stoul(field_after(result, request, "captured_request_byte: ", ","));

  auto r = replay_fixture("deepflow/httpv1.pcap");
  REQUIRE(r->sink.conns.size() == 1);
  const auto& c = r->sink.conns[0];
  CHECK(to_string(c.key) == "10.33.0.31:61959 -> 120.52.183.165:80");
  CHECK(starts_with(c.c2s, request_line));
  CHECK(c.c2s.size() == request_bytes);
  CHECK(starts_with(c.s2c, "HTTP/1.1 200 OK\r\n"));
  CHECK(r->summary.tcp.midstream_pickups == 1);
  CHECK(r->summary.tcp.direction_by_http == 1);
  CHECK(c.reason == CloseReason::end_of_capture);
  // Wire duration from the capture: 02:29:02.971698 -> 02:29:03.055749.
  REQUIRE(c.s2c_data_ts.size() == 1);
  CHECK(c.s2c_data_ts[0] - c.c2s_data_ts.at(0) == 84'051'000);
}

TEST_CASE("DeepFlow http.pcap: GET / and its 5073-byte response", "[pcap]") {
  auto r = replay_fixture("deepflow/http.pcap");
  REQUIRE(r->sink.conns.size() == 1);
  const auto& c = r->sink.conns[0];
  CHECK(to_string(c.key) == "10.1.6.93:43230 -> 10.1.6.92:80");
  CHECK(starts_with(c.c2s, "GET / HTTP/1.1\r\n"));
  CHECK(c.c2s.size() == 73);
  CHECK(starts_with(c.s2c, "HTTP/1.1 200 OK\r\n"));
  CHECK(c.s2c.size() == 5073);
  CHECK(c.c2s_gap_bytes + c.s2c_gap_bytes == 0);
  CHECK(c.reason == CloseReason::fin);
}
