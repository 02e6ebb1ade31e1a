// HttpExporter (otlp-http:URL, zipkin:URL) against a scripted server on
// loopback and against a closed port: export_spans() never waits, the queue
// bound drops and counts, batches go out by size and by age, gzip bodies
// decode to the spans, 503/429 are retried (Retry-After honoured), other 4xx
// are not, and flush() gives up in bounded time.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <thread>

#include "export/gzip.h"
#include "export/http_exporter.h"
#include "export/otlp_proto.h"
#include "export/zipkin_json.h"
#include "unit/export_samples.h"
#include "unit/http_test_server.h"

using namespace std::chrono_literals;
using difftrace::capture::Span;
using difftrace::testing::HttpTestServer;
namespace ex = difftrace::exporters;

namespace {

std::vector<Span> spans(std::size_t n) {
  std::vector<Span> v;
  for (std::size_t i = 0; i < n; i++) {
    Span s = difftrace::testing::sample_span(1, "svc", "/" + std::to_string(i), 200);
    s.span_id[7] = static_cast<std::uint8_t>(i);
    v.push_back(s);
  }
  return v;
}

std::map<std::string, std::uint64_t> counters(const ex::HttpExporter& e) {
  std::map<std::string, std::uint64_t> m;
  for (const auto& [k, v] : e.counters()) m[k] = v;
  return m;
}

// Fast retries and a short flush, for tests.
ex::HttpExportOptions quick() {
  ex::HttpExportOptions o;
  o.first_backoff = 10ms;
  o.max_backoff = 50ms;
  o.flush_timeout = 3000ms;
  o.batch_delay = 10s;  // only size and flush() send, unless a test says otherwise
  return o;
}

// The spans in an OTLP body as the server received it.
int otlp_span_count(const HttpTestServer::Request& r) {
  std::string raw;
  REQUIRE(ex::gzip_decompress(r.body, raw));
  difftrace::otlp::ExportTraceServiceRequest req;
  REQUIRE(req.ParseFromString(raw));
  int n = 0;
  for (const auto& rs : req.resource_spans())
    for (const auto& ss : rs.scope_spans()) n += ss.spans_size();
  return n;
}

// A loopback port that nothing listens on.
std::string closed_port_url() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/v1/traces";
}

}  // namespace

TEST_CASE("a dead backend: export_spans returns at once, the queue bound drops and counts",
          "[http-export]") {
  ex::HttpExportOptions o = quick();
  o.queue_spans = 8;
  o.batch_spans = 4;
  o.max_attempts = 3;
  o.flush_timeout = 300ms;
  ex::HttpExporter e(closed_port_url(), ex::otlp_http_encoding("h"), o);
  const auto batch = spans(1);
  for (int i = 0; i < 100; i++) e.export_spans(batch);
  auto c = counters(e);
  // Never waiting for room: at most the queue and one batch in flight hold spans, the rest
  // were dropped (a caller that waited for the sender would have lost none). No timing here:
  // the machine may be busy; the bound is on what is kept, not on how fast.
  CHECK(c["otlp_http_dropped_queue_full"] >= 100 - 8 - 4);

  const auto f0 = std::chrono::steady_clock::now();
  e.flush();
  // flush_timeout is 300 ms; far below what waiting out the retries would take
  CHECK(std::chrono::steady_clock::now() - f0 < 10s);
  c = counters(e);
  CHECK(c["otlp_http_spans_sent"] == 0);
  CHECK(e.spans_exported() == 0);
  CHECK(c["otlp_http_dropped_queue_full"] + c["otlp_http_dropped_after_retries"] +
            c["otlp_http_dropped_at_shutdown"] ==
        100);
  CHECK(c["otlp_http_connect_errors"] >= 1);
  CHECK(c["otlp_http_http_errors"] == 0);
}

TEST_CASE("batches by size; flush sends the rest; bodies are gzipped OTLP protobuf",
          "[http-export]") {
  HttpTestServer server({{200, "Content-Type: application/x-protobuf\r\n", ""}});
  ex::HttpExportOptions o = quick();
  o.batch_spans = 10;
  ex::HttpExporter e(server.url("/v1/traces"), ex::otlp_http_encoding("h"), o);
  e.export_spans(spans(25));
  e.flush();
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  std::vector<int> sizes;
  for (const auto& r : reqs) {
    CHECK(r.method == "POST");
    CHECK(r.target == "/v1/traces");
    CHECK(r.headers.at("content-type") == "application/x-protobuf");
    CHECK(r.headers.at("content-encoding") == "gzip");
    sizes.push_back(otlp_span_count(r));
  }
  CHECK(sizes == std::vector<int>{10, 10, 5});
  auto c = counters(e);
  CHECK(c["otlp_http_spans_sent"] == 25);
  CHECK(e.spans_exported() == 25);
  CHECK(c["otlp_http_requests"] == 3);
  CHECK(c["otlp_http_retries"] == 0);
}

