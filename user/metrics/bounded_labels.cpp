#include "metrics/bounded_labels.h"

namespace difftrace::metrics {

std::map<std::string, std::uint64_t> BoundedLabels::fold(
    const std::map<std::string, std::uint64_t>& counts) {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::uint64_t> out;
  for (const auto& [value, n] : counts) {
    if (!admitted_.count(value) && admitted_.size() < cap_) admitted_.insert(value);
    out[admitted_.count(value) ? value : kOtherLabel] += n;
  }
  return out;
}

}  // namespace difftrace::metrics
