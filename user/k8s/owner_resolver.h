// A pod's workload (k8s.deployment.name, k8s.daemonset.name, ...): its controller owner, and
// for a ReplicaSet, the ReplicaSet's own owner (a Deployment), read with one GET per ReplicaSet
// and kept (at most 4096). When that GET fails (the API away, no RBAC for replicasets) the
// Deployment's name is taken from the ReplicaSet's, as the Deployment controller makes it
// ("<deployment>-<pod-template-hash>"), and the GET is tried again for the next pod.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "k8s/api_client.h"
#include "k8s/pod_metadata.h"

namespace difftrace::k8s {

class OwnerResolver {
 public:
  using Get = std::function<ApiClient::Response(const std::string& path)>;
  explicit OwnerResolver(Get get) : get_(std::move(get)) {}

  // Sets pod.workload_kind and workload_name from its owner.
  void resolve(PodMeta& pod);
  std::uint64_t lookups() const { return lookups_; }
  std::uint64_t lookup_errors() const { return lookup_errors_; }

 private:
  // (kind, name) of the ReplicaSet's controller, nullopt when the GET failed.
  std::optional<std::pair<std::string, std::string>> replicaset_owner(const std::string& ns,
                                                                      const std::string& name);
  Get get_;
  std::map<std::string, std::pair<std::string, std::string>> replicasets_;  // "ns/name" -> owner
  std::atomic<std::uint64_t> lookups_{0};        // read from other threads
  std::atomic<std::uint64_t> lookup_errors_{0};
};

// "Deployment" -> "deployment", as the k8s.<kind>.name attributes write it.
std::string workload_key(const std::string& kind);

}  // namespace difftrace::k8s
