// The OTLP JSON encoder: parsed back with nlohmann::json, the output must have
// the OTLP ExportTraceServiceRequest shape, the span's values, and survive
// paths with quotes, backslashes and control bytes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <memory>
#include <numeric>
#include <tuple>

#include "capture/request_target.h"
#include "export/otlp_json.h"
#include "export/resource.h"
#include "export/utf8.h"
#include "export_samples.h"

using difftrace::capture::Span;
using difftrace::capture::SpanKind;

namespace {

// The exporters' sample span, 1234 ns long.
Span make_span(std::uint32_t pid, const std::string& service, const std::string& path, int status) {
  Span s = difftrace::testing::sample_span(pid, service, path, status);
  s.end_unix_ns = s.start_unix_ns + 1234;
  return s;
}

nlohmann::json encode(const std::vector<Span>& spans) {
  fmt::memory_buffer b;
  difftrace::exporters::append_otlp_request(b, spans, "host-a");
  return nlohmann::json::parse(std::string(b.data(), b.size()));
}

std::map<std::string, nlohmann::json> attrs(const nlohmann::json& list) {
  std::map<std::string, nlohmann::json> m;
  for (const auto& a : list) m[a["key"]] = a["value"];
  return m;
}

}  // namespace

TEST_CASE("spans encode as an OTLP ExportTraceServiceRequest", "[otlp]") {
  Span parent_set = make_span(10, "nginx", "/a", 200);
  parent_set.parent_span_id = difftrace::capture::SpanId{1, 2, 3, 4, 5, 6, 7, 8};
  auto j = encode({parent_set, make_span(20, "fn", "/b", 503), make_span(10, "nginx", "/c", 404)});
  REQUIRE(j["resourceSpans"].size() == 2);  // one resource per process
  const auto& nginx = j["resourceSpans"][0];
  auto r = attrs(nginx["resource"]["attributes"]);
  CHECK(r["service.name"]["stringValue"] == "nginx");
  CHECK(r["process.pid"]["intValue"] == "10");
  CHECK(r["host.name"]["stringValue"] == "host-a");
  const auto& spans = nginx["scopeSpans"][0]["spans"];
  REQUIRE(spans.size() == 2);
  CHECK(nginx["scopeSpans"][0]["scope"]["name"] == "difftrace");
  const auto& s = spans[0];
  CHECK(s["traceId"] == std::string(32, 'a').replace(0, 32, "abababababababababababababababab"));
  CHECK(s["spanId"] == "0101010101010101");
  CHECK(s["parentSpanId"] == "0102030405060708");
  CHECK(s["name"] == "GET /a");
  CHECK(s["kind"] == 2);
  CHECK(s["startTimeUnixNano"] == "1700000000000000000");
  CHECK(s["endTimeUnixNano"] == "1700000000000001234");
  auto a = attrs(s["attributes"]);
  CHECK(a["http.request.method"]["stringValue"] == "GET");
  CHECK(a["url.path"]["stringValue"] == "/a");
  CHECK(a["http.response.status_code"]["intValue"] == "200");
  CHECK(a["server.port"]["intValue"] == "8080");
  CHECK(a["client.port"]["intValue"] == "40000");
  CHECK(a["http.request.size"]["intValue"] == "77");
  CHECK(a["difftrace.decision"]["stringValue"] == "full");
  CHECK(s["status"].empty());
  CHECK_FALSE(spans[1].contains("parentSpanId"));
  CHECK(spans[1]["status"].empty());  // 404 is not an error for a server
  const auto& fn = j["resourceSpans"][1]["scopeSpans"][0]["spans"][0];
  CHECK(fn["status"]["code"] == 2);  // 5xx is
}

TEST_CASE("strings are escaped so that any path stays valid JSON", "[otlp]") {
  std::string nasty = "/q\"\\\x01/?a=\"b\"&c=\\d\x01\x1f\x7f\xc3\xa9";
  auto s = make_span(1, "svc \"x\"", nasty, 200);
  difftrace::capture::split_target(s, /*keep_query_values=*/true);
  auto j = encode({s});
  const auto& span = j["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  CHECK(attrs(span["attributes"])["url.path"]["stringValue"] == "/q\"\\\x01/");
  CHECK(attrs(span["attributes"])["url.query"]["stringValue"] ==
        "a=\"b\"&c=\\d\x01\x1f\x7f\xc3\xa9");
  CHECK(span["name"] == "GET /q\"\\\x01/");
  CHECK(attrs(j["resourceSpans"][0]["resource"]["attributes"])["service.name"]["stringValue"] ==
        "svc \"x\"");
}

TEST_CASE("no spans give an empty request", "[otlp]") {
  CHECK(encode({})["resourceSpans"].empty());
}

TEST_CASE("resource_order groups spans by resource as a stable sort by resource does",
          "[otlp]") {
  // Interleaved processes and services, one resource with k8s attributes in two copies
  // (equal contents, different pointers), more resources than the grouping's fast path.
  auto k8s = std::make_shared<const difftrace::capture::ResourceAttributes>(
      difftrace::capture::ResourceAttributes{{"k8s.pod.name", "p"}});
  auto k8s_copy = std::make_shared<const difftrace::capture::ResourceAttributes>(*k8s);
  for (std::size_t processes : {3u, 100u}) {
    std::vector<Span> spans;
    for (std::uint32_t i = 0; i < 400; i++) {
      Span s = make_span(static_cast<std::uint32_t>(100 + (i * 7) % processes),
                         i % 3 ? "svc-a" : "svc-b", "/p" + std::to_string(i), 200);
      if (i % 5 == 0) s.resource = i % 2 ? k8s : k8s_copy;
      spans.push_back(std::move(s));
    }
    std::vector<std::size_t> expected(spans.size());
    std::iota(expected.begin(), expected.end(), 0);
    std::stable_sort(expected.begin(), expected.end(), [&](std::size_t a, std::size_t b) {
      using difftrace::exporters::extra_resource;
      return std::tie(spans[a].pid, spans[a].service_name, extra_resource(spans[a])) <
             std::tie(spans[b].pid, spans[b].service_name, extra_resource(spans[b]));
    });
    CHECK(difftrace::exporters::resource_order(spans) == expected);
  }
}

TEST_CASE("strings escape the same wherever the bytes to escape fall in 8-byte words",
          "[otlp]") {
  // append_json_string passes over words of plain ASCII at once: a byte to look at, at any
  // offset and any length, is escaped as a byte-at-a-time reference does it.
  auto reference = [](std::string_view s) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size(); i++) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        const std::size_t len = difftrace::exporters::utf8_sequence_length(s, i);
        out += len ? std::string(s.substr(i, len)) : "\xef\xbf\xbd";
        if (len) i += len - 1;
      } else if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20 || c == 0x7f) {
        out += fmt::format("\\u{:04x}", c);
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + "\"";
  };
  const std::string specials[] = {"\"", "\\", "\n", std::string(1, '\0'), "\x1f", "\x7f",
                                  "\xc3\xa9", "\xff", "\xe2\x82"};
  for (std::size_t len = 0; len <= 24; len++)
    for (std::size_t at = 0; at <= len; at++)
      for (const auto& sp : specials) {
        std::string s(len, 'a');
        s.insert(at, sp);
        fmt::memory_buffer out;
        difftrace::exporters::append_json_string(out, s);
        INFO("len " << len << " at " << at);
        CHECK(std::string(out.data(), out.size()) == reference(s));
      }
}
