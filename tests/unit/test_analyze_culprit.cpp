// The culprit of an anomalous trace (the path's span furthest above its endpoint's median self
// time, or for error anomalies the deepest anomalous span) and the route aggregates, over many
// traces through the analyzer's two passes.
#include <catch2/catch.hpp>

#include "analyze/analyzer.h"
#include "analyze_samples.h"

using difftrace::analyze::Analyzer;
using difftrace::analyze::AnalyzeOptions;
using difftrace::analyze::Kind;
using difftrace::analyze::Span;
using difftrace::analyze::TraceResult;
using difftrace::testing::aspan;
using difftrace::testing::kMs;

namespace {

// gw SERVER [0, gw_end] -> gw CLIENT [c0, gw_end - 5] -> fn SERVER [c0 + 5, gw_end - 10].
void add_trace(std::vector<Span>& out, const std::string& t, double gw_end, double c0,
               const std::string& reason = "", bool fn_anomalous = false) {
  out.push_back(aspan(t, t + "-gw", "", "gw", Kind::kServer, 0, gw_end, "GET /fn"));
  out.push_back(aspan(t, t + "-gwc", t + "-gw", "gw", Kind::kClient, c0, gw_end - 5, "GET /fn"));
  out.push_back(aspan(t, t + "-fn", t + "-gwc", "fn", Kind::kServer, c0 + 5, gw_end - 10, "GET /fn"));
  if (!reason.empty()) {
    out[out.size() - 3].anomalous = true;  // the ingress sees every anomaly behind it
    out[out.size() - 3].reason = reason;
    out.back().anomalous = fn_anomalous;
    if (fn_anomalous) out.back().reason = reason;
  }
}

}  // namespace

TEST_CASE("the culprit is the hop furthest above its usual self time", "[analyze]") {
  std::vector<Span> spans;
  for (int i = 0; i < 5; i++) add_trace(spans, "n" + std::to_string(i), 100, 5);  // fn self 80
  add_trace(spans, "slow-gw", 160, 55, "latency");        // the ingress held it 50 ms longer
  add_trace(spans, "slow-fn", 300, 5, "latency", true);   // the function took 200 ms longer
  add_trace(spans, "fn-503", 60, 5, "status", true);      // an error, faster than usual
  add_trace(spans, "fn-500-slow-gw", 160, 55, "status", true);  // an error, and a slow ingress
  spans[spans.size() - 3].reason = "latency";

  AnalyzeOptions opts;
  opts.is_platform = [](const std::string& s) { return s == "gw"; };
  Analyzer analyzer(std::move(opts));
  std::map<std::string, TraceResult> traces;
  auto routes = analyzer.run_spans(spans, [&](const TraceResult& t) { traces[t.trace_id] = t; });

  REQUIRE(traces.size() == 9);
  CHECK_FALSE(traces["n0"].culprit);
  CHECK_FALSE(traces["n0"].anomalous);

  const TraceResult& gw = traces["slow-gw"];
  REQUIRE(gw.culprit);
  CHECK(gw.culprit->span_id == "slow-gw-gw");
  CHECK(gw.culprit->by == "latency");
  CHECK(gw.culprit->excess_ns > 49 * static_cast<std::int64_t>(kMs));  // 50 ms, within the
  CHECK(gw.culprit->excess_ns < 51 * static_cast<std::int64_t>(kMs));  // median's 1.6%

  const TraceResult& fn = traces["slow-fn"];
  REQUIRE(fn.culprit);
  CHECK(fn.culprit->span_id == "slow-fn-fn");
  CHECK(fn.culprit->service == "fn");
  CHECK(fn.culprit->excess_ns > 198 * static_cast<std::int64_t>(kMs));
  CHECK(fn.culprit->excess_ns < 202 * static_cast<std::int64_t>(kMs));

  const TraceResult& err = traces["fn-503"];
  REQUIRE(err.culprit);
  CHECK(err.culprit->span_id == "fn-503-fn");
  CHECK(err.culprit->by == "error");
  CHECK(err.culprit->excess_ns < 0);  // it answered faster than usual

  // The error is what was wrong (injected there); the ingress was slow under load.
  const TraceResult& mixed = traces["fn-500-slow-gw"];
  REQUIRE(mixed.culprit);
  CHECK(mixed.culprit->span_id == "fn-500-slow-gw-fn");
  CHECK(mixed.culprit->by == "error");

  REQUIRE(routes.size() == 1);
  CHECK(routes[0].service == "gw");
  CHECK(routes[0].endpoint == "GET /fn");
  CHECK(routes[0].count == 9);
  CHECK(routes[0].anomalous == 4);
  CHECK(routes[0].p50_ns > 99 * kMs);
  CHECK(routes[0].p50_ns < 101 * kMs);
  CHECK(routes[0].p99_ns > 295 * kMs);
  CHECK(routes[0].tail_count == 1);  // slow-fn alone is at or above the p99
  CHECK(analyzer.summary().traces == 9);
  CHECK(analyzer.summary().anomalous == 4);
}

