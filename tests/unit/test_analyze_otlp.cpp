// analyze reads what our own otlp-json exporter writes: spans exported with the real exporter
// into a temporary file (two batches, two lines), read back, analyzed, reported as JSON with
// the contract's fields; and the trace builder's bounds.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "analyze/analyzer.h"
#include "analyze/report.h"
#include "analyze/trace_builder.h"
#include "analyze_samples.h"
#include "export/otlp_json_file_exporter.h"
#include "export_samples.h"

using difftrace::capture::SpanKind;
namespace analyze = difftrace::analyze;

namespace {

struct TempFile {
  std::string path;
  TempFile() {
    char name[] = "/tmp/difftrace-analyze-XXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    path = name;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

difftrace::capture::Span hop(std::uint8_t id, std::optional<std::uint8_t> parent,
                             const std::string& service, SpanKind kind, std::uint64_t start_ms,
                             std::uint64_t end_ms, const std::string& path = "/fn") {
  auto s = difftrace::testing::sample_span(100 + id, service, path, 200, kind);
  s.trace_id.fill(0x42);
  s.span_id.fill(id);
  if (parent) {
    difftrace::capture::SpanId p;
    p.fill(*parent);
    s.parent_span_id = p;
  }
  s.start_unix_ns = difftrace::testing::kBase + start_ms * difftrace::testing::kMs;
  s.end_unix_ns = difftrace::testing::kBase + end_ms * difftrace::testing::kMs;
  s.decision = "reported";
  s.reason = "function";
  return s;
}

}  // namespace

TEST_CASE("analyze reads our otlp-json export and reports the contract", "[analyze]") {
  TempFile file;
  {
    difftrace::exporters::OtlpJsonFileExporter exporter(file.path);
    auto gw = hop(1, std::nullopt, "gw", SpanKind::kServer, 0, 100);
    gw.decision = "anomalous";
    gw.reason = "latency";
    auto gwc = hop(2, 1, "gw", SpanKind::kClient, 5, 95);
    auto qp = hop(3, 2, "queue-proxy", SpanKind::kServer, 10, 90);
    qp.decision = "estimated";
    qp.reason.clear();
    exporter.export_spans({gw, gwc, qp});
    exporter.export_spans({hop(4, 3, "fn", SpanKind::kServer, 20, 80)});  // a later batch
    exporter.flush();
  }

  analyze::AnalyzeOptions opts;
  opts.files = {file.path};
  opts.is_platform = [](const std::string& s) { return s == "gw" || s == "queue-proxy"; };
  analyze::Analyzer analyzer(std::move(opts));
  std::vector<analyze::TraceResult> traces;
  auto routes = analyzer.run([&](const analyze::TraceResult& t) { traces.push_back(t); });

  CHECK(analyzer.summary().read.lines == 2);
  CHECK(analyzer.summary().read.spans == 4);
  CHECK(analyzer.summary().read.bad_lines == 0);
  REQUIRE(traces.size() == 1);
  const auto& t = traces[0];
  CHECK(t.trace_id == "42424242424242424242424242424242");
  CHECK(t.duration_ns == 100 * difftrace::testing::kMs);
  CHECK(t.anomalous);
  CHECK(t.anomaly_reason == "latency");
  REQUIRE(t.critical_path.size() == 4);
  CHECK(t.critical_path[0].service == "gw");
  CHECK(t.critical_path[0].name == "GET /fn");
  CHECK(t.critical_path[1].kind == analyze::Kind::kClient);
  CHECK(t.critical_path[2].estimated);
  CHECK(t.critical_path[3].service == "fn");
  CHECK(t.critical_path[3].self_ns == 60 * difftrace::testing::kMs);
  REQUIRE(t.culprit);

  // The JSON report, parsed back: the fields issue 19's contract names.
  TempFile out;
  {
    std::FILE* f = std::fopen(out.path.c_str(), "w");
    REQUIRE(f);
    analyze::JsonReport report(f);
    report.begin();
    report.trace(t);
    report.end(routes, analyzer.intervals(), analyzer.summary());
    std::fclose(f);
  }
  std::ifstream in(out.path);
  std::stringstream text;
  text << in.rdbuf();
  const auto j = nlohmann::json::parse(text.str());
  REQUIRE(j["traces"].size() == 1);
  const auto& jt = j["traces"][0];
  CHECK(jt["trace_id"] == "42424242424242424242424242424242");
  CHECK(jt["duration_ns"] == 100 * difftrace::testing::kMs);
  CHECK(jt["anomalous"] == true);
  REQUIRE(jt["critical_path"].size() == 4);
  for (const auto& p : jt["critical_path"])
    for (const char* k : {"span_id", "service", "name", "self_ns", "estimated"})
      CHECK(p.contains(k));
  CHECK(jt["critical_path"][2]["span_id"] == "0303030303030303");
  CHECK(jt["critical_path"][2]["estimated"] == true);
  for (const char* k : {"platform_ns", "function_ns", "network_ns", "async_wait_ns"})
    CHECK(jt["breakdown"].contains(k));
  CHECK(jt["breakdown"]["platform_ns"] == 30 * difftrace::testing::kMs);
  CHECK(jt["breakdown"]["function_ns"] == 60 * difftrace::testing::kMs);
  CHECK(jt["breakdown"]["network_ns"] == 10 * difftrace::testing::kMs);
  for (const char* k : {"span_id", "service", "excess_ns"}) CHECK(jt["culprit"].contains(k));
  REQUIRE(j["routes"].size() == 1);
  for (const char* k : {"service", "endpoint", "count", "p50_ns", "p99_ns", "shares"})
    CHECK(j["routes"][0].contains(k));
  CHECK(j["routes"][0]["service"] == "gw");
  CHECK(j["routes"][0]["count"] == 1);
  CHECK(j["routes"][0]["shares"]["function"].get<double>() == Approx(0.6));
}

TEST_CASE("the trace builder is bounded: by the window and by the span cap", "[analyze]") {
  using difftrace::testing::aspan;
  std::vector<std::vector<analyze::Span>> done;
  analyze::BuilderLimits limits;
  limits.window_ns = 10 * difftrace::testing::kMs;
  limits.max_spans = 4;
  analyze::TraceBuilder b(limits, [&](std::vector<analyze::Span>&& t) { done.push_back(t); });
  b.add(aspan("a", "1", "", "s", analyze::Kind::kServer, 0, 1));
  b.add(aspan("b", "2", "", "s", analyze::Kind::kServer, 0, 2));
  b.add(aspan("a", "3", "1", "s", analyze::Kind::kClient, 0, 5));
  CHECK(done.empty());
  b.add(aspan("c", "4", "", "s", analyze::Kind::kServer, 10, 13));  // b: no span since 2 ms
  REQUIRE(done.size() == 1);
  CHECK(done[0][0].trace_id == "b");
  CHECK(b.counters().evicted_by_window == 1);
  for (int i = 0; i < 3; i++)  // 5 spans held: over the cap, the least recently added goes
    b.add(aspan("c", "c" + std::to_string(i), "4", "s", analyze::Kind::kClient, 11, 12));
  REQUIRE(done.size() == 2);
  CHECK(done[1][0].trace_id == "a");
  CHECK(done[1].size() == 2);
  CHECK(b.counters().evicted_by_cap == 1);
  CHECK(b.spans_held() == 4);
  b.add(aspan("a", "late", "1", "s", analyze::Kind::kClient, 12, 13));
  CHECK(b.counters().traces_split == 1);
  b.finish();
  CHECK(b.spans_held() == 0);
  CHECK(done.size() == 4);
}

TEST_CASE("the JSON report's trace writer writes what trace_json says", "[analyze]") {
  analyze::TraceResult t;
  t.trace_id = "0a0b0c0d0e0f00112233445566778899";  // 32 plain bytes
  t.root_service = "gw \"quoted\"";
  // UTF-8, a control byte, a byte that is not UTF-8, past the first 16 bytes
  t.root_name = "GET /a/long/path/caf\xc3\xa9/\x01\xff";
  t.start_ns = 18446744073709551615ull;
  t.duration_ns = 5;
  t.breakdown[analyze::Category::kNetwork] = 3;
  t.breakdown.estimated_ns = 1;
  for (bool anomalous : {false, true}) {
    t.anomalous = anomalous;
    if (anomalous) {
      t.anomaly_reason = "latency";
      t.critical_path.push_back({"01", "gw", "GET /", analyze::Kind::kServer, 2, 1, true, 0, false});
      t.critical_path.push_back({"02", "fn", "GET /", analyze::Kind::kClient, 3, 0, false, 1, true});
      t.culprit = analyze::Culprit{"02", "fn", "GET /", INT64_MIN, 99, 100, "latency"};
      t.async = true;
      t.spans = 2;
      t.unlinked = 1;
      t.skew_clamped = 4;
    }
    fmt::memory_buffer b;
    analyze::append_trace_json(b, t);
    const auto written = nlohmann::json::parse(std::string(b.data(), b.size()));
    const auto want = nlohmann::json::parse(
        analyze::trace_json(t).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    CHECK(written == want);
  }
}
