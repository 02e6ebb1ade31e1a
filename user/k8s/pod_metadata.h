// A pod as the agent needs it from the Kubernetes API's Pod object: its identity, labels,
// containers (by the id the runtime gave them, which /proc/PID/cgroup shows) and owner.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace difftrace::k8s {

struct ContainerMeta {
  std::string name;
  std::string id;  // 64 hex digits, without the runtime's "containerd://"; empty until started

  bool operator==(const ContainerMeta&) const = default;
};

struct PodMeta {
  std::string uid;
  std::string name;
  std::string namespace_name;
  std::string node_name;
  std::string resource_version;
  std::map<std::string, std::string> labels;
  std::vector<ContainerMeta> containers;  // init, regular and ephemeral containers' statuses
  // The controller ownerReference (ReplicaSet, DaemonSet, StatefulSet, Job, ...), empty when
  // none; a ReplicaSet's own owner (a Deployment) is resolved by OwnerResolver.
  std::string owner_kind;
  std::string owner_name;
  // The workload the pod belongs to, as k8s.<kind>.name says it: "deployment", "daemonset",
  // "statefulset", "job", "replicaset" (a bare one); empty when it has no controller.
  std::string workload_kind;
  std::string workload_name;

  bool operator==(const PodMeta&) const = default;
};

// From a Pod object (as list items and watch events carry it). Throws std::invalid_argument
// when it has no metadata.uid or name, or a field has the wrong type.
PodMeta pod_from_json(const nlohmann::json& pod);

// "containerd://3f1c...", "cri-o://...", "docker://..." -> the id; empty when it has no "://".
std::string container_id_of_status(std::string_view container_id);

}  // namespace difftrace::k8s
