#include "analyze/quantiles.h"

#include <bit>
#include <cmath>

namespace difftrace::analyze {
namespace {

constexpr unsigned kSubBits = 6;
constexpr std::uint64_t kSub = 1u << kSubBits;
constexpr std::size_t kMaxBuckets = (44 - kSubBits + 1) * kSub;

std::size_t bucket_of(std::uint64_t ns) {
  if (ns < kSub) return static_cast<std::size_t>(ns);
  const unsigned k = 63 - static_cast<unsigned>(std::countl_zero(ns));
  const std::uint64_t sub = (ns >> (k - kSubBits)) & (kSub - 1);
  const std::size_t idx = (k - kSubBits + 1) * kSub + sub;
  return idx < kMaxBuckets ? idx : kMaxBuckets - 1;
}

std::uint64_t bucket_low(std::size_t idx) {
  if (idx < kSub) return idx;
  const unsigned k = static_cast<unsigned>(idx / kSub) + kSubBits - 1;
  const std::uint64_t sub = idx % kSub;
  return (kSub + sub) << (k - kSubBits);
}

}  // namespace

void Quantiles::add(std::uint64_t ns) {
  const std::size_t b = bucket_of(ns);
  if (b >= buckets_.size()) buckets_.resize(b + 1, 0);
  buckets_[b]++;
  count_++;
}

std::uint64_t Quantiles::bucket_floor(std::uint64_t ns) { return bucket_low(bucket_of(ns)); }

std::size_t Quantiles::bucket_index(std::uint64_t ns) { return bucket_of(ns); }

std::uint64_t Quantiles::quantile(double q) const {
  if (!count_) return 0;
  // The rank of the quantile, 1-based (nearest rank).
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank < 1) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < buckets_.size(); b++) {
    seen += buckets_[b];
    if (seen >= rank) {
      const std::uint64_t low = bucket_low(b), high = bucket_low(b + 1);
      return b < kSub ? low : low + (high - low) / 2;
    }
  }
  return bucket_low(buckets_.size() - 1);
}

}  // namespace difftrace::analyze