TEST_CASE("a batch goes out when its oldest span has waited batch_delay", "[http-export]") {
  HttpTestServer server({{200, "", ""}});
  ex::HttpExportOptions o = quick();
  o.batch_delay = 50ms;
  ex::HttpExporter e(server.url("/v1/traces"), ex::otlp_http_encoding("h"), o);
  e.export_spans(spans(3));
  for (int i = 0; i < 1000 && server.requests().empty(); i++) std::this_thread::sleep_for(10ms);
  REQUIRE(server.requests().size() == 1);  // without flush()
  CHECK(otlp_span_count(server.requests()[0]) == 3);
}

TEST_CASE("503 and 429 are retried, honouring Retry-After; then delivered", "[http-export]") {
  HttpTestServer server({{503, "Retry-After: 0\r\n", "busy"}, {429, "", ""}, {200, "", ""}});
  ex::HttpExporter e(server.url("/v1/traces"), ex::otlp_http_encoding("h"), quick());
  e.export_spans(spans(4));
  e.flush();
  auto c = counters(e);
  CHECK(server.requests().size() == 3);
  CHECK(c["otlp_http_retries"] == 2);
  CHECK(c["otlp_http_http_errors"] == 2);
  CHECK(c["otlp_http_spans_sent"] == 4);
  CHECK(c["otlp_http_dropped_after_retries"] == 0);
  for (const auto& r : server.requests()) CHECK(otlp_span_count(r) == 4);  // the same batch
}

TEST_CASE("issue18: while a backend fails, the exporter says why and how many spans wait",
          "[http-export][issue18]") {
  HttpTestServer server({{503, "Retry-After: 30\r\n", "busy"}});  // for as long as it runs
  ex::HttpExportOptions o = quick();
  o.batch_spans = 4;  // a full batch goes at once
  o.max_backoff = 30s;
  o.flush_timeout = 300ms;
  ex::HttpExporter e(server.url("/v1/traces"), ex::otlp_http_encoding("h"), o);
  CHECK(e.failure().empty());
  e.export_spans(spans(4));
  for (int i = 0; i < 5000 && e.failure().empty(); i++) std::this_thread::sleep_for(2ms);
  CHECK_THAT(e.failure(), Catch::Contains("HTTP 503") && Catch::Contains(server.url("/v1/traces")));
  CHECK(e.queued_spans() == 4);  // the batch, waiting for its retry
  e.flush();                     // gives up on it
  CHECK(e.queued_spans() == 0);
  CHECK(counters(e)["otlp_http_dropped_at_shutdown"] == 4);
}

TEST_CASE("other 4xx answers are final: no retry, the spans are counted as refused",
          "[http-export]") {
  HttpTestServer server({{400, "", "bad request"}, {200, "", ""}});
  ex::HttpExporter e(server.url("/v1/traces"), ex::otlp_http_encoding("h"), quick());
  e.export_spans(spans(5));
  e.flush();
  auto c = counters(e);
  CHECK(server.requests().size() == 1);
  CHECK(c["otlp_http_retries"] == 0);
  CHECK(c["otlp_http_dropped_rejected"] == 5);
  CHECK(c["otlp_http_spans_sent"] == 0);
}

TEST_CASE("a batch still refused after max_attempts is dropped and counted", "[http-export]") {
  HttpTestServer server({{502, "", ""}});
  ex::HttpExportOptions o = quick();
  o.max_attempts = 3;
  ex::HttpExporter e(server.url("/v1/traces"), ex::otlp_http_encoding("h"), o);
  e.export_spans(spans(2));
  e.flush();
  auto c = counters(e);
  CHECK(server.requests().size() == 3);
  CHECK(c["otlp_http_retries"] == 2);
  CHECK(c["otlp_http_dropped_after_retries"] == 2);
}

