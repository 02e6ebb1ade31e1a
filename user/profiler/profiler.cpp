#include "profiler/profiler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "capture/span_decoder.h"

namespace difftrace::profiler {

bool EndpointKeyLess::operator()(const dt_endpoint_key& a, const dt_endpoint_key& b) const {
  return std::memcmp(&a, &b, sizeof a) < 0;
}

LatencyHistogram EndpointProfile::merged_window() const {
  LatencyHistogram m;
  for (const auto& h : window) m.merge(h);
  return m;
}

config::Latency default_latency_rule() {
  config::Latency l;
  l.times_median = config::kDefaultTimesMedian;
  l.floor_ns = config::kDefaultFloorNs;
  return l;
}

std::uint64_t delay_cap(const LatencyHistogram& w, double times_median) {
  if (!w.count()) return 0;
  // The window's median is at least quantile_low(0.5), exactly. One ns under, as the filter
  // flags what exceeds the threshold.
  const double cap = times_median * static_cast<double>(w.quantile_low(0.5));
  return cap >= 1 ? static_cast<std::uint64_t>(cap) - 1 : 0;
}

std::uint64_t normal_tail(const LatencyHistogram& w) {
  if (!w.count()) return 0;
  const double m = static_cast<double>(w.quantile(0.5));
  const double q75 = static_cast<double>(w.quantile(0.75));
  // The log-latency's spread on the upper side, as a log-normal's sigma.
  const double sigma = m > 0 && q75 > m ? std::log(q75 / m) / kQuartileSigmas : 0.0;
  const double spread = m * std::exp(kTailSigmas * sigma);
  const double observed = kTailQuantileFactor * static_cast<double>(w.quantile(kTailQuantile));
  return static_cast<std::uint64_t>(std::max(spread, observed));
}

std::uint64_t robust_threshold(const LatencyHistogram& w, double times_median,
                               std::uint64_t floor_ns) {
  if (!w.count()) return floor_ns;
  return std::max(floor_ns, std::min(normal_tail(w), delay_cap(w, times_median)));
}

Profiler::Profiler(const config::Config& config, const filter::ServiceRegistry& services)
    : config_(config),
      services_(services),
      window_intervals_(std::max<std::size_t>(
          1, static_cast<std::size_t>(config.profiler.window_ns / config.profiler.interval_ns))) {}

config::Latency Profiler::rule_for(const dt_endpoint_key& key) const {
  const config::Service* s = services_.service(key.service);
  if (!s) return default_latency_rule();
  if (key.kind == DT_SPAN_SERVER) {
    const std::string method = capture::method_name(key.method);
    const std::string tmpl = filter::template_of(key);
    for (const auto& e : s->endpoints)
      if (e.method == method && e.path_template == tmpl &&
          (e.latency.static_ns || e.latency.adaptive()))
        return e.latency;
  }
  if (s->latency.static_ns || s->latency.adaptive()) return s->latency;
  return default_latency_rule();
}

std::uint64_t Profiler::timeout_for(std::uint16_t service) const {
  const config::Service* s = services_.service(service);
  return s ? s->timeout_ns : 0;
}

void Profiler::start(filter::FilterStore& store) {
  for (std::size_t i = 0; i < config_.services.size(); i++) {
    const auto& s = config_.services[i];
    const std::uint16_t id = services_.id_of(i);
    if (s.latency.static_ns) {
      store.set_threshold(filter::service_key(id), {*s.latency.static_ns, s.timeout_ns});
      static_keys_.insert(filter::service_key(id));
    }
    for (const auto& e : s.endpoints) {
      if (!e.latency.static_ns) continue;
      int method = 0;
      for (int m = 1; m < 16; m++)
        if (e.method == capture::method_name(m)) method = m;
      auto key = filter::endpoint_key(id, DT_SPAN_SERVER, method, e.path_template);
      store.set_threshold(key, {*e.latency.static_ns, s.timeout_ns});
      static_keys_.insert(key);
      auto& p = endpoints_[key];
      p.threshold_ns = *e.latency.static_ns;
      p.static_threshold = true;
    }
  }
}

void Profiler::apply(filter::FilterStore& store, const std::vector<std::uint16_t>& removed) {
  for (auto id : removed) {
    store.remove_service(id);
    std::erase_if(endpoints_, [id](const auto& e) { return e.first.service == id; });
    std::erase_if(static_keys_, [id](const auto& k) { return k.service == id; });
  }
  // The static thresholds written again from the config; those it no longer has are removed
  // after, so that one configured both times is never missing from the map.
  const auto before = std::move(static_keys_);
  static_keys_.clear();
  for (auto& [key, p] : endpoints_) {
    if (!p.static_threshold) continue;
    p.static_threshold = false;
    p.threshold_ns = 0;
    p.warming = true;
  }
  start(store);
  for (const auto& key : before)
    if (!static_keys_.count(key)) store.remove_threshold(key);
  // A threshold learned for an endpoint whose service is static now would stand in for the
  // service's.
  for (auto& [key, p] : endpoints_) {
    if (p.static_threshold || !p.threshold_ns || !rule_for(key).static_ns) continue;
    store.remove_threshold(key);
    p.threshold_ns = 0;
    p.warming = true;
  }
}

void Profiler::tick(filter::FilterStore& store) {
  auto taken = store.take_histograms();
  // Every known endpoint's window moves on, with or without spans.
  for (auto& [key, p] : endpoints_) {
    p.window.emplace_back();
    if (p.window.size() > window_intervals_) p.window.pop_front();
  }
  for (auto& h : taken) {
    auto [it, fresh] = endpoints_.try_emplace(h.key);
    auto& p = it->second;
    if (fresh) p.window.emplace_back();
    p.window.back().merge(h.hist);
    p.whole_run.merge(h.hist);
    p.sum_ns += h.sum_ns;
  }
  for (auto& [key, p] : endpoints_) {
    if (p.static_threshold) continue;
    config::Latency rule = rule_for(key);
    if (rule.static_ns) continue;  // the service default covers it
    LatencyHistogram w = p.merged_window();
    std::uint64_t t;
    bool warming;
    if (w.count() >= config_.profiler.min_samples) {
      t = rule.times_median
              ? robust_threshold(w, *rule.times_median, rule.floor_ns)
              : static_cast<std::uint64_t>(static_cast<double>(w.quantile(*rule.quantile)) *
                                           rule.factor);
      warming = false;
    } else if (w.count() >= kProvisionalSamples) {
      // Too few for the rule's tail, enough to see a gross outlier: a
      // provisional threshold, so that warm-up reports only a few spans. The
      // median rule's is its cap, if that is lower (the default's always is:
      // at most 5x the median).
      t = w.quantile(0.5) * kProvisionalTimesMedian;
      if (rule.times_median) t = std::min(t, delay_cap(w, *rule.times_median));
      warming = true;
    } else {
      continue;
    }
    t = std::max(t, rule.floor_ns);
    // Small moves are not worth a map write.
    if (warming == p.warming && p.threshold_ns && t > p.threshold_ns * 95 / 100 &&
        t < p.threshold_ns * 105 / 100)
      continue;
    store.set_threshold(key, {t, timeout_for(key.service)});
    p.warming = warming;
    spdlog::debug("threshold {} {} {}: {} us", key.service, capture::method_name(key.method),
                  filter::template_of(key), t / 1000);
    p.threshold_ns = t;
  }
}

const EndpointProfile* Profiler::find(const dt_endpoint_key& key) const {
  auto it = endpoints_.find(key);
  return it == endpoints_.end() ? nullptr : &it->second;
}

nlohmann::json Profiler::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, p] : endpoints_) {
    const config::Service* s = services_.service(key.service);
    const auto& h = p.whole_run;
    out.push_back({{"service", s ? s->name : std::string()},
                   {"service_id", key.service},
                   {"kind", key.kind == DT_SPAN_CLIENT ? "client" : "server"},
                   {"method", capture::method_name(key.method)},
                   {"template", filter::template_of(key)},
                   {"count", h.count()},
                   {"p50_ns", h.quantile(0.50)},
                   {"p90_ns", h.quantile(0.90)},
                   {"p99_ns", h.quantile(0.99)},
                   {"mean_ns", h.count() ? p.sum_ns / h.count() : 0},
                   {"cv", h.cv()},
                   {"threshold_ns", p.threshold_ns},
                   {"warming", p.threshold_ns == 0 || p.warming}});
  }
  return out;
}

}  // namespace difftrace::profiler
