#include "k8s/container_cache.h"

namespace difftrace::k8s {

ContainerCache::ContainerCache(Reader read, Clock clock, std::size_t capacity,
                               std::chrono::nanoseconds ttl)
    : read_(read ? std::move(read)
                 : Reader([](std::uint32_t pid) {
                     return read_cgroup_identity(static_cast<pid_t>(pid));
                   })),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      capacity_(capacity ? capacity : 1),
      ttl_(ttl) {}

void ContainerCache::make_room(std::chrono::steady_clock::time_point now) {
  if (by_pid_.size() < capacity_) return;
  std::erase_if(by_pid_, [&](const auto& kv) { return now - kv.second.read_at >= ttl_; });
  if (by_pid_.size() >= capacity_) by_pid_.clear();
}

ContainerCache::Entry ContainerCache::of(std::uint32_t pid) {
  const auto now = clock_();
  std::lock_guard lock(mutex_);
  auto it = by_pid_.find(pid);
  if (it != by_pid_.end() && now - it->second.read_at < ttl_) return it->second.entry;

  Entry e;
  reads_++;
  if (auto id = read_(pid)) e.identity = std::move(*id);
  if (!e.identity.container_id.empty()) {
    // The spans of one container share one resource: reuse the last entry's when it is the same.
    if (it != by_pid_.end() && it->second.entry.identity.container_id == e.identity.container_id)
      e.resource = it->second.entry.resource;
    else
      e.resource = std::make_shared<const capture::ResourceAttributes>(
          capture::ResourceAttributes{{"container.id", e.identity.container_id}});
  }
  if (it == by_pid_.end()) {
    make_room(now);
    by_pid_.emplace(pid, Cached{e, now});
  } else {
    it->second = {e, now};
  }
  return e;
}

std::size_t ContainerCache::size() const {
  std::lock_guard lock(mutex_);
  return by_pid_.size();
}

std::uint64_t ContainerCache::reads() const {
  std::lock_guard lock(mutex_);
  return reads_;
}

}  // namespace difftrace::k8s
