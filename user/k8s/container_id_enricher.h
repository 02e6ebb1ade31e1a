// The OpenTelemetry resource attribute container.id on every span whose process runs in a
// container (k8s/cgroup_identity.h), from a per-pid cache (k8s/container_cache.h).
#pragma once

#include "k8s/container_cache.h"
#include "pipeline/span_enricher.h"

namespace difftrace::k8s {

class ContainerIdEnricher : public pipeline::SpanEnricher {
 public:
  // The cache must outlive the enricher (the pod enricher and the service rescan share it).
  explicit ContainerIdEnricher(ContainerCache& cache) : cache_(cache) {}
  void enrich(capture::Span& span) const override;

 private:
  ContainerCache& cache_;
};

}  // namespace difftrace::k8s
