// Quantiles of durations in bounded memory: log-linear buckets, 64 per power
// of two (at most 1/64 = 1.6% wide), 0 ns to 2^44 ns (about 4.9 hours).
#pragma once

#include <cstdint>
#include <vector>

namespace difftrace::analyze {

class Quantiles {
 public:
  void add(std::uint64_t ns);
  std::uint64_t count() const { return count_; }
  // The q-quantile (0..1): the middle of the bucket it falls in; 0 when empty.
  std::uint64_t quantile(double q) const;
  // The smallest value of the bucket ns falls in: a value v is at or above a quantile
  // when v >= bucket_floor(quantile(q)).
  static std::uint64_t bucket_floor(std::uint64_t ns);
  // The bucket ns falls in: ordered as the values (v >= bucket_floor(w) exactly when
  // bucket_index(v) >= bucket_index(w)).
  static std::size_t bucket_index(std::uint64_t ns);

 private:
  std::vector<std::uint64_t> buckets_;  // grown on demand
  std::uint64_t count_ = 0;
};

}  // namespace difftrace::analyze
