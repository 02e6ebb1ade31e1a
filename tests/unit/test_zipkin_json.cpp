// The Zipkin v2 encoder: the body must be a JSON array of spans that meets
// the zipkin2 API's Span schema (zipkin-api.yaml): field names and types, id
// formats, microsecond times, endpoints with ipv4/ipv6, string-only tags.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "export/zipkin_json.h"
#include "unit/export_samples.h"

using difftrace::capture::Span;
using difftrace::capture::SpanKind;
using difftrace::testing::sample_span;
using nlohmann::json;

namespace {

json encode(const std::vector<Span>& spans) {
  fmt::memory_buffer b;
  difftrace::exporters::append_zipkin_spans(b, spans, "host-a");
  return json::parse(std::string(b.data(), b.size()));
}

bool lower_hex(const json& v, std::size_t len) {
  return v.is_string() && std::regex_match(v.get<std::string>(), std::regex("[0-9a-f]+")) &&
         v.get<std::string>().size() == len;
}

// Endpoint: {serviceName?: string, ipv4?: string, ipv6?: string, port?: int}.
void check_endpoint(const json& e) {
  REQUIRE(e.is_object());
  for (const auto& [k, v] : e.items()) {
    INFO(k);
    CHECK((k == "serviceName" || k == "ipv4" || k == "ipv6" || k == "port"));
    if (k == "port") CHECK((v.is_number_integer() && v.get<int>() > 0 && v.get<int>() < 65536));
    else CHECK(v.is_string());
  }
  CHECK((e.contains("ipv4") != e.contains("ipv6")));
}

// Every field of a zipkin2 Span, with its type; required: traceId, id.
void check_span(const json& s) {
  REQUIRE(s.is_object());
  static const std::set<std::string> known = {
      "traceId",   "name",     "parentId",      "id",             "kind",        "timestamp",
      "duration",  "debug",    "shared",        "localEndpoint",  "remoteEndpoint",
      "annotations", "tags"};
  for (const auto& [k, v] : s.items()) {
    INFO(k);
    CHECK(known.count(k));
  }
  CHECK(lower_hex(s["traceId"], 32));
  CHECK(lower_hex(s["id"], 16));
  if (s.contains("parentId")) CHECK(lower_hex(s["parentId"], 16));
  CHECK((s["kind"] == "SERVER" || s["kind"] == "CLIENT"));
  CHECK(s["name"].is_string());
  CHECK(s["timestamp"].is_number_unsigned());
  CHECK(s["duration"].is_number_unsigned());
  CHECK(s["duration"].get<std::uint64_t>() >= 1);
  check_endpoint(s["localEndpoint"]);
  check_endpoint(s["remoteEndpoint"]);
  REQUIRE(s["tags"].is_object());
  for (const auto& [k, v] : s["tags"].items()) {
    INFO(k);
    CHECK(v.is_string());
  }
}

}  // namespace

TEST_CASE("spans encode as a Zipkin v2 JSON array", "[zipkin]") {
  Span server = sample_span(10, "nginx", "/a", 200);
  server.parent_span_id = difftrace::capture::SpanId{1, 2, 3, 4, 5, 6, 7, 8};
  server.decision = "anomalous";
  server.reason = "latency";
  server.threshold_ns = 5'000'000;
  Span client = sample_span(10, "nginx", "/up", 502, SpanKind::kClient);
  client.local = {"::1", 41000};
  client.peer = {"::1", 9000};
  auto j = encode({server, client});
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 2);
  for (const auto& s : j) check_span(s);

  const auto& s = j[0];
  CHECK(s["traceId"] == "abababababababababababababababab");
  CHECK(s["id"] == "0101010101010101");
  CHECK(s["parentId"] == "0102030405060708");
  CHECK(s["kind"] == "SERVER");
  CHECK(s["name"] == "GET /a");
  CHECK(s["timestamp"] == 1'700'000'000'000'000ull);  // microseconds
  CHECK(s["duration"] == 1235);                       // 1234567 ns, rounded up
  CHECK(s["localEndpoint"] == json({{"serviceName", "nginx"}, {"ipv4", "127.0.0.1"}, {"port", 8080}}));
  CHECK(s["remoteEndpoint"] == json({{"ipv4", "127.0.0.1"}, {"port", 40000}}));
  const auto& t = s["tags"];
  CHECK(t["http.method"] == "GET");
  CHECK(t["http.path"] == "/a");
  CHECK(t["http.status_code"] == "200");
  CHECK_FALSE(t.contains("error"));
  CHECK(t["server.port"] == "8080");
  CHECK(t["client.address"] == "127.0.0.1");
  CHECK(t["process.pid"] == "10");
  CHECK(t["host.name"] == "host-a");
  CHECK(t["difftrace.decision"] == "anomalous");
  CHECK(t["difftrace.reason"] == "latency");
  CHECK(t["difftrace.threshold_ns"] == "5000000");

  const auto& c = j[1];
  CHECK(c["kind"] == "CLIENT");
  CHECK_FALSE(c.contains("parentId"));
  CHECK(c["localEndpoint"] == json({{"serviceName", "nginx"}, {"ipv6", "::1"}, {"port", 41000}}));
  CHECK(c["remoteEndpoint"] == json({{"ipv6", "::1"}, {"port", 9000}}));
  CHECK(c["tags"]["error"] == "HTTP 502");
  CHECK(c["tags"]["server.port"] == "9000");
  CHECK_FALSE(c["tags"].contains("difftrace.reason"));
}

TEST_CASE("Zipkin: no response is an error, a zero duration is 1 us", "[zipkin]") {
  Span s = sample_span(1, "svc", "/slow", 0);
  s.end_unix_ns = s.start_unix_ns;
  auto j = encode({s});
  check_span(j[0]);
  CHECK(j[0]["duration"] == 1);
  CHECK(j[0]["tags"]["error"] == "no response");
  CHECK_FALSE(j[0]["tags"].contains("http.status_code"));
}

TEST_CASE("Zipkin: an empty batch is an empty array", "[zipkin]") { CHECK(encode({}) == json::array()); }

TEST_CASE("an estimated span's tags say how it was placed and from how many samples", "[zipkin]") {
  Span s = sample_span(10, "activator", "/fn-async/", 0);
  s.decision = "estimated";
  s.estimate_method = "before_child";
  s.estimate_samples = 12;
  auto j = encode({s, sample_span(10, "activator", "/seen", 200)});
  REQUIRE(j.size() == 2);
  CHECK(j[0]["tags"]["difftrace.estimate.method"] == "before_child");
  CHECK(j[0]["tags"]["difftrace.estimate.samples"] == "12");
  CHECK_FALSE(j[0]["tags"].contains("difftrace.estimate.profile_samples"));
  CHECK_FALSE(j[1]["tags"].contains("difftrace.estimate.method"));
}
