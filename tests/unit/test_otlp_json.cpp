// The OTLP JSON encoder: parsed back with nlohmann::json, the output must have
// the OTLP ExportTraceServiceRequest shape, the span's values, and survive
// paths with quotes, backslashes and control bytes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
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

// JSON string escaping a byte at a time, for the tests of the word-at-a-time encoder.
std::string escaped_reference(std::string_view s) {
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


// Spans that between them write every attribute, every status message and every escape.
std::vector<Span> pinned_spans() {
  using difftrace::capture::Rpc;
  using difftrace::capture::SpanId;
  auto pod = std::make_shared<const difftrace::capture::ResourceAttributes>(
      difftrace::capture::ResourceAttributes{{"container.id", "c0ffee"},
                                             {"k8s.pod.name", "web-7d\"f\\8"}});
  auto pod_copy = std::make_shared<const difftrace::capture::ResourceAttributes>(*pod);

  // A server span of an HTTP/1 request, with every optional field of its own set.
  Span a = difftrace::testing::sample_span(10, "nginx", "/item/42", 200);
  a.trace_id = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
  a.span_id = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  a.parent_span_id = SpanId{0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
  a.query = "a=1&b=%22";
  a.path_template = "/item/{n}";
  a.resource = pod;
  a.trace_from_kernel = true;
  a.capture_gap = true;
  a.decision = "reported";
  a.reason = "latency";
  a.threshold_ns = 5'000'000;

  // A gRPC client call over HTTP/2 that failed and was reset: the rpc status wins.
  Span b = difftrace::testing::sample_span(20, "svc \"x\"\\\xc3\xa9", "/pkg.Svc/Get", 200,
                                           SpanKind::kClient);
  b.span_id = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  b.http_version = 2;
  b.method = "POST";
  b.rpc = std::make_shared<const Rpc>(Rpc{"pkg.Svc", "Get", 14});
  b.unresolved_fields = 3;
  b.end_reason = Span::kEndReset;
  b.local = {"10.0.0.2", 51000};
  b.peer = {"10.0.0.3", 50051};
  b.request_bytes = 0;
  b.response_bytes = 18'446'744'073'709'551'615ull;
  b.start_unix_ns = 0;
  b.end_unix_ns = 9;

  // No response, a path with bytes to escape and bytes that are not UTF-8, no template of its
  // own (the name's is made from the path); estimated. The same resource as a's, by value.
  Span c = difftrace::testing::sample_span(10, "nginx", "/q\"\\\x01\x1f\x7f/\xc3\xa9\xff/17", 0);
  c.resource = pod_copy;
  c.decision = "estimated";
  c.estimate_method = "around_child";
  c.estimate_samples = 12;
  c.estimate_profile_samples = 40;

  // A client's 404 (an error for a client), HTTP/2 with an rpc of method only and status OK.
  Span d = difftrace::testing::sample_span(30, "api", "/x", 404, SpanKind::kClient);
  d.http_version = 2;
  d.rpc = std::make_shared<const Rpc>(Rpc{"", "M", 0});
  d.estimate_method = "after_parent";
  d.estimate_samples = 0;

  // A server's reset HTTP/2 stream without rpc, and a server's 503; ports and ids of 0.
  Span e = difftrace::testing::sample_span(30, "api", "/", 200);
  e.http_version = 2;
  e.end_reason = Span::kEndReset;
  e.local = {"", 0};
  e.peer = {"::1", 0};
  e.tid = 0;
  e.trace_id = {};
  e.span_id = {};
  Span f = difftrace::testing::sample_span(30, "api", "/health", 503);
  f.method = "";
  return {a, b, c, d, e, f};
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
  const auto reference = escaped_reference;
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

TEST_CASE("the encoding of spans with every attribute, status and escape is pinned byte for byte",
          "[otlp]") {
  // Written by the encoder before its cursor rewrite and checked by hand against the span
  // fields: any change to the bytes written (order, spacing, escapes, numbers) fails here.
  const std::string expected =
      R"({"resourceSpans":[)"
      R"({"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"nginx"}})"
      R"(,{"key":"process.pid","value":{"intValue":"10"}})"
      R"(,{"key":"host.name","value":{"stringValue":"host-a"}})"
      R"(,{"key":"container.id","value":{"stringValue":"c0ffee"}})"
      R"(,{"key":"k8s.pod.name","value":{"stringValue":"web-7d\"f\\8"}})"
      R"(]},"scopeSpans":[{"scope":{"name":"difftrace"},"spans":[)"
      R"({"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","parentSpanId":"fedcba9876543210")"
      R"(,"name":"GET /item/{n}")"
      R"(,"kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001234567")"
      R"(,"attributes":[{"key":"http.request.method","value":{"stringValue":"GET"}})"
      R"(,{"key":"url.path","value":{"stringValue":"/item/42"}})"
      R"(,{"key":"url.query","value":{"stringValue":"a=1&b=%22"}})"
      R"(,{"key":"url.template","value":{"stringValue":"/item/{n}"}})"
      R"(,{"key":"http.response.status_code","value":{"intValue":"200"}})"
      R"(,{"key":"server.address","value":{"stringValue":"127.0.0.1"}})"
      R"(,{"key":"server.port","value":{"intValue":"8080"}})"
      R"(,{"key":"client.address","value":{"stringValue":"127.0.0.1"}})"
      R"(,{"key":"client.port","value":{"intValue":"40000"}})"
      R"(,{"key":"thread.id","value":{"intValue":"11"}})"
      R"(,{"key":"http.request.size","value":{"intValue":"77"}})"
      R"(,{"key":"http.response.size","value":{"intValue":"99"}})"
      R"(,{"key":"difftrace.capture_gap","value":{"stringValue":"true"}})"
      R"(,{"key":"difftrace.trace_id.origin","value":{"stringValue":"kernel"}})"
      R"(,{"key":"difftrace.decision","value":{"stringValue":"reported"}})"
      R"(,{"key":"difftrace.reason","value":{"stringValue":"latency"}})"
      R"(,{"key":"difftrace.threshold_ns","value":{"intValue":"5000000"}})"
      R"(],"status":{}},)"
      R"({"traceId":"abababababababababababababababab","spanId":"0101010101010101")"
      R"(,"name":"GET /q\"\\\u0001\u001f\u007f/)" "\xc3\xa9\xef\xbf\xbd" R"(/{n}")"
      R"(,"kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001234567")"
      R"(,"attributes":[{"key":"http.request.method","value":{"stringValue":"GET"}})"
      R"(,{"key":"url.path","value":{"stringValue":"/q\"\\\u0001\u001f\u007f/)" "\xc3\xa9\xef\xbf\xbd" R"(/17"}})"
      R"(,{"key":"server.address","value":{"stringValue":"127.0.0.1"}})"
      R"(,{"key":"server.port","value":{"intValue":"8080"}})"
      R"(,{"key":"client.address","value":{"stringValue":"127.0.0.1"}})"
      R"(,{"key":"client.port","value":{"intValue":"40000"}})"
      R"(,{"key":"thread.id","value":{"intValue":"11"}})"
      R"(,{"key":"http.request.size","value":{"intValue":"77"}})"
      R"(,{"key":"http.response.size","value":{"intValue":"99"}})"
      R"(,{"key":"difftrace.decision","value":{"stringValue":"estimated"}})"
      R"(,{"key":"difftrace.estimate.method","value":{"stringValue":"around_child"}})"
      R"(,{"key":"difftrace.estimate.samples","value":{"intValue":"12"}})"
      R"(,{"key":"difftrace.estimate.profile_samples","value":{"intValue":"40"}})"
      R"(],"status":{"code":2,"message":"no response"}}]}]},)"
      R"({"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc \"x\"\\)" "\xc3\xa9" R"("}})"
      R"(,{"key":"process.pid","value":{"intValue":"20"}})"
      R"(,{"key":"host.name","value":{"stringValue":"host-a"}})"
      R"(]},"scopeSpans":[{"scope":{"name":"difftrace"},"spans":[)"
      R"({"traceId":"abababababababababababababababab","spanId":"1122334455667788")"
      R"(,"name":"POST /pkg.Svc/Get")"
      R"(,"kind":3,"startTimeUnixNano":"0","endTimeUnixNano":"9")"
      R"(,"attributes":[{"key":"network.protocol.name","value":{"stringValue":"http"}})"
      R"(,{"key":"network.protocol.version","value":{"stringValue":"2"}})"
      R"(,{"key":"http.request.method","value":{"stringValue":"POST"}})"
      R"(,{"key":"url.path","value":{"stringValue":"/pkg.Svc/Get"}})"
      R"(,{"key":"http.response.status_code","value":{"intValue":"200"}})"
      R"(,{"key":"server.address","value":{"stringValue":"10.0.0.3"}})"
      R"(,{"key":"server.port","value":{"intValue":"50051"}})"
      R"(,{"key":"client.address","value":{"stringValue":"10.0.0.2"}})"
      R"(,{"key":"client.port","value":{"intValue":"51000"}})"
      R"(,{"key":"thread.id","value":{"intValue":"21"}})"
      R"(,{"key":"http.request.size","value":{"intValue":"0"}})"
      R"(,{"key":"http.response.size","value":{"intValue":"18446744073709551615"}})"
      R"(,{"key":"rpc.system","value":{"stringValue":"grpc"}})"
      R"(,{"key":"rpc.service","value":{"stringValue":"pkg.Svc"}})"
      R"(,{"key":"rpc.method","value":{"stringValue":"Get"}})"
      R"(,{"key":"rpc.grpc.status_code","value":{"intValue":"14"}})"
      R"(,{"key":"difftrace.hpack.unresolved_fields","value":{"intValue":"3"}})"
      R"(,{"key":"difftrace.http2.reset","value":{"stringValue":"true"}})"
      R"(,{"key":"difftrace.decision","value":{"stringValue":"full"}})"
      R"(],"status":{"code":2,"message":"grpc-status 14"}}]}]},)"
      R"({"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}})"
      R"(,{"key":"process.pid","value":{"intValue":"30"}})"
      R"(,{"key":"host.name","value":{"stringValue":"host-a"}})"
      R"(]},"scopeSpans":[{"scope":{"name":"difftrace"},"spans":[)"
      R"({"traceId":"abababababababababababababababab","spanId":"0101010101010101")"
      R"(,"name":"GET /x")"
      R"(,"kind":3,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001234567")"
      R"(,"attributes":[{"key":"network.protocol.name","value":{"stringValue":"http"}})"
      R"(,{"key":"network.protocol.version","value":{"stringValue":"2"}})"
      R"(,{"key":"http.request.method","value":{"stringValue":"GET"}})"
      R"(,{"key":"url.path","value":{"stringValue":"/x"}})"
      R"(,{"key":"http.response.status_code","value":{"intValue":"404"}})"
      R"(,{"key":"server.address","value":{"stringValue":"127.0.0.1"}})"
      R"(,{"key":"server.port","value":{"intValue":"40000"}})"
      R"(,{"key":"client.address","value":{"stringValue":"127.0.0.1"}})"
      R"(,{"key":"client.port","value":{"intValue":"8080"}})"
      R"(,{"key":"thread.id","value":{"intValue":"31"}})"
      R"(,{"key":"http.request.size","value":{"intValue":"77"}})"
      R"(,{"key":"http.response.size","value":{"intValue":"99"}})"
      R"(,{"key":"rpc.system","value":{"stringValue":"grpc"}})"
      R"(,{"key":"rpc.method","value":{"stringValue":"M"}})"
      R"(,{"key":"rpc.grpc.status_code","value":{"intValue":"0"}})"
      R"(,{"key":"difftrace.decision","value":{"stringValue":"full"}})"
      R"(,{"key":"difftrace.estimate.method","value":{"stringValue":"after_parent"}})"
      R"(,{"key":"difftrace.estimate.samples","value":{"intValue":"0"}})"
      R"(],"status":{"code":2,"message":"HTTP 404"}},)"
      R"({"traceId":"00000000000000000000000000000000","spanId":"0000000000000000")"
      R"(,"name":"GET /")"
      R"(,"kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001234567")"
      R"(,"attributes":[{"key":"network.protocol.name","value":{"stringValue":"http"}})"
      R"(,{"key":"network.protocol.version","value":{"stringValue":"2"}})"
      R"(,{"key":"http.request.method","value":{"stringValue":"GET"}})"
      R"(,{"key":"url.path","value":{"stringValue":"/"}})"
      R"(,{"key":"http.response.status_code","value":{"intValue":"200"}})"
      R"(,{"key":"server.address","value":{"stringValue":""}})"
      R"(,{"key":"server.port","value":{"intValue":"0"}})"
      R"(,{"key":"client.address","value":{"stringValue":"::1"}})"
      R"(,{"key":"client.port","value":{"intValue":"0"}})"
      R"(,{"key":"thread.id","value":{"intValue":"0"}})"
      R"(,{"key":"http.request.size","value":{"intValue":"77"}})"
      R"(,{"key":"http.response.size","value":{"intValue":"99"}})"
      R"(,{"key":"difftrace.http2.reset","value":{"stringValue":"true"}})"
      R"(,{"key":"difftrace.decision","value":{"stringValue":"full"}})"
      R"(],"status":{"code":2,"message":"stream reset"}},)"
      R"({"traceId":"abababababababababababababababab","spanId":"0101010101010101")"
      R"(,"name":" /health")"
      R"(,"kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001234567")"
      R"(,"attributes":[{"key":"http.request.method","value":{"stringValue":""}})"
      R"(,{"key":"url.path","value":{"stringValue":"/health"}})"
      R"(,{"key":"http.response.status_code","value":{"intValue":"503"}})"
      R"(,{"key":"server.address","value":{"stringValue":"127.0.0.1"}})"
      R"(,{"key":"server.port","value":{"intValue":"8080"}})"
      R"(,{"key":"client.address","value":{"stringValue":"127.0.0.1"}})"
      R"(,{"key":"client.port","value":{"intValue":"40000"}})"
      R"(,{"key":"thread.id","value":{"intValue":"31"}})"
      R"(,{"key":"http.request.size","value":{"intValue":"77"}})"
      R"(,{"key":"http.response.size","value":{"intValue":"99"}})"
      R"(,{"key":"difftrace.decision","value":{"stringValue":"full"}})"
      R"(],"status":{"code":2,"message":"HTTP 503"}}]}]}]})";
  fmt::memory_buffer b;
  difftrace::exporters::append_otlp_request(b, pinned_spans(), "host-a");
  CHECK(std::string(b.data(), b.size()) == expected);
}

