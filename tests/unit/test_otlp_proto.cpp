// The OTLP protobuf encoder: parsed back with the generated classes, a
// request must hold the spans' values, group them by resource, and carry the
// same attributes as the OTLP JSON writer for the same spans.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "export/otlp_json.h"
#include "export/otlp_proto.h"
#include "unit/export_samples.h"

using difftrace::capture::Span;
using difftrace::capture::SpanKind;
using difftrace::testing::sample_span;
namespace otlp = difftrace::otlp;
namespace ex = difftrace::exporters;

namespace {

otlp::ExportTraceServiceRequest round_trip(const std::vector<Span>& spans) {
  const std::string body = ex::encode_otlp_request(spans, "host-a");
  otlp::ExportTraceServiceRequest req;
  REQUIRE(req.ParseFromString(body));
  return req;
}

std::map<std::string, otlp::AnyValue> attrs(
    const google::protobuf::RepeatedPtrField<otlp::KeyValue>& list) {
  std::map<std::string, otlp::AnyValue> m;
  for (const auto& kv : list) m[kv.key()] = kv.value();
  return m;
}

std::string bytes(const std::uint8_t* b, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(b), n);
}

}  // namespace

TEST_CASE("spans round-trip through the OTLP protobuf classes", "[otlp][proto]") {
  Span with_parent = sample_span(10, "nginx", "/a", 200);
  with_parent.parent_span_id = difftrace::capture::SpanId{1, 2, 3, 4, 5, 6, 7, 8};
  with_parent.decision = "anomalous";
  with_parent.reason = "latency";
  with_parent.threshold_ns = 5'000'000;
  Span client = sample_span(10, "nginx", "/c", 404, SpanKind::kClient);
  client.span_id.fill(0x02);
  auto req = round_trip({with_parent, sample_span(20, "fn", "/b", 503), client});

  REQUIRE(req.resource_spans_size() == 2);  // one resource per process
  const auto& nginx = req.resource_spans(0);
  auto r = attrs(nginx.resource().attributes());
  CHECK(r["service.name"].string_value() == "nginx");
  CHECK(r["process.pid"].int_value() == 10);
  CHECK(r["host.name"].string_value() == "host-a");
  REQUIRE(nginx.scope_spans_size() == 1);
  CHECK(nginx.scope_spans(0).scope().name() == "difftrace");
  REQUIRE(nginx.scope_spans(0).spans_size() == 2);

  const auto& s = nginx.scope_spans(0).spans(0);
  CHECK(s.trace_id() == std::string(16, '\xab'));
  CHECK(s.span_id() == std::string(8, '\x01'));
  CHECK(s.parent_span_id() == bytes(with_parent.parent_span_id->data(), 8));
  CHECK(s.name() == "GET /a");
  CHECK(s.kind() == otlp::Span::SPAN_KIND_SERVER);
  CHECK(s.start_time_unix_nano() == 1'700'000'000'000'000'000ull);
  CHECK(s.end_time_unix_nano() == 1'700'000'000'001'234'567ull);
  auto a = attrs(s.attributes());
  CHECK(a["http.request.method"].string_value() == "GET");
  CHECK(a["url.path"].string_value() == "/a");
  CHECK(a["http.response.status_code"].int_value() == 200);
  CHECK(a["server.address"].string_value() == "127.0.0.1");
  CHECK(a["server.port"].int_value() == 8080);
  CHECK(a["client.port"].int_value() == 40000);
  CHECK(a["thread.id"].int_value() == 11);
  CHECK(a["http.request.size"].int_value() == 77);
  CHECK(a["http.response.size"].int_value() == 99);
  CHECK(a["difftrace.decision"].string_value() == "anomalous");
  CHECK(a["difftrace.reason"].string_value() == "latency");
  CHECK(a["difftrace.threshold_ns"].int_value() == 5'000'000);
  CHECK_FALSE(s.has_status());

  const auto& c = nginx.scope_spans(0).spans(1);
  CHECK(c.kind() == otlp::Span::SPAN_KIND_CLIENT);
  CHECK(c.parent_span_id().empty());
  CHECK(c.status().code() == otlp::Status::STATUS_CODE_ERROR);  // 4xx is an error for a client
  CHECK(c.status().message() == "HTTP 404");
  CHECK(attrs(c.attributes())["server.port"].int_value() == 40000);  // the peer, for a client

  const auto& fn = req.resource_spans(1).scope_spans(0).spans(0);
  CHECK(fn.status().code() == otlp::Status::STATUS_CODE_ERROR);
  CHECK(fn.status().message() == "HTTP 503");
}

