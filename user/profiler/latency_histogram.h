// A latency histogram over include/latency_hist.h's buckets: the profiler
// merges the kernel's per-CPU counts into one and reads quantiles from it.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "latency_hist.h"

namespace difftrace::profiler {

class LatencyHistogram {
 public:
  void add(std::uint64_t ns, std::uint64_t n = 1) { counts_[dt_hist_bucket(ns)] += n; total_ += n; }
  // Adds counts laid out as the kernel's map value (DT_HIST_BUCKETS per CPU).
  void add_counts(std::span<const std::uint64_t> buckets);
  std::uint64_t count() const { return total_; }
  // The q-quantile (0..1) in ns, interpolated inside its bucket; 0 if empty.
  std::uint64_t quantile(double q) const;
  // Where the bucket holding the q-quantile starts: a value the q-quantile is sure to be at
  // least (quantile_low(0): at most the smallest value counted); 0 if empty.
  std::uint64_t quantile_low(double q) const;
  // Mean from bucket midpoints (within the buckets' 12.5%).
  double mean() const;
  // Coefficient of variation (standard deviation / mean), from bucket midpoints; 0 if empty.
  double cv() const;
  void merge(const LatencyHistogram& other);

 private:
  // The bucket holding the q-quantile's rank, and the count of the buckets below it.
  std::uint32_t bucket_of(double q, double& below) const;

  std::array<std::uint64_t, DT_HIST_BUCKETS> counts_{};
  std::uint64_t total_ = 0;
};

}  // namespace difftrace::profiler