TEST_CASE("spans whose every string escapes at its longest encode whole", "[otlp]") {
  // Each span is written into room reserved for it beforehand: the bound must hold for
  // strings that grow the most (a control byte is 6 bytes, a stray byte U+FFFD's 3).
  for (const std::string& unit : {std::string(1, '\x01'), std::string("\xff")}) {
    std::string s;
    while (s.size() < 127) s += unit;
    Span span = pinned_spans()[1];  // HTTP/2, gRPC, an error: the most attributes
    span.method = span.path = span.query = span.path_template = s;
    span.local.address = span.peer.address = s;
    span.rpc = std::make_shared<const difftrace::capture::Rpc>(
        difftrace::capture::Rpc{s, s, 2});
    span.resource = std::make_shared<const difftrace::capture::ResourceAttributes>(
        difftrace::capture::ResourceAttributes{{"k8s.pod.name", s}});
    span.service_name = s;
    auto j = encode({span, span});
    const auto& out = j["resourceSpans"][0]["scopeSpans"][0]["spans"];
    REQUIRE(out.size() == 2);
    auto a = attrs(out[1]["attributes"]);
    if (unit == "\xff") {
      std::string fffd;
      for (std::size_t i = 0; i < s.size(); i++) fffd += "\xef\xbf\xbd";
      CHECK(a["url.query"]["stringValue"] == fffd);
      CHECK(a["rpc.method"]["stringValue"] == fffd);
    } else {
      CHECK(a["url.query"]["stringValue"] == s);
      CHECK(a["rpc.method"]["stringValue"] == s);
      CHECK(out[1]["name"] == s + " " + s);
    }
  }
}

