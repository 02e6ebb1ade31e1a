#include "filter/service_ids.h"

#include <spdlog/spdlog.h>

#include <limits>

namespace difftrace::filter {

std::uint16_t ServiceIds::assign(const std::string& name) {
  if (auto id = find(name)) return *id;
  if (next_ > std::numeric_limits<std::uint16_t>::max()) {
    spdlog::warn("service {}: no service id left in this session, its processes go unnamed",
                 name);
    return 0;
  }
  const auto id = static_cast<std::uint16_t>(next_++);
  ids_.emplace(name, id);
  return id;
}

std::optional<std::uint16_t> ServiceIds::find(const std::string& name) const {
  auto it = ids_.find(name);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

}  // namespace difftrace::filter
