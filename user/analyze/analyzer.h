// `difftrace analyze` over files: one streaming pass over the spans, then one
// over the traces it analysed. The first reads the files, builds every trace's
// critical path and breakdown, learns each endpoint's median self time on the
// path and each route's end-to-end quantiles, and spills the analysed trace to
// disk (trace_spill.h); the second reads those back, names the culprit of each
// anomalous trace, sums the breakdown per route and hands each trace to the
// report. Memory: the trace builder's bound plus one histogram per endpoint
// and route.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "analyze/critical_path.h"
#include "analyze/otlp_reader.h"
#include "analyze/quantiles.h"
#include "analyze/trace_builder.h"

namespace difftrace::analyze {

struct PathEntry {
  IdString span_id;
  std::string service, name;
  Kind kind = Kind::kOther;
  std::uint64_t self_ns = 0;
  std::uint64_t async_wait_ns = 0;
  bool estimated = false;
  int depth = 0;
  bool async = false;
  bool error = false;  // judged anomalous for an error it answered (status, reset)
};

struct Culprit {
  std::string span_id, service, name;
  // Its time on the path (self time, plus the async wait after it answered) minus its
  // endpoint's median of the same.
  std::int64_t excess_ns = 0;
  std::uint64_t held_ns = 0;  // its time on the path, as above
  std::uint64_t median_ns = 0;
  std::string by;  // "latency": the largest excess; "error": the deepest anomalous span
};

// A span as the HTML waterfall draws it (kept only with AnalyzeOptions::keep_spans).
struct SpanView {
  IdString span_id, parent_id;
  std::string service, name;
  Kind kind = Kind::kOther;
  std::uint64_t start_ns = 0, end_ns = 0;
  bool estimated = false, anomalous = false, on_path = false;
};

struct TraceResult {
  std::string trace_id, root_service, root_name;
  std::uint64_t start_ns = 0, duration_ns = 0;
  bool anomalous = false;
  std::string anomaly_reason;
  std::vector<PathEntry> critical_path;
  Breakdown breakdown;
  std::optional<Culprit> culprit;
  std::uint32_t spans = 0, unlinked = 0, skew_clamped = 0;
  bool async = false;
  std::vector<SpanView> span_views;  // with keep_spans only, in start order
};

struct RouteResult {
  std::string service, endpoint;
  std::uint64_t count = 0, anomalous = 0;
  std::uint64_t p50_ns = 0, p90_ns = 0, p99_ns = 0;
  Breakdown sum;            // over every trace of the route
  std::uint64_t duration_sum = 0;
  Breakdown tail_sum;       // over the traces at or above the route's p99
  std::uint64_t tail_duration_sum = 0, tail_count = 0;
};

// One route (or every route together: service and endpoint "*") over one interval of time,
// by the start of its traces.
struct IntervalResult {
  std::string service, endpoint;
  std::uint64_t start_ns = 0;  // a multiple of the interval (since the epoch)
  std::uint64_t count = 0, anomalous = 0;
  std::uint64_t p50_ns = 0, p90_ns = 0, p99_ns = 0;
  Breakdown sum;
  std::uint64_t duration_sum = 0;
};

struct AnalyzeSummary {
  ReadCounters read;
  BuilderCounters builder;  // second pass
  std::uint64_t traces = 0, anomalous = 0, async = 0, skew_clamped = 0, unlinked_spans = 0;
  std::uint64_t estimated_on_path = 0;
  std::uint64_t interval_ns = 0;  // the intervals' width (chosen or widened, see below)
  bool interval_widened = false;  // --interval would have made more than kMaxIntervals
};

// Intervals per route at most: a longer run gets wider intervals (memory stays bounded).
constexpr std::uint64_t kMaxIntervals = 500;
// Routes with intervals of their own: the busiest (by the first pass's count); every route
// counts in the "*" intervals.
constexpr std::size_t kIntervalRoutes = 20;
// The interval when none is given: the run's time span in at most kAutoIntervals intervals
// of a round width (1 s, 2 s, 5 s, 10 s, 15 s, 30 s, 1 min, ...).
constexpr std::uint64_t kAutoIntervals = 60;
std::uint64_t auto_interval_ns(std::uint64_t span_ns, std::uint64_t max_intervals);

struct AnalyzeOptions {
  std::vector<std::string> files;
  BuilderLimits limits;
  IsPlatform is_platform = [](const std::string&) { return false; };
  std::uint64_t interval_ns = 0;  // 0: auto_interval_ns over the first pass's time span
  bool keep_spans = false;        // fill TraceResult::spans (the HTML waterfall)
};

// Endpoint of a span (service, kind, name), as self-time medians are kept.
std::string endpoint_key(const std::string& service, Kind kind, const std::string& name);
void endpoint_key_into(std::string& key, const std::string& service, Kind kind,
                       const std::string& name);

class Analyzer {
 public:
  explicit Analyzer(AnalyzeOptions opts) : opts_(std::move(opts)) {}

  // Both passes over opts.files; on_trace gets every trace of the second pass.
  // Returns the routes sorted by count (then service, endpoint).
  std::vector<RouteResult> run(const std::function<void(const TraceResult&)>& on_trace);
  // The same over spans already in memory (tests): both passes over `spans` in order.
  std::vector<RouteResult> run_spans(const std::vector<Span>& spans,
                                     const std::function<void(const TraceResult&)>& on_trace);
  const AnalyzeSummary& summary() const { return summary_; }
  // After run: per route (in run's order, then every route together) and interval, in time order.
  std::vector<IntervalResult> intervals() const;
  // The median time on the path (self plus async wait) of an endpoint, after the first pass.
  std::uint64_t median_self(const std::string& endpoint) const;

 private:
  using Feed = std::function<void(const SpanSink&)>;
  std::vector<RouteResult> run_feed(const Feed& feed,
                                    const std::function<void(const TraceResult&)>& on_trace);
  // The trace's critical path and breakdown into the medians and quantiles, and into t.
  // False when the trace has no root.
  bool first_pass(const std::vector<Span>& spans, TraceResult& t);
  // The culprit (with the medians of every trace) and the aggregates.
  void second_pass(TraceResult& t, const std::function<void(const TraceResult&)>& on_trace);

  AnalyzeOptions opts_;
  std::map<std::string, Quantiles> self_;  // endpoint -> self time on the path
  std::map<std::pair<std::string, std::string>, Quantiles> durations_;  // route -> end-to-end
  std::map<std::pair<std::string, std::string>, RouteResult> routes_;
  struct IntervalAcc {
    Quantiles durations;
    IntervalResult result;
  };
  using RouteKey = std::pair<std::string, std::string>;
  void add_to_interval(const RouteKey& route, const TraceResult& t);
  std::map<std::pair<RouteKey, std::uint64_t>, IntervalAcc> intervals_;  // (route, index)
  std::vector<RouteKey> route_order_;  // as run returned them
  std::set<RouteKey> interval_routes_;  // the kIntervalRoutes busiest, after the first pass
  std::uint64_t first_start_ns_ = UINT64_MAX, last_start_ns_ = 0;  // of traces, first pass
  AnalyzeSummary summary_;
};

}  // namespace difftrace::analyze
