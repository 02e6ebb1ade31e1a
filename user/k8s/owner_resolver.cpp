#include "k8s/owner_resolver.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cctype>

namespace difftrace::k8s {

std::string workload_key(const std::string& kind) {
  std::string k;
  for (char c : kind) k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return k;
}

std::optional<std::pair<std::string, std::string>> OwnerResolver::replicaset_owner(
    const std::string& ns, const std::string& name) {
  const std::string key = ns + "/" + name;
  if (auto it = replicasets_.find(key); it != replicasets_.end()) return it->second;
  lookups_++;
  auto r = get_("/apis/apps/v1/namespaces/" + url_encode(ns) + "/replicasets/" + url_encode(name));
  if (r.status != 200) {
    lookup_errors_++;
    spdlog::debug("k8s: replicaset {}: {}", key, r.status ? "HTTP " + std::to_string(r.status) : r.error);
    return std::nullopt;
  }
  std::pair<std::string, std::string> owner;
  try {
    auto rs = nlohmann::json::parse(r.body);
    for (const auto& o : rs.at("metadata").value("ownerReferences", nlohmann::json::array()))
      if (o.value("controller", false)) owner = {o.value("kind", ""), o.value("name", "")};
  } catch (const std::exception& e) {
    lookup_errors_++;
    spdlog::debug("k8s: replicaset {}: {}", key, e.what());
    return std::nullopt;
  }
  if (replicasets_.size() >= 4096) replicasets_.clear();
  replicasets_[key] = owner;
  return owner;
}

void OwnerResolver::resolve(PodMeta& pod) {
  pod.workload_kind.clear();
  pod.workload_name.clear();
  if (pod.owner_kind.empty()) return;
  if (pod.owner_kind != "ReplicaSet") {
    pod.workload_kind = workload_key(pod.owner_kind);
    pod.workload_name = pod.owner_name;
    return;
  }
  if (auto owner = replicaset_owner(pod.namespace_name, pod.owner_name)) {
    if (owner->first.empty()) {  // a bare ReplicaSet
      pod.workload_kind = "replicaset";
      pod.workload_name = pod.owner_name;
    } else {
      pod.workload_kind = workload_key(owner->first);
      pod.workload_name = owner->second;
    }
    return;
  }
  auto hash = pod.labels.find("pod-template-hash");
  const std::string suffix = hash == pod.labels.end() ? "" : "-" + hash->second;
  if (!suffix.empty() && pod.owner_name.size() > suffix.size() &&
      pod.owner_name.compare(pod.owner_name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    pod.workload_kind = "deployment";
    pod.workload_name = pod.owner_name.substr(0, pod.owner_name.size() - suffix.size());
  } else {
    pod.workload_kind = "replicaset";
    pod.workload_name = pod.owner_name;
  }
}

}  // namespace difftrace::k8s
