// This node's pods, by pod uid and by container id, as the watch last said: written by the
// watcher thread, read by the span pipeline and the service rescan. Every change bumps the
// generation, so readers can cache what they derive from it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "k8s/pod_metadata.h"

namespace difftrace::k8s {

class MetadataStore {
 public:
  struct Found {
    std::shared_ptr<const PodMeta> pod;
    std::string container_name;  // empty when found by pod uid only
  };

  // The pods a list returned, in place of all there were.
  void replace(std::vector<PodMeta> pods);
  void upsert(PodMeta pod);
  void remove(const std::string& pod_uid);

  std::optional<Found> by_container(const std::string& container_id) const;
  std::shared_ptr<const PodMeta> by_pod_uid(const std::string& uid) const;
  std::vector<std::shared_ptr<const PodMeta>> pods() const;
  std::uint64_t generation() const;
  // {"generation": N, "pods": [{uid, name, namespace, node, labels, owner, workload,
  //   containers: [{name, id}]}]}, pods by namespace and name: what `difftrace k8s-pods` prints.
  nlohmann::json to_json() const;

 private:
  void index(const std::shared_ptr<const PodMeta>& pod);
  void unindex(const PodMeta& pod);

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const PodMeta>> by_uid_;
  std::map<std::string, std::pair<std::string, std::string>> by_container_;  // id -> uid, name
  std::uint64_t generation_ = 0;
};

}  // namespace difftrace::k8s
