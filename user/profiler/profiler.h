// The profiler: every interval it takes the filter's histograms out of the
// maps, keeps a sliding window of them per endpoint, and writes thresholds
// back, which the filter applies at the next span (no reload):
//   - static thresholds from the config are written once, at start: an
//     endpoint's own (SERVER spans of "METHOD /template"), else the
//     service's default;
//   - an explicit {adaptive: {quantile, factor}} rule: quantile(window) x
//     factor, at least its floor;
//   - otherwise the median rule (the default, or {adaptive: {times_median}}),
//     below;
// each once the window holds min_samples spans. Before, from
// kProvisionalSamples on, a provisional threshold judges it (median x
// kProvisionalTimesMedian, for the median rule its cap if lower; at least the
// floor); with fewer samples still, the endpoint is warming up and its spans
// are reported.
//
// The median rule (N = times_median, 5 by default; floor 5 ms by default) is
// built for one promise: a delay of at least N x an endpoint's median (and at
// least the floor) is an anomaly, on every hop, however long the endpoint's
// tail; below that, the threshold sits just above the normal tail:
//
//   threshold = max(floor, min(tail, cap))
//   cap  = N x low(median) - 1 ns
//   tail = max(median x exp(3.5 sigma), 2 x p99)
//   sigma = ln(p75 / median) / 0.6745
//
// - cap: a delayed span lasts its normal latency plus the delay, so it
//   exceeds N x the window's median however fast the span itself. low(x) is
//   where the bucket holding x starts, so the cap is a bound the histogram
//   proves, not an estimate (12.5%-wide buckets could otherwise put an
//   interpolated median up to 1/8 over the real one, and N x that over a
//   delayed fast span). The window's fastest span is not added: spans to
//   come may be faster still. The cap is what a long tail cannot move: a
//   quantile rule such as the former default p95 x 3 landed above 7 x the
//   median on a heavy-tailed endpoint (a 23 ms function with a long tail:
//   150 ms delays caught 75% of the time).
// - tail: how far normal latency reaches. The median and upper quartile of
//   log-latency, which neither the kernel's censoring (anomalous spans and
//   flagged traces are not counted, so the window never holds what lies
//   over the current threshold) nor a few percent of upstream anomalies in
//   the window can drag, give the spread of its upper half as a log-normal's
//   sigma (latency has a hard lower bound and a long upper side, so a
//   symmetric MAD would be narrowed by the tight lower side); 3.5 sigma is
//   0.02% of a log-normal's spans. 2 x p99 covers tails heavier than
//   log-normal (a Pareto tail of index 2-3 flags 0.13-0.25% over it) and
//   keeps a margin, so that re-learning from a censored window cannot
//   ratchet the threshold down (a bare high quantile would: each window
//   loses the spans over the last threshold, and its quantile drops).
//   Upstream anomalies (the hops behind a platform hop fail about 1% of its
//   requests on the demo platform) can lift p99 onto themselves; the cap
//   keeps the threshold under any that are N x the median.
// - So a hop flags under 0.5% of its normal spans unless its own tail holds
//   more than that over the cap (more than 0.5% of spans slower than
//   N x median): a distribution where no threshold can both keep that
//   promise and flag that little, and the promise wins (a log-normal with
//   sigma over 0.62; a cache hit/miss mix whose misses take over 5x a hit).
//
// It also keeps each endpoint's profile (count, quantiles, mean, coefficient
// of variation) for stats and for estimating spans the assembler lacks.
#pragma once

#include <deque>
#include <map>
#include <set>
#include <vector>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "filter/filter_store.h"
#include "filter/service_registry.h"
#include "profiler/latency_histogram.h"

namespace difftrace::profiler {

struct EndpointKeyLess {
  bool operator()(const dt_endpoint_key& a, const dt_endpoint_key& b) const;
};

struct EndpointProfile {
  std::deque<LatencyHistogram> window;  // newest last
  LatencyHistogram whole_run;
  std::uint64_t sum_ns = 0;             // over the whole run
  std::uint64_t threshold_ns = 0;       // last written, 0: none
  bool warming = true;                  // threshold_ns is provisional, or none yet
  bool static_threshold = false;

  LatencyHistogram merged_window() const;
};

class Profiler {
 public:
  static constexpr std::uint64_t kProvisionalSamples = 10;
  static constexpr std::uint64_t kProvisionalTimesMedian = 8;

  Profiler(const config::Config& config, const filter::ServiceRegistry& services);

  // Writes the config's static thresholds.
  void start(filter::FilterStore& store);
  // The config changed (ServiceRegistry::apply gave the removed services' ids): their
  // thresholds, histograms and profiles go; static thresholds no longer configured go (their
  // endpoints learn adaptive ones, from the window they have); the new static ones are written.
  // Window and interval stay the run's.
  void apply(filter::FilterStore& store, const std::vector<std::uint16_t>& removed);
  // Takes the interval's histograms and updates thresholds.
  void tick(filter::FilterStore& store);

  const EndpointProfile* find(const dt_endpoint_key& key) const;
  const std::map<dt_endpoint_key, EndpointProfile, EndpointKeyLess>& endpoints() const {
    return endpoints_;
  }
  // Per endpoint: service, kind, method, template, count, p50/p90/p99, mean,
  // cv, threshold.
  nlohmann::json to_json() const;

 private:
  // The latency rule for an endpoint: its own from the config, else its
  // service's, else the default.
  config::Latency rule_for(const dt_endpoint_key& key) const;
  std::uint64_t timeout_for(std::uint16_t service) const;

  const config::Config& config_;
  const filter::ServiceRegistry& services_;
  std::size_t window_intervals_;
  std::map<dt_endpoint_key, EndpointProfile, EndpointKeyLess> endpoints_;
  std::set<dt_endpoint_key, EndpointKeyLess> static_keys_;  // written by start()
};

// The default when the config names no latency rule: the median rule, N = 5, floor 5 ms.
config::Latency default_latency_rule();

// The median rule (see the top of this file), over a window's histogram.
inline constexpr double kQuartileSigmas = 0.6745;     // a normal's p75, in sigmas
inline constexpr double kTailSigmas = 3.5;
inline constexpr double kTailQuantile = 0.99;
inline constexpr double kTailQuantileFactor = 2.0;
// The highest threshold sure to flag every span delayed by times_median x the window's median:
// times_median x low(median) - 1 ns; 0 if the window is empty.
std::uint64_t delay_cap(const LatencyHistogram& w, double times_median);
// How far the window's normal latency reaches: max(median x exp(3.5 sigma), 2 x p99).
std::uint64_t normal_tail(const LatencyHistogram& w);
// max(floor, min(normal_tail, delay_cap)); the floor if the window is empty.
std::uint64_t robust_threshold(const LatencyHistogram& w, double times_median,
                               std::uint64_t floor_ns);

}  // namespace difftrace::profiler
