// The profiler's default latency rule, the median rule (user/profiler/profiler.h), on
// heavy-tailed and bimodal latency, each built as a LatencyHistogram window the way the
// kernel fills one. For each distribution:
//   - the delays it must flag: every span of the window, and of fresh normal traffic,
//     delayed by max(5 x the window's median, the floor), must be over the threshold;
//   - the share of fresh normal spans it flags: at most 0.5% where the distribution allows
//     it. Where it cannot, the test says why and checks the share against what the promise
//     itself costs: a normal span slower than 5x the median is, by the promise, a delay.
// "The median" is the lower median of the window's spans (of an even count): the strictest.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "span_event_samples.h"
#include "filter/host_filter_store.h"
#include "filter/service_registry.h"
#include "profiler/profiler.h"

using namespace difftrace;
using profiler::LatencyHistogram;

namespace {

constexpr double ms = 1e6;
constexpr std::uint64_t kFloor = config::kDefaultFloorNs;
constexpr double kTimes = config::kDefaultTimesMedian;
constexpr double kBudget = 0.005;  // normal spans a hop may flag

using Draw = std::function<double(std::mt19937_64&)>;

Draw lognormal(double median_ms, double sigma) {
  return [=](std::mt19937_64& rng) {
    std::normal_distribution<double> z(0, 1);
    return median_ms * ms * std::exp(sigma * z(rng));
  };
}

// Pareto: x0 / U^(1/alpha); the median is x0 * 2^(1/alpha).
Draw pareto(double x0_ms, double alpha) {
  return [=](std::mt19937_64& rng) {
    std::uniform_real_distribution<double> u(1e-12, 1.0);
    return x0_ms * ms / std::pow(u(rng), 1.0 / alpha);
  };
}

// Two modes, each with a little jitter: share_slow of the spans near slow_ms, the rest near
// fast_ms (a cache's misses and hits).
Draw bimodal(double fast_ms, double slow_ms, double share_slow) {
  return [=](std::mt19937_64& rng) {
    std::uniform_real_distribution<double> u(0, 1);
    std::normal_distribution<double> z(0, 1);
    const double at = u(rng) < share_slow ? slow_ms : fast_ms;
    return at * ms * std::exp(0.1 * z(rng));
  };
}

// The demo's fn-async: a 20 ms storage wait, then CPU work (3 ms at the median) whose time
// on a busy 2-core machine has a long tail.
Draw fn_async() {
  return [](std::mt19937_64& rng) {
    std::normal_distribution<double> z(0, 1);
    return 20 * ms + 3 * ms * std::exp(1.7 * z(rng));
  };
}

std::vector<std::uint64_t> sample(const Draw& d, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> out(n);
  for (auto& x : out) x = static_cast<std::uint64_t>(std::max(1.0, d(rng)));
  return out;
}

LatencyHistogram histogram(const std::vector<std::uint64_t>& xs) {
  LatencyHistogram h;
  for (auto x : xs) h.add(x);
  return h;
}

double share_over(const std::vector<std::uint64_t>& xs, double t) {
  return static_cast<double>(std::count_if(xs.begin(), xs.end(),
                                           [t](auto x) { return static_cast<double>(x) > t; })) /
         static_cast<double>(xs.size());
}

struct Verdict {
  std::uint64_t threshold = 0;
  double median = 0;       // the window's (lower) median
  double delay = 0;        // max(5 x median, floor)
  std::size_t missed = 0;  // delayed spans (window's and fresh ones) not over the threshold
  double flagged = 0;      // share of fresh normal spans over the threshold
  double over_promise = 0; // share of fresh normal spans slower than the delay plus the window's
                           // fastest span: what any threshold keeping the promise flags, at least
};

// The rule on a window of n spans of d; judged on the window and on 200,000 fresh spans.
Verdict judge(const Draw& d, std::size_t n, std::uint64_t seed) {
  auto window = sample(d, n, seed);
  auto fresh = sample(d, 200'000, seed + 1000);
  Verdict v;
  v.threshold = profiler::robust_threshold(histogram(window), kTimes, kFloor);
  auto sorted = window;
  std::sort(sorted.begin(), sorted.end());
  v.median = static_cast<double>(sorted[(n - 1) / 2]);
  v.delay = std::max(kTimes * v.median, static_cast<double>(kFloor));
  for (const auto* xs : {&window, &fresh})
    for (auto x : *xs)
      if (static_cast<double>(x) + v.delay <= static_cast<double>(v.threshold)) v.missed++;
  v.flagged = share_over(fresh, static_cast<double>(v.threshold));
  v.over_promise = share_over(fresh, v.delay + static_cast<double>(sorted.front()));
  return v;
}

#define SHOW(v)                                                                             \
  INFO("threshold " << (v).threshold / ms << " ms, median " << (v).median / ms             \
                    << " ms, delay " << (v).delay / ms << " ms, flagged " << (v).flagged * 100 \
                    << "%, over the promise " << (v).over_promise * 100 << "%")

}  // namespace

TEST_CASE("median rule: moderate log-normal tails flag every 5x delay and under 0.5%",
          "[thresholds]") {
  for (double sigma : {0.25, 0.5}) {
    for (std::size_t n : {60, 2000}) {
      auto v = judge(lognormal(10, sigma), n, 11);
      INFO("sigma " << sigma << ", window " << n);
      SHOW(v);
      CHECK(v.missed == 0);
      CHECK(v.flagged <= kBudget);
    }
  }
}

TEST_CASE("median rule: a heavy log-normal tail still flags every 5x delay", "[thresholds]") {
  // sigma 1: 5.4% of normal spans take over 5x the median, so no threshold flags every 5x
  // delay and under 0.5% of them. The promise wins; the rule's cap proves itself under
  // 5 x the median from the bucket's lower bound, which costs at most 1/9 of the median
  // (12.5%-wide buckets): it flags no more than the spans over 40/9 x the window's median.
  for (std::size_t n : {60, 2000}) {
    auto v = judge(lognormal(10, 1.0), n, 12);
    INFO("window " << n);
    SHOW(v);
    CHECK(v.missed == 0);
    CHECK(v.over_promise > kBudget);  // the distribution does not allow 0.5%
    CHECK(v.flagged <= share_over(sample(lognormal(10, 1.0), 200'000, 1012), v.median * 40 / 9));
    // A 60-span window's median is off by 16% (one standard error) at sigma 1, and the cap
    // with it.
    CHECK(v.flagged < (n >= 2000 ? 0.10 : 0.20));
  }
}

TEST_CASE("median rule: Pareto tails", "[thresholds]") {
  // The cap is proven from the median's bucket, up to 1/9 under the median: it flags what
  // lies over 40/9 x the median at worst, which a 0.5% budget must leave room for.
  SECTION("index 3.5: 0.18% of spans over 5x the median (0.27% over 40/9x): 0.5% holds") {
    for (std::size_t n : {60, 2000}) {
      auto v = judge(pareto(4, 3.5), n, 21);
      INFO("window " << n);
      SHOW(v);
      CHECK(v.missed == 0);
      CHECK(v.flagged <= (n >= 2000 ? kBudget : 0.02));  // a 60-span window's median is rougher
    }
  }
  SECTION("index 3: 0.4% over 5x the median, but 0.57% over 40/9x: at the edge") {
    auto v = judge(pareto(4, 3), 2000, 23);
    SHOW(v);
    CHECK(v.missed == 0);
    CHECK(v.flagged <= 0.006);
  }
  SECTION("index 1.5: 4.5% of spans over 5x the median, so it cannot") {
    auto v = judge(pareto(4, 1.5), 2000, 22);
    SHOW(v);
    CHECK(v.missed == 0);
    CHECK(v.over_promise > kBudget);
    CHECK(v.flagged < 0.08);
  }
}

TEST_CASE("median rule: the demo's fn-async, where p95 x 3 missed 150 ms delays",
          "[thresholds]") {
  auto window = sample(fn_async(), 2000, 31);
  auto h = histogram(window);
  // The former default sat above a 150 ms delay added to a fast run.
  const double old_rule = std::max(3.0 * static_cast<double>(h.quantile(0.95)), 5 * ms);
  CHECK(old_rule > 150 * ms + 21 * ms);

  auto v = judge(fn_async(), 2000, 31);
  SHOW(v);
  CHECK(v.median > 21 * ms);
  CHECK(v.median < 26 * ms);
  CHECK(v.missed == 0);
  // Every 150 ms delay is over 5x the median: caught, from the fastest run up.
  for (auto x : window) CHECK(static_cast<double>(x) + 150 * ms > static_cast<double>(v.threshold));
  // Its own tail holds about 1% of runs slower than 5 x median + 20 ms: a delay by the
  // promise's measure, which no threshold keeping it can pass.
  CHECK(v.over_promise > kBudget);
  CHECK(v.flagged < 0.03);
}

TEST_CASE("median rule: bimodal latency (cache hits and misses)", "[thresholds]") {
  SECTION("misses at 4x a hit: inside the promise, under 0.5%") {
    auto v = judge(bimodal(2, 8, 0.10), 2000, 41);
    SHOW(v);
    CHECK(v.missed == 0);
    CHECK(v.flagged <= kBudget);
  }
  SECTION("misses at 20x a hit: every miss is a 5x delay of the median, so it cannot") {
    // 90% at 2 ms and 10% at 40 ms: the median is a hit, and a hit delayed by 5x (12 ms)
    // is faster than a normal miss. No threshold tells a miss from a delayed hit; the
    // promise wins and every miss is flagged.
    auto v = judge(bimodal(2, 40, 0.10), 2000, 42);
    SHOW(v);
    CHECK(v.missed == 0);
    CHECK(v.over_promise > 0.09);
    CHECK(v.flagged == Approx(0.10).margin(0.01));
  }
  SECTION("misses the majority: the median is a miss, under 0.5%") {
    auto v = judge(bimodal(2, 40, 0.60), 2000, 43);
    SHOW(v);
    CHECK(v.missed == 0);
    CHECK(v.flagged <= kBudget);
  }
}

TEST_CASE("median rule: a fast platform hop is judged by the floor", "[thresholds]") {
  auto v = judge(lognormal(0.3, 0.3), 2000, 51);
  SHOW(v);
  CHECK(v.threshold == kFloor);
  CHECK(v.delay == kFloor);
  CHECK(v.missed == 0);
  CHECK(v.flagged <= kBudget);
}

TEST_CASE("median rule: upstream anomalies in the window cannot drag it past the cap",
          "[thresholds]") {
  // 3% of the window delayed by 150 ms (anomalies of a hop behind this one, say, that were
  // not flagged first): p99 lands on them, the cap holds the threshold under them.
  auto window = sample(lognormal(10, 0.3), 2000, 61);
  const auto clean = profiler::robust_threshold(histogram(window), kTimes, kFloor);
  for (std::size_t i = 0; i < window.size(); i += 33) window[i] += 150'000'000;
  const auto h = histogram(window);
  const auto dirty = profiler::robust_threshold(h, kTimes, kFloor);
  INFO("clean " << clean / ms << " ms, with anomalies " << dirty / ms << " ms");
  CHECK(dirty <= profiler::delay_cap(h, kTimes));
  CHECK(static_cast<double>(dirty) <= 6 * static_cast<double>(h.quantile(0.5)));
  for (std::size_t i = 0; i < window.size(); i += 33) CHECK(window[i] > dirty);
}

TEST_CASE("median rule: learning from censored windows does not ratchet it down",
          "[thresholds]") {
  // The kernel counts only spans under the threshold, so each window is censored at the
  // last one. Twenty windows on, the threshold learned from censored windows stays with the
  // one the same spans would give uncensored (a bare high quantile would sink, window after
  // window). The cap moves in steps of the median's bucket (1/8): censoring a few percent
  // can push the median over a bucket's lower edge (fn-async's median, 23.0 ms, sits at
  // one), never further.
  for (const auto& [name, d] : {std::pair{"pareto 3.5", pareto(4, 3.5)},
                                std::pair{"log-normal 0.35", lognormal(10, 0.35)},
                                std::pair{"fn-async", fn_async()}}) {
    INFO(name);
    auto t = profiler::robust_threshold(histogram(sample(d, 2000, 71)), kTimes, kFloor);
    for (int round = 0; round < 20; round++) {
      const auto spans = sample(d, 2000, 72 + round);
      LatencyHistogram censored;
      for (auto x : spans)
        if (x <= t) censored.add(x);
      t = profiler::robust_threshold(censored, kTimes, kFloor);
      const auto uncensored = profiler::robust_threshold(histogram(spans), kTimes, kFloor);
      INFO("round " << round << ": censored " << t / ms << " ms, uncensored " << uncensored / ms
                    << " ms");
      CHECK(static_cast<double>(t) >= 0.875 * static_cast<double>(uncensored));
    }
  }
}

TEST_CASE("the cap is proven from the buckets' lower bounds", "[thresholds]") {
  LatencyHistogram empty;
  CHECK(profiler::delay_cap(empty, 5) == 0);
  CHECK(profiler::robust_threshold(empty, 5, kFloor) == kFloor);
  // Every span in one bucket: the cap is 5 x its start - 1 ns.
  LatencyHistogram one;
  one.add(10'000'000, 100);
  const std::uint64_t low = dt_hist_bucket_low(dt_hist_bucket(10'000'000));
  CHECK(one.quantile_low(0) == low);
  CHECK(one.quantile_low(0.5) == low);
  CHECK(profiler::delay_cap(one, 5) == 5 * low - 1);
  CHECK(10'000'000 + 5 * 10'000'000 > profiler::robust_threshold(one, 5, kFloor));
}

// ---- through the profiler and the filter's maps -------------------------------------

namespace {

dt_span_event server_span(const char* comm, std::uint64_t dur, int i) {
  return testing::server_event(comm, ("/item/" + std::to_string(i)).c_str(), dur);
}

config::Service service(const char* name, config::Latency latency = {}) {
  config::Service s;
  s.name = name;
  s.match.comms = {name};
  s.role = config::Role::kPlatform;
  s.latency = latency;
  return s;
}

}  // namespace

TEST_CASE("the profiler: the default is the median rule; quantile rules are as they were",
          "[thresholds]") {
  config::Config cfg;
  config::Latency quantile;
  quantile.quantile = 0.95;
  quantile.factor = 3;
  quantile.floor_ns = 5'000'000;
  config::Latency median8;
  median8.times_median = 8;
  median8.floor_ns = 1'000'000;
  cfg.services = {service("dflt"), service("quant", quantile), service("med8", median8)};
  cfg.profiler.min_samples = 50;
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg);
  services.publish(store);
  profiler::Profiler prof(cfg, services);
  prof.start(store);

  auto window = sample(fn_async(), 400, 81);
  auto feed = [&](std::size_t from, std::size_t to) {
    for (const char* comm : {"dflt", "quant", "med8"})
      for (std::size_t i = from; i < to; i++) {
        auto e = server_span(comm, window[i], static_cast<int>(i));
        store.filter(e);
      }
    prof.tick(store);
  };
  const std::uint16_t dflt = services.id_of(0), quant = services.id_of(1), med8 = services.id_of(2);
  auto threshold = [&](std::uint16_t id) {
    const auto* p = prof.find(filter::endpoint_key(id, DT_SPAN_SERVER, HTTP_METHOD_GET, "/item/{n}"));
    REQUIRE(p);
    return std::pair{p->threshold_ns, p->warming};
  };

  // 20 spans: provisional. The median rule's is its cap, never over median x 8.
  feed(0, 20);
  auto first = histogram(std::vector<std::uint64_t>(window.begin(), window.begin() + 20));
  for (std::uint16_t id : {dflt, med8}) {
    auto [t, warming] = threshold(id);
    CHECK(warming);
    CHECK(t <= first.quantile(0.5) * profiler::Profiler::kProvisionalTimesMedian);
  }
  CHECK(threshold(dflt).first == std::max(kFloor, profiler::delay_cap(first, 5)));
  CHECK(threshold(quant).first == std::max<std::uint64_t>(5'000'000, first.quantile(0.5) * 8));
  CHECK(threshold(med8).first ==
        std::max<std::uint64_t>(1'000'000, std::min(profiler::delay_cap(first, 8),
                                                     first.quantile(0.5) * 8)));

  // The rest: each rule's own threshold, from the spans the kernel counted (the window is
  // censored by the provisional threshold).
  feed(20, window.size());
  for (std::uint16_t id : {dflt, quant, med8}) CHECK_FALSE(threshold(id).second);
  const auto* p1 = prof.find(filter::endpoint_key(dflt, DT_SPAN_SERVER, HTTP_METHOD_GET, "/item/{n}"));
  const auto* p2 = prof.find(filter::endpoint_key(quant, DT_SPAN_SERVER, HTTP_METHOD_GET, "/item/{n}"));
  const auto* p3 = prof.find(filter::endpoint_key(med8, DT_SPAN_SERVER, HTTP_METHOD_GET, "/item/{n}"));
  REQUIRE((p1 && p2 && p3));
  const auto w1 = p1->merged_window();
  const auto w2 = p2->merged_window();
  const auto w3 = p3->merged_window();
  CHECK(threshold(dflt).first == profiler::robust_threshold(w1, 5, kFloor));
  CHECK(threshold(dflt).first <= profiler::delay_cap(w1, 5));
  CHECK(threshold(quant).first ==
        std::max<std::uint64_t>(5'000'000, static_cast<std::uint64_t>(
                                               static_cast<double>(w2.quantile(0.95)) * 3)));
  CHECK(threshold(med8).first == profiler::robust_threshold(w3, 8, 1'000'000));

  // A 150 ms delay on the fastest run: the default rule flags it.
  auto slow = server_span("dflt", 150'000'000 + w1.quantile_low(0), 999);
  store.filter(slow);
  CHECK(slow.reason == DT_REASON_LATENCY);
}