TEST_CASE("an async call that went out late: the hop that deferred it is the culprit",
          "[analyze]") {
  // gw -> activator, which answers 202 at once and calls fn later; usually 10 ms later.
  auto trace = [](std::vector<Span>& out, const std::string& t, double call_at,
                  bool anomalous) {
    out.push_back(aspan(t, t + "-gw", "", "gw", Kind::kServer, 0, 3, "POST /async"));
    out.push_back(aspan(t, t + "-gwc", t + "-gw", "gw", Kind::kClient, 1, 2.5, "POST /async"));
    out.push_back(aspan(t, t + "-act", t + "-gwc", "activator", Kind::kServer, 1.2, 2, "POST /async"));
    out.push_back(aspan(t, t + "-call", t + "-act", "activator", Kind::kClient, call_at,
                        call_at + 50, "POST /async"));
    out.push_back(aspan(t, t + "-fn", t + "-call", "fn-async", Kind::kServer, call_at + 2,
                        call_at + 48, "POST /async"));
    if (anomalous) {
      out.back().anomalous = true;  // only the function's span was judged slow: it ended late
      out.back().reason = "latency";
    }
  };
  std::vector<Span> spans;
  for (int i = 0; i < 5; i++) trace(spans, "n" + std::to_string(i), 12, false);
  trace(spans, "late", 312, true);  // the activator held the call 300 ms longer

  AnalyzeOptions opts;
  opts.is_platform = [](const std::string& s) { return s == "gw" || s == "activator"; };
  Analyzer analyzer(std::move(opts));
  std::map<std::string, TraceResult> traces;
  analyzer.run_spans(spans, [&](const TraceResult& t) { traces[t.trace_id] = t; });
  const TraceResult& late = traces["late"];
  CHECK(late.async);
  REQUIRE(late.critical_path.size() == 5);
  CHECK(late.critical_path[4].service == "fn-async");  // the path runs through the function
  REQUIRE(late.culprit);
  CHECK(late.culprit->span_id == "late-act");
  CHECK(late.culprit->excess_ns > 297 * static_cast<std::int64_t>(kMs));
  CHECK(late.culprit->excess_ns < 303 * static_cast<std::int64_t>(kMs));
}

TEST_CASE("one pass without culprits gives the routes, tails, summary and culprits of two",
          "[analyze]") {
  // Two routes, durations spread over many buckets, anomalies of both kinds.
  std::vector<Span> spans;
  for (int i = 0; i < 300; i++) {
    const std::string id = "t" + std::to_string(i);
    const double end = 40 + (i * 37) % 400 + (i % 50 == 0 ? 900 : 0);
    const std::string reason = i % 50 == 0 ? "latency" : i % 77 == 0 ? "status" : "";
    add_trace(spans, id, end, 5 + i % 7, reason, i % 77 == 0);
    if (i % 3 == 0)
      for (std::size_t k = spans.size() - 3; k < spans.size(); k++) spans[k].name = "POST /other";
  }
  auto options = [] {
    AnalyzeOptions opts;
    opts.is_platform = [](const std::string& s) { return s == "gw"; };
    return opts;
  };
  Analyzer two(options()), one(options());
  std::vector<TraceResult> two_traces, one_traces;
  const auto two_routes =
      two.run_spans(spans, [&](const TraceResult& t) { two_traces.push_back(t); });
  const auto one_routes = one.run_spans_without_culprits(
      spans, [&](const TraceResult& t) { one_traces.push_back(t); });

  REQUIRE(one_routes.size() == 2);
  REQUIRE(two_routes.size() == one_routes.size());
  for (std::size_t i = 0; i < one_routes.size(); i++) {
    const auto& a = two_routes[i];
    const auto& b = one_routes[i];
    INFO(a.endpoint);
    CHECK(a.endpoint == b.endpoint);
    CHECK(a.count == b.count);
    CHECK(a.anomalous == b.anomalous);
    CHECK(a.p99_ns == b.p99_ns);
    CHECK(a.duration_sum == b.duration_sum);
    CHECK(a.tail_count == b.tail_count);
    CHECK(a.tail_count > 0);
    CHECK(a.tail_count < a.count);
    CHECK(a.tail_duration_sum == b.tail_duration_sum);
    for (int c = 0; c < difftrace::analyze::kCategories; c++) {
      CHECK(a.sum.ns[c] == b.sum.ns[c]);
      CHECK(a.tail_sum.ns[c] == b.tail_sum.ns[c]);
    }
    CHECK(a.tail_sum.estimated_ns == b.tail_sum.estimated_ns);
  }
  CHECK(two.summary().traces == one.summary().traces);
  CHECK(two.summary().anomalous == one.summary().anomalous);
  CHECK(two.summary().estimated_on_path == one.summary().estimated_on_path);
  CHECK(two.summary().unlinked_spans == one.summary().unlinked_spans);
  CHECK(one.intervals().empty());

  REQUIRE(two_traces.size() == one_traces.size());
  int culprits = 0;
  for (std::size_t i = 0; i < one_traces.size(); i++) {
    TraceResult t = one_traces[i];
    CHECK_FALSE(t.culprit);
    one.name_culprit(t);
    REQUIRE(t.trace_id == two_traces[i].trace_id);
    REQUIRE(t.culprit.has_value() == two_traces[i].culprit.has_value());
    if (!t.culprit) continue;
    culprits++;
    CHECK(t.culprit->span_id == two_traces[i].culprit->span_id);
    CHECK(t.culprit->excess_ns == two_traces[i].culprit->excess_ns);
    CHECK(t.culprit->by == two_traces[i].culprit->by);
  }
  CHECK(culprits >= 8);
}
