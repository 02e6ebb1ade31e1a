#include "k8s/container_id_enricher.h"

namespace difftrace::k8s {

void ContainerIdEnricher::enrich(capture::Span& span) const {
  if (!span.pid) return;
  if (auto resource = cache_.of(span.pid).resource) span.resource = std::move(resource);
}

}  // namespace difftrace::k8s
