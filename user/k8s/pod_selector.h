// A config's k8s match (config::K8sSelector) against this node's pods: which processes it
// selects, found through each process's container id (/proc/PID/cgroup) and the pod whose
// status lists that container. The service registry asks at every rescan, so services follow
// pods as they come and go.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.h"
#include "k8s/container_cache.h"
#include "k8s/metadata_store.h"

namespace difftrace::k8s {

// Every key the selector gives fits: the namespace is one of its namespaces, the container
// one of its containers, and each of its labels is on the pod with that value.
bool selector_matches(const config::K8sSelector& selector, const PodMeta& pod,
                      const std::string& container_name);

class PodSelector {
 public:
  PodSelector(ContainerCache& containers, const MetadataStore& store)
      : containers_(containers), store_(store) {}
  // Whether pid runs in a container the selector selects.
  bool matches(const config::K8sSelector& selector, std::uint32_t pid) const;

 private:
  ContainerCache& containers_;
  const MetadataStore& store_;
};

}  // namespace difftrace::k8s
