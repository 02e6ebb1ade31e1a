#include "analyze/analyzer.h"

#include <algorithm>
#include <unordered_set>

#include "analyze/trace_spill.h"

namespace difftrace::analyze {
namespace {

// What a span was judged anomalous for: an error it answered (or passed on), or its time.
bool error_reason(const std::string& r) { return r == "status" || r == "reset"; }

PathEntry entry_of(const PathStep& step) {
  const Span& s = *step.span;
  return {s.span_id,  s.service,  s.name,     s.kind,
          step.self_ns, step.async_wait_ns, s.estimated, step.depth,
          step.async, s.anomalous && error_reason(s.reason)};
}

// What a hop held the request for: its self time, and for a hop that answered before its
// async call went out (a 202), the wait until it did; the culprit is judged on it.
std::uint64_t held(const PathStep& step) { return step.self_ns + step.async_wait_ns; }
std::uint64_t held(const PathEntry& p) { return p.self_ns + p.async_wait_ns; }

std::string endpoint_of(const PathEntry& p) { return endpoint_key(p.service, p.kind, p.name); }

const std::pair<std::string, std::string> kAllRoutes{"*", "*"};

}  // namespace

std::uint64_t auto_interval_ns(std::uint64_t span_ns, std::uint64_t max_intervals) {
  constexpr std::uint64_t kS = 1'000'000'000ull;
  static constexpr std::uint64_t kSteps[] = {1,   2,   5,   10,   15,   30,   60,    120,
                                             300, 600, 900, 1800, 3600, 7200, 21600, 86400};
  if (max_intervals == 0) max_intervals = 1;
  for (std::uint64_t step : kSteps)
    if (span_ns / (step * kS) < max_intervals) return step * kS;
  // Past a day per interval: whole days.
  return (span_ns / max_intervals / (86400 * kS) + 1) * 86400 * kS;
}

void endpoint_key_into(std::string& key, const std::string& service, Kind kind,
                       const std::string& name) {
  const char* k = kind == Kind::kServer ? "SERVER" : kind == Kind::kClient ? "CLIENT" : "";
  key.assign(service);
  key += '\0';
  key += k;
  key += '\0';
  key += name;
}

std::string endpoint_key(const std::string& service, Kind kind, const std::string& name) {
  std::string key;
  endpoint_key_into(key, service, kind, name);
  return key;
}

std::uint64_t Analyzer::median_self(const std::string& endpoint) const {
  auto it = self_.find(endpoint);
  return it == self_.end() ? 0 : it->second.quantile(0.5);
}

bool Analyzer::first_pass(const std::vector<Span>& spans, TraceResult& t) {
  const TraceAnalysis a = analyze_trace(spans, opts_.is_platform);
  t.unlinked = a.unlinked;
  if (!a.root) return false;
  first_start_ns_ = std::min(first_start_ns_, a.start_ns);
  last_start_ns_ = std::max(last_start_ns_, a.start_ns);
  thread_local std::string key;  // built in place: no allocation once the longest is seen
  for (const PathStep& step : a.path) {
    endpoint_key_into(key, step.span->service, step.span->kind, step.span->name);
    auto it = self_.find(key);
    if (it == self_.end()) it = self_.emplace(key, Quantiles{}).first;
    it->second.add(held(step));
  }
  durations_[{a.root->service, a.root->name}].add(a.duration_ns);

  t.trace_id = a.trace_id;
  t.root_service = a.root->service;
  t.root_name = a.root->name;
  t.start_ns = a.start_ns;
  t.duration_ns = a.duration_ns;
  t.anomalous = a.anomalous;
  t.anomaly_reason = a.anomaly_reason;
  t.breakdown = a.breakdown;
  t.spans = a.spans;
  t.skew_clamped = a.skew_clamped;
  t.async = a.async;
  t.critical_path.clear();
  t.critical_path.reserve(a.path.size());
  for (const PathStep& step : a.path) t.critical_path.push_back(entry_of(step));
  t.span_views.clear();
  if (opts_.keep_spans) {
    std::unordered_set<const Span*> on_path;
    for (const PathStep& step : a.path) on_path.insert(step.span);
    t.span_views.reserve(spans.size());
    for (const Span& s : spans)
      t.span_views.push_back({s.span_id, s.parent_id, s.service, s.name, s.kind, s.start_ns, s.end_ns,
                         s.estimated, s.anomalous, on_path.count(&s) > 0});
    std::stable_sort(t.span_views.begin(), t.span_views.end(), [](const SpanView& x, const SpanView& y) {
      return x.start_ns < y.start_ns;
    });
  }
  return true;
}

void Analyzer::second_pass(TraceResult& t,
                           const std::function<void(const TraceResult&)>& on_trace) {
  for (const PathEntry& p : t.critical_path)
    if (p.estimated) summary_.estimated_on_path++;
  const std::vector<PathEntry>& path = t.critical_path;
  if (t.anomalous && !path.empty()) {
    // An error (status, reset) on the path: the deepest hop that answered it, where the error
    // started (the hops above it saw it passed on), even when a hop was also slow (a slow
    // hop next to an error is load, the error is what was wrong). Otherwise a latency (or
    // timeout) anomaly: the hop whose self time on the path is furthest above its endpoint's
    // median.
    bool by_latency = true;
    for (const PathEntry& p : path)
      if (p.error) by_latency = false;
    std::optional<std::size_t> pick;
    std::int64_t pick_excess = 0;
    for (std::size_t i = 0; i < path.size(); i++) {
      const PathEntry& p = path[i];
      const std::int64_t excess = static_cast<std::int64_t>(held(p)) -
                                  static_cast<std::int64_t>(median_self(endpoint_of(p)));
      bool better;
      if (by_latency)
        better = !pick || excess > pick_excess;
      else
        better = p.error && (!pick || p.depth >= path[*pick].depth);
      if (better) {
        pick = i;
        pick_excess = excess;
      }
    }
    if (!pick) {  // an error anomaly off the path: the largest excess after all
      by_latency = true;
      for (std::size_t i = 0; i < path.size(); i++) {
        const std::int64_t excess = static_cast<std::int64_t>(held(path[i])) -
                                    static_cast<std::int64_t>(median_self(endpoint_of(path[i])));
        if (!pick || excess > pick_excess) {
          pick = i;
          pick_excess = excess;
        }
      }
    }
    const PathEntry& p = path[*pick];
    t.culprit = Culprit{p.span_id,   p.service, p.name, pick_excess, held(p), median_self(endpoint_of(p)),
                        by_latency ? "latency" : "error"};
  }

  const std::pair<std::string, std::string> key{t.root_service, t.root_name};
  RouteResult& r = routes_[key];
  if (!r.count) {
    r.service = t.root_service;
    r.endpoint = t.root_name;
    const Quantiles& q = durations_[key];
    r.p50_ns = q.quantile(0.50);
    r.p90_ns = q.quantile(0.90);
    r.p99_ns = q.quantile(0.99);
  }
  r.count++;
  if (t.anomalous) r.anomalous++;
  for (int c = 0; c < kCategories; c++) r.sum.ns[c] += t.breakdown.ns[c];
  r.sum.estimated_ns += t.breakdown.estimated_ns;
  r.duration_sum += t.duration_ns;
  if (t.duration_ns >= Quantiles::bucket_floor(r.p99_ns)) {
    for (int c = 0; c < kCategories; c++) r.tail_sum.ns[c] += t.breakdown.ns[c];
    r.tail_sum.estimated_ns += t.breakdown.estimated_ns;
    r.tail_duration_sum += t.duration_ns;
    r.tail_count++;
  }

  if (interval_routes_.count(key)) add_to_interval(key, t);
  add_to_interval(kAllRoutes, t);

  summary_.traces++;
  if (t.anomalous) summary_.anomalous++;
  if (t.async) summary_.async++;
  summary_.skew_clamped += t.skew_clamped;
  on_trace(t);
}

void Analyzer::add_to_interval(const RouteKey& route, const TraceResult& t) {
  const std::uint64_t index = t.start_ns / summary_.interval_ns;
  IntervalAcc& acc = intervals_[{route, index}];
  IntervalResult& r = acc.result;
  if (!r.count) {
    r.service = route.first;
    r.endpoint = route.second;
    r.start_ns = index * summary_.interval_ns;
  }
  acc.durations.add(t.duration_ns);
  r.count++;
  if (t.anomalous) r.anomalous++;
  for (int c = 0; c < kCategories; c++) r.sum.ns[c] += t.breakdown.ns[c];
  r.sum.estimated_ns += t.breakdown.estimated_ns;
  r.duration_sum += t.duration_ns;
}

std::vector<IntervalResult> Analyzer::intervals() const {
  std::vector<IntervalResult> out;
  std::vector<RouteKey> order = route_order_;
  order.push_back(kAllRoutes);
  for (const RouteKey& route : order) {
    if (route != kAllRoutes && !interval_routes_.count(route)) continue;
    for (auto it = intervals_.lower_bound({route, 0});
         it != intervals_.end() && it->first.first == route; ++it) {
      IntervalResult r = it->second.result;
      r.p50_ns = it->second.durations.quantile(0.50);
      r.p90_ns = it->second.durations.quantile(0.90);
      r.p99_ns = it->second.durations.quantile(0.99);
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::vector<RouteResult> Analyzer::run_feed(
    const Feed& feed, const std::function<void(const TraceResult&)>& on_trace) {
  TraceSpill spill;
  {
    TraceResult t;
    TraceBuilder builder(opts_.limits, [&](std::vector<Span>&& spans) {
      const bool rooted = first_pass(spans, t);
      spill.put(t, rooted);
    });
    feed([&](Span&& s) { builder.add(std::move(s)); });
    builder.finish();
    summary_.builder = builder.counters();
  }
  std::vector<std::pair<std::uint64_t, RouteKey>> busiest;
  for (const auto& [route, q] : durations_) busiest.emplace_back(q.count(), route);
  std::sort(busiest.begin(), busiest.end(),
            [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  for (std::size_t i = 0; i < busiest.size() && i < kIntervalRoutes; i++)
    interval_routes_.insert(busiest[i].second);
  // The intervals: as asked, or round ones over the run's span; never more than kMaxIntervals.
  const std::uint64_t span_ns =
      first_start_ns_ <= last_start_ns_ ? last_start_ns_ - first_start_ns_ : 0;
  summary_.interval_ns = opts_.interval_ns ? opts_.interval_ns : auto_interval_ns(span_ns, kAutoIntervals);
  if (span_ns / summary_.interval_ns >= kMaxIntervals) {
    summary_.interval_ns = auto_interval_ns(span_ns, kMaxIntervals);
    summary_.interval_widened = true;
  }
  spill.rewind();
  TraceResult t;
  for (bool rooted; spill.next(t, rooted);) {
    summary_.unlinked_spans += t.unlinked;
    if (rooted) second_pass(t, on_trace);
  }

  std::vector<RouteResult> out;
  out.reserve(routes_.size());
  for (auto& [key, r] : routes_) out.push_back(r);
  std::stable_sort(out.begin(), out.end(),
                   [](const RouteResult& a, const RouteResult& b) { return a.count > b.count; });
  route_order_.clear();
  for (const RouteResult& r : out) route_order_.emplace_back(r.service, r.endpoint);
  return out;
}

std::vector<RouteResult> Analyzer::run(const std::function<void(const TraceResult&)>& on_trace) {
  return run_feed(
      [&](const SpanSink& sink) {
        for (const auto& f : opts_.files) read_otlp_file(f, sink, summary_.read);
      },
      on_trace);
}

std::vector<RouteResult> Analyzer::run_spans(
    const std::vector<Span>& spans, const std::function<void(const TraceResult&)>& on_trace) {
  return run_feed(
      [&](const SpanSink& sink) {
        for (Span s : spans) sink(std::move(s));
      },
      on_trace);
}

}  // namespace difftrace::analyze
