// Bounds a label's cardinality: the first `cap` distinct values seen keep a series of their
// own for the rest of the run, every later one is summed into one "other" series. First come
// rather than top-N, so that a value never moves between its own series and "other": each
// series stays a counter that only grows (Prometheus reads a drop as a restart).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace difftrace::metrics {

inline constexpr const char* kOtherLabel = "other";

class BoundedLabels {
 public:
  explicit BoundedLabels(std::size_t cap) : cap_(cap) {}

  // Counts by value, folded: admitted values as they are, the rest summed under "other"
  // (a real value "other" shares that series). Thread-safe.
  std::map<std::string, std::uint64_t> fold(const std::map<std::string, std::uint64_t>& counts);

 private:
  const std::size_t cap_;
  std::mutex mutex_;
  std::set<std::string> admitted_;
};

}  // namespace difftrace::metrics
