// Log-linear buckets (include/latency_hist.h) and the profiler's histogram.
#include <catch2/catch.hpp>
#include <random>

#include "profiler/latency_histogram.h"

using difftrace::profiler::LatencyHistogram;

TEST_CASE("every duration falls in a bucket at most 12.5% wide that holds it", "[hist]") {
  std::uint32_t prev = 0;
  for (std::uint64_t v = 0; v < (1ull << 41); v = v < 64 ? v + 1 : v + v / 7 + 1) {
    std::uint32_t b = dt_hist_bucket(v);
    INFO("v=" << v << " bucket=" << b);
    REQUIRE(b < DT_HIST_BUCKETS);
    CHECK(b >= prev);  // monotonic
    prev = b;
    CHECK(dt_hist_bucket_low(b) <= v);
    if (b + 1 < DT_HIST_BUCKETS) {
      CHECK(v < dt_hist_bucket_low(b + 1));
      if (v >= DT_HIST_SUB)
        CHECK(dt_hist_bucket_low(b + 1) - dt_hist_bucket_low(b) <= dt_hist_bucket_low(b) / 8);
    }
  }
  CHECK(dt_hist_bucket(~0ull) == DT_HIST_BUCKETS - 1);
  for (std::uint32_t b = 0; b < DT_HIST_BUCKETS; b++) CHECK(dt_hist_bucket(dt_hist_bucket_low(b)) == b);
}

TEST_CASE("quantiles of known distributions come within a bucket's width", "[hist]") {
  LatencyHistogram h;
  CHECK(h.quantile(0.5) == 0);
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::uint64_t> ms(1'000'000, 100'000'000);
  for (int i = 0; i < 100000; i++) h.add(ms(rng));
  CHECK(h.count() == 100000);
  for (double q : {0.1, 0.5, 0.9, 0.99}) {
    double want = 1e6 + q * 99e6;
    INFO("q=" << q);
    CHECK(std::abs(static_cast<double>(h.quantile(q)) - want) <= want * 0.125);
  }
  CHECK(std::abs(h.mean() - 50.5e6) <= 50.5e6 * 0.02);

  LatencyHistogram c;
  c.add(5'000'000, 1000);
  CHECK(std::abs(static_cast<double>(c.quantile(0.5)) - 5e6) <= 5e6 * 0.125);
  CHECK(c.quantile(0) >= dt_hist_bucket_low(dt_hist_bucket(5'000'000)));
}

TEST_CASE("per-CPU counts merge into one histogram", "[hist]") {
  std::vector<std::uint64_t> percpu(2 * DT_HIST_BUCKETS, 0);
  percpu[dt_hist_bucket(1000)] = 3;                    // CPU 0
  percpu[DT_HIST_BUCKETS + dt_hist_bucket(1000)] = 2;  // CPU 1
  percpu[DT_HIST_BUCKETS + dt_hist_bucket(9000)] = 5;
  LatencyHistogram h;
  h.add_counts(percpu);
  CHECK(h.count() == 10);
  CHECK(h.quantile(0.25) < 1200);
  CHECK(h.quantile(0.9) > 8000);
}
