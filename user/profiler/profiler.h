// The profiler: every interval it takes the filter's histograms out of the
// maps, keeps a sliding window of them per endpoint, and writes thresholds
// back, which the filter applies at the next span (no reload):
//   - static thresholds from the config are written once, at start: an
//     endpoint's own (SERVER spans of "METHOD /template"), else the
//     service's default;
//   - otherwise adaptive: quantile(window) x factor, at least the floor
//     (the config's, or p95 x 3 with a 5 ms floor when it says nothing),
//     once the window holds min_samples spans. Before, from
//     kProvisionalSamples on, a provisional threshold (median x
//     kProvisionalTimesMedian, at least the floor) judges it; with fewer
//     samples still, the endpoint is warming up and its spans are reported.
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

// The default when the config names no latency rule.
config::Latency default_latency_rule();

}  // namespace difftrace::profiler