TEST_CASE("protobuf and JSON carry the same attributes", "[otlp][proto]") {
  Span s = sample_span(7, "svc", "/x?y=1", 0);  // no response: no status code attribute
  s.reason = "status";
  auto req = round_trip({s});
  fmt::memory_buffer b;
  ex::append_otlp_request(b, {s}, "host-a");
  auto j = nlohmann::json::parse(std::string(b.data(), b.size()));
  const auto& js = j["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  const auto& ps = req.resource_spans(0).scope_spans(0).spans(0);
  REQUIRE(js["attributes"].size() == static_cast<std::size_t>(ps.attributes_size()));
  for (int i = 0; i < ps.attributes_size(); i++) {
    const auto& kv = ps.attributes(i);
    const auto& ja = js["attributes"][i];
    CHECK(ja["key"] == kv.key());
    if (kv.value().has_string_value())
      CHECK(ja["value"]["stringValue"] == kv.value().string_value());
    else
      CHECK(ja["value"]["intValue"] == std::to_string(kv.value().int_value()));
  }
  CHECK(js["status"]["message"] == ps.status().message());
  CHECK(ps.status().message() == "no response");
}

TEST_CASE("bytes that are not UTF-8 become U+FFFD so the request stays valid", "[otlp][proto]") {
  // A path cut mid-character at the capture limit, and a stray byte.
  Span s = sample_span(1, "svc\xff", "/caf\xc3", 200);
  auto req = round_trip({s});
  const auto& span = req.resource_spans(0).scope_spans(0).spans(0);
  CHECK(attrs(span.attributes())["url.path"].string_value() == "/caf\xef\xbf\xbd");
  CHECK(span.name() == "GET /caf\xef\xbf\xbd");
  CHECK(attrs(req.resource_spans(0).resource().attributes())["service.name"].string_value() ==
        "svc\xef\xbf\xbd");
  fmt::memory_buffer b;
  ex::append_otlp_request(b, {s}, "h");
  CHECK_NOTHROW(nlohmann::json::parse(std::string(b.data(), b.size())));
}

TEST_CASE("a partial success answer counts the refused spans", "[otlp][proto]") {
  otlp::ExportTraceServiceResponse resp;
  resp.mutable_partial_success()->set_rejected_spans(3);
  resp.mutable_partial_success()->set_error_message("too old");
  CHECK(ex::otlp_rejected_spans(resp.SerializeAsString()) == 3);
  CHECK(ex::otlp_rejected_spans("") == 0);
  CHECK(ex::otlp_rejected_spans(otlp::ExportTraceServiceResponse().SerializeAsString()) == 0);
  CHECK(ex::otlp_rejected_spans("OK") == 0);  // not protobuf
}

TEST_CASE("an estimated span says how it was placed and from how many samples", "[otlp][proto]") {
  Span parent = sample_span(7, "activator", "/fn-async/", 0);
  parent.decision = "estimated";
  parent.estimate_method = "before_child";
  parent.estimate_samples = 12;
  Span child = parent;
  child.estimate_method = "inside_parent";
  child.estimate_profile_samples = 900;
  auto req = round_trip({parent, child, sample_span(7, "activator", "/seen", 200)});
  const auto& spans = req.resource_spans(0).scope_spans(0);
  REQUIRE(spans.spans_size() == 3);
  auto p = attrs(spans.spans(0).attributes());
  CHECK(p["difftrace.estimate.method"].string_value() == "before_child");
  CHECK(p["difftrace.estimate.samples"].int_value() == 12);
  CHECK(p.count("difftrace.estimate.profile_samples") == 0);  // its length is not a profile's
  auto c = attrs(spans.spans(1).attributes());
  CHECK(c["difftrace.estimate.method"].string_value() == "inside_parent");
  CHECK(c["difftrace.estimate.profile_samples"].int_value() == 900);
  CHECK(attrs(spans.spans(2).attributes()).count("difftrace.estimate.method") == 0);
}
