#include "profiler/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace difftrace::profiler {
namespace {

// Where bucket b ends: the next bucket's start (the last one is as wide as
// its power of two's sub-buckets).
double bucket_high(std::uint32_t b) {
  if (b + 1 < DT_HIST_BUCKETS) return static_cast<double>(dt_hist_bucket_low(b + 1));
  double low = static_cast<double>(dt_hist_bucket_low(b));
  return low * (1.0 + 1.0 / DT_HIST_SUB);
}

}  // namespace

void LatencyHistogram::add_counts(std::span<const std::uint64_t> buckets) {
  for (std::size_t i = 0; i < buckets.size(); i++) {
    counts_[i % DT_HIST_BUCKETS] += buckets[i];
    total_ += buckets[i];
  }
}

std::uint32_t LatencyHistogram::bucket_of(double q, double& below) const {
  q = std::clamp(q, 0.0, 1.0);
  // The rank as a position among total_ values spread evenly in each bucket.
  const double rank = q * static_cast<double>(total_);
  below = 0;
  std::uint32_t last = 0;
  for (std::uint32_t b = 0; b < DT_HIST_BUCKETS; b++) {
    if (!counts_[b]) continue;
    const double c = static_cast<double>(counts_[b]);
    if (below + c >= rank) return b;
    below += c;
    last = b;
  }
  below -= static_cast<double>(counts_[last]);
  return last;  // rounding: the highest bucket with counts
}

std::uint64_t LatencyHistogram::quantile(double q) const {
  if (!total_) return 0;
  double below = 0;
  const std::uint32_t b = bucket_of(q, below);
  const double c = static_cast<double>(counts_[b]);
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total_);
  const double low = static_cast<double>(dt_hist_bucket_low(b));
  const double frac = std::clamp((rank - below) / c, 0.0, 1.0);
  return static_cast<std::uint64_t>(std::llround(low + frac * (bucket_high(b) - low)));
}

std::uint64_t LatencyHistogram::quantile_low(double q) const {
  if (!total_) return 0;
  double below = 0;
  return dt_hist_bucket_low(bucket_of(q, below));
}

double LatencyHistogram::mean() const {
  if (!total_) return 0;
  double sum = 0;
  for (std::uint32_t b = 0; b < DT_HIST_BUCKETS; b++)
    if (counts_[b])
      sum += static_cast<double>(counts_[b]) *
             (static_cast<double>(dt_hist_bucket_low(b)) + bucket_high(b)) / 2;
  return sum / static_cast<double>(total_);
}

double LatencyHistogram::cv() const {
  if (!total_) return 0;
  const double m = mean();
  if (m <= 0) return 0;
  double var = 0;
  for (std::uint32_t b = 0; b < DT_HIST_BUCKETS; b++) {
    if (!counts_[b]) continue;
    double mid = (static_cast<double>(dt_hist_bucket_low(b)) + bucket_high(b)) / 2;
    var += static_cast<double>(counts_[b]) * (mid - m) * (mid - m);
  }
  return std::sqrt(var / static_cast<double>(total_)) / m;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::uint32_t b = 0; b < DT_HIST_BUCKETS; b++) counts_[b] += other.counts_[b];
  total_ += other.total_;
}

}  // namespace difftrace::profiler