// The id writer turns 4 bytes at a time into 8 digits (hex_digits4): every byte value, at
// each of a trace id's 16 places and a span id's 8, against snprintf's %02x.
TEST_CASE("ids encode as lowercase hex for every byte value at every place", "[otlp]") {
  std::vector<Span> spans;
  for (int k = 0; k < 256; k++) {
    Span s = make_span(1, "svc", "/x", 200);
    for (int i = 0; i < 16; i++) s.trace_id[i] = static_cast<std::uint8_t>(k + 17 * i);
    for (int i = 0; i < 8; i++) s.span_id[i] = static_cast<std::uint8_t>(k * 3 + 29 * i);
    s.parent_span_id = std::array<std::uint8_t, 8>{};
    for (int i = 0; i < 8; i++) (*s.parent_span_id)[i] = static_cast<std::uint8_t>(255 - k - i);
    spans.push_back(s);
  }
  const auto hex = [](const std::uint8_t* b, std::size_t n) {
    std::string t;
    char two[3];
    for (std::size_t i = 0; i < n; i++) {
      std::snprintf(two, sizeof two, "%02x", b[i]);
      t += two;
    }
    return t;
  };
  const auto j = encode(spans);
  const auto& out = j["resourceSpans"][0]["scopeSpans"][0]["spans"];
  REQUIRE(out.size() == spans.size());
  for (std::size_t k = 0; k < spans.size(); k++) {
    INFO("span " << k);
    CHECK(out[k]["traceId"] == hex(spans[k].trace_id.data(), 16));
    CHECK(out[k]["spanId"] == hex(spans[k].span_id.data(), 8));
    CHECK(out[k]["parentSpanId"] == hex(spans[k].parent_span_id->data(), 8));
  }
}

