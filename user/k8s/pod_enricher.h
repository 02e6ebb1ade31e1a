// The Kubernetes resource attributes of OpenTelemetry's k8sattributes processor on every span
// whose process runs in a pod of this node: k8s.namespace.name, k8s.pod.name, k8s.pod.uid,
// k8s.container.name, k8s.node.name and the workload (k8s.deployment.name,
// k8s.replicaset.name, k8s.daemonset.name, k8s.statefulset.name, k8s.job.name), with
// container.id. The pod is found by the process's container id, else by its pod uid (from
// the cgroup path). A span of a container the store does not know (the API away, or the pod
// too new) goes on unnamed and is counted.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "k8s/container_cache.h"
#include "k8s/metadata_store.h"
#include "pipeline/span_enricher.h"

namespace difftrace::k8s {

// The attributes for a pod's container (container_id may be empty: found by pod uid).
capture::ResourceAttributes pod_attributes(const PodMeta& pod, const std::string& container_name,
                                           const std::string& container_id);

class PodEnricher : public pipeline::SpanEnricher {
 public:
  PodEnricher(ContainerCache& cache, const MetadataStore& store) : cache_(cache), store_(store) {}
  void enrich(capture::Span& span) const override;
  // k8s_spans_named, k8s_spans_unnamed (in a container, no pod known for it).
  void fill_stats(stats::RunStats& stats) const override;
  std::uint64_t named() const { return named_; }
  std::uint64_t unnamed() const { return unnamed_; }

 private:
  struct Made {
    std::uint64_t generation;
    std::shared_ptr<const capture::ResourceAttributes> resource;
  };
  ContainerCache& cache_;
  const MetadataStore& store_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, Made> made_;  // by container id (or "pod:" uid)
  mutable std::atomic<std::uint64_t> named_{0};
  mutable std::atomic<std::uint64_t> unnamed_{0};
};

}  // namespace difftrace::k8s
