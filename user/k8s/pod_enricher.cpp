#include "k8s/pod_enricher.h"

#include <set>

namespace difftrace::k8s {

capture::ResourceAttributes pod_attributes(const PodMeta& pod, const std::string& container_name,
                                           const std::string& container_id) {
  // The workload kinds OpenTelemetry's semantic conventions name.
  static const std::set<std::string> kKinds = {"deployment", "replicaset", "daemonset",
                                               "statefulset", "job", "cronjob"};
  capture::ResourceAttributes a;
  if (!container_id.empty()) a.emplace_back("container.id", container_id);
  a.emplace_back("k8s.namespace.name", pod.namespace_name);
  a.emplace_back("k8s.pod.name", pod.name);
  a.emplace_back("k8s.pod.uid", pod.uid);
  if (!container_name.empty()) a.emplace_back("k8s.container.name", container_name);
  if (!pod.node_name.empty()) a.emplace_back("k8s.node.name", pod.node_name);
  if (pod.owner_kind == "ReplicaSet" && pod.workload_kind != "replicaset")
    a.emplace_back("k8s.replicaset.name", pod.owner_name);
  if (kKinds.count(pod.workload_kind))
    a.emplace_back("k8s." + pod.workload_kind + ".name", pod.workload_name);
  return a;
}

void PodEnricher::enrich(capture::Span& span) const {
  if (!span.pid) return;
  const auto entry = cache_.of(span.pid);
  const auto& id = entry.identity;
  if (id.empty()) return;  // a host process: nothing to name
  if (entry.resource) span.resource = entry.resource;  // container.id, whatever comes next
  const std::string key = id.container_id.empty() ? "pod:" + id.pod_uid : id.container_id;
  const std::uint64_t generation = store_.generation();
  {
    std::lock_guard lock(mutex_);
    if (auto it = made_.find(key); it != made_.end() && it->second.generation == generation) {
      if (it->second.resource) {
        span.resource = it->second.resource;
        named_++;
      } else {
        unnamed_++;
      }
      return;
    }
  }
  std::shared_ptr<const capture::ResourceAttributes> resource;
  if (auto found = id.container_id.empty() ? std::nullopt : store_.by_container(id.container_id))
    resource = std::make_shared<const capture::ResourceAttributes>(
        pod_attributes(*found->pod, found->container_name, id.container_id));
  else if (auto pod = id.pod_uid.empty() ? nullptr : store_.by_pod_uid(id.pod_uid))
    resource = std::make_shared<const capture::ResourceAttributes>(
        pod_attributes(*pod, "", id.container_id));
  {
    std::lock_guard lock(mutex_);
    if (made_.size() >= 8192) made_.clear();
    made_[key] = {generation, resource};
  }
  if (resource) {
    span.resource = std::move(resource);
    named_++;
  } else {
    unnamed_++;
  }
}

void PodEnricher::fill_stats(stats::RunStats& stats) const {
  stats.add_user_counter("k8s_spans_named", named_);
  stats.add_user_counter("k8s_spans_unnamed", unnamed_);
}

}  // namespace difftrace::k8s