// Decimal as std::to_string writes it, at each digit count's edges (the writer counts the
// digits first and writes four at a time).
TEST_CASE("numbers encode as std::to_string writes them at every digit count's edges",
          "[otlp]") {
  std::vector<std::uint64_t> values = {0, 1, UINT64_MAX, UINT64_MAX - 1};
  for (std::uint64_t p = 1; p <= UINT64_MAX / 10; p *= 10) {
    values.push_back(p * 10 - 1);
    values.push_back(p * 10);
    values.push_back(p * 10 + 1);
    values.push_back(p * 7 + 3);
  }
  values.push_back(10'000'000'000'000'000'000ull);
  for (const std::uint64_t v : values) {
    INFO("value " << v);
    Span s = make_span(1, "svc", "/x", 200);
    s.start_unix_ns = v;
    s.request_bytes = v;
    fmt::memory_buffer b;
    difftrace::exporters::append_otlp_request(b, {s}, "host-a");
    const std::string text(b.data(), b.size());
    const std::string want = std::to_string(v);
    CHECK(text.find("\"startTimeUnixNano\":\"" + want + "\"") != std::string::npos);
    CHECK(text.find(R"({"key":"http.request.size","value":{"intValue":")" + want + "\"}}") !=
          std::string::npos);
  }
}

// The word tests (needs_look) act on each byte's low 7 bits with additions that must not
// carry into a neighbour: every byte value at every place of strings of 1 to 20 bytes,
// among fillers next to the values looked for (space, '!', '#', '[', ']', '~').
TEST_CASE("every byte value escapes as a byte-at-a-time reference does, among any neighbours",
          "[otlp]") {
  for (const char filler : {' ', '!', '#', '[', ']', '~'})
    for (std::size_t len = 1; len <= 20; len++)
      for (std::size_t at = 0; at < len; at++)
        for (int c = 0; c < 256; c++) {
          std::string s(len, filler);
          s[at] = static_cast<char>(c);
          fmt::memory_buffer out;
          difftrace::exporters::append_json_string(out, s);
          INFO("filler " << filler << " len " << len << " at " << at << " byte " << c);
          REQUIRE(std::string(out.data(), out.size()) == escaped_reference(s));
        }
}