TEST_CASE("flush gives up on a backend that keeps asking to wait", "[http-export]") {
  HttpTestServer server({{503, "Retry-After: 30\r\n", ""}});
  ex::HttpExportOptions o = quick();
  o.max_backoff = 60s;
  o.flush_timeout = 200ms;
  ex::HttpExporter e(server.url("/v1/traces"), ex::otlp_http_encoding("h"), o);
  e.export_spans(spans(3));
  const auto t0 = std::chrono::steady_clock::now();
  e.flush();
  // flush_timeout is 200 ms; the backend asked for 30 s
  CHECK(std::chrono::steady_clock::now() - t0 < 15s);
  CHECK(counters(e)["otlp_http_dropped_at_shutdown"] == 3);
}

TEST_CASE("an OTLP partial success counts the spans the backend refused", "[http-export]") {
  difftrace::otlp::ExportTraceServiceResponse resp;
  resp.mutable_partial_success()->set_rejected_spans(2);
  HttpTestServer server({{200, "", resp.SerializeAsString()}});
  ex::HttpExporter e(server.url("/v1/traces"), ex::otlp_http_encoding("h"), quick());
  e.export_spans(spans(5));
  e.flush();
  auto c = counters(e);
  CHECK(c["otlp_http_spans_sent"] == 3);
  CHECK(c["otlp_http_dropped_rejected"] == 2);
}

TEST_CASE("zipkin:URL posts gzipped JSON arrays through the same sender", "[http-export]") {
  HttpTestServer server({{202, "", ""}});
  ex::HttpExporter e(server.url("/api/v2/spans"), ex::zipkin_encoding("h"), quick());
  e.export_spans(spans(3));
  e.flush();
  REQUIRE(server.requests().size() == 1);
  const auto r = server.requests()[0];
  CHECK(r.headers.at("content-type") == "application/json");
  std::string raw;
  REQUIRE(ex::gzip_decompress(r.body, raw));
  auto j = nlohmann::json::parse(raw);
  CHECK(j.is_array());
  CHECK(j.size() == 3);
  auto c = counters(e);
  CHECK(c["zipkin_spans_sent"] == 3);
  CHECK(c.count("otlp_http_spans_sent") == 0);
}

TEST_CASE("export URLs: http(s) only, a host, the default path when none", "[http-export]") {
  CHECK(ex::check_http_url("otlp-http", "http://localhost:4318", "/v1/traces") ==
        "http://localhost:4318/v1/traces");
  CHECK(ex::check_http_url("otlp-http", "http://collector:4318/", "/v1/traces") ==
        "http://collector:4318/v1/traces");
  CHECK(ex::check_http_url("otlp-http", "https://c.example/custom/traces", "/v1/traces") ==
        "https://c.example/custom/traces");
  CHECK(ex::check_http_url("zipkin", "http://[::1]:9411", "/api/v2/spans") ==
        "http://[::1]:9411/api/v2/spans");
  CHECK_THROWS_WITH(ex::check_http_url("zipkin", "ftp://x/", "/api/v2/spans"),
                    Catch::Contains("only http:// and https://"));
  CHECK_THROWS_WITH(ex::check_http_url("otlp-http", "", "/v1/traces"),
                    Catch::Contains("needs a URL"));
  CHECK_THROWS(ex::check_http_url("otlp-http", "http://", "/v1/traces"));
}

TEST_CASE("Retry-After: seconds are honoured, dates are not parsed", "[http-export]") {
  CHECK(ex::parse_retry_after(" 120\r\n") == std::chrono::seconds(120));
  CHECK(ex::parse_retry_after("0") == std::chrono::seconds(0));
  CHECK_FALSE(ex::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
  CHECK_FALSE(ex::parse_retry_after("-1"));
  CHECK_FALSE(ex::parse_retry_after(""));
  CHECK(ex::retryable_status(429));
  CHECK(ex::retryable_status(503));
  CHECK_FALSE(ex::retryable_status(500));
  CHECK_FALSE(ex::retryable_status(404));
}

TEST_CASE("gzip round-trips and refuses a truncated member", "[http-export]") {
  std::string data;
  for (int i = 0; i < 1000; i++) data += "{\"key\":\"http.request.method\"}";
  const std::string gz = ex::gzip_compress(data);
  CHECK(gz.size() < data.size() / 10);
  CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);  // the gzip magic
  CHECK(static_cast<unsigned char>(gz[1]) == 0x8b);
  std::string back;
  REQUIRE(ex::gzip_decompress(gz, back));
  CHECK(back == data);
  CHECK_FALSE(ex::gzip_decompress(gz.substr(0, gz.size() / 2), back));
  CHECK(ex::gzip_decompress(ex::gzip_compress(""), back));
  CHECK(back.empty());
}
