// Each traced process's container and pod (k8s/cgroup_identity.h), read once and kept: a
// process does not change container. An entry is read again after `ttl`, so a pid reused by a
// process in another container is named right from then on; at most `capacity` entries are
// kept (expired ones go first, then all). Thread-safe: the pipeline and the service rescan may
// ask at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "capture/span.h"
#include "k8s/cgroup_identity.h"

namespace difftrace::k8s {

class ContainerCache {
 public:
  using Reader = std::function<std::optional<CgroupIdentity>(std::uint32_t pid)>;
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Entry {
    CgroupIdentity identity;
    // {container.id: ...}, shared by the spans of the container; null when not in one.
    std::shared_ptr<const capture::ResourceAttributes> resource;
  };

  // Defaults: /proc, the steady clock, 4096 entries, 10 s.
  explicit ContainerCache(Reader read = {}, Clock clock = {}, std::size_t capacity = 4096,
                          std::chrono::nanoseconds ttl = std::chrono::seconds(10));

  // The pid's entry; an empty one for a process that is gone or in no container.
  Entry of(std::uint32_t pid);
  std::size_t size() const;
  std::uint64_t reads() const;  // of /proc/PID/cgroup (or the given reader)

 private:
  struct Cached {
    Entry entry;
    std::chrono::steady_clock::time_point read_at;
  };
  void make_room(std::chrono::steady_clock::time_point now);

  Reader read_;
  Clock clock_;
  std::size_t capacity_;
  std::chrono::nanoseconds ttl_;
  mutable std::mutex mutex_;
  std::unordered_map<std::uint32_t, Cached> by_pid_;
  std::uint64_t reads_ = 0;
};

}  // namespace difftrace::k8s
