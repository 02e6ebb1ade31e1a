// Kubernetes metadata for one run (trace --k8s, agent): the API client, this node's pods
// (MetadataStore kept by a PodWatcher thread), the per-pid container cache, and the enrichers
// that put container.id and k8s.* on spans.
#pragma once

#include <memory>
#include <string>

#include "k8s/api_client.h"
#include "k8s/container_cache.h"
#include "k8s/metadata_store.h"
#include "k8s/pod_enricher.h"
#include "k8s/pod_selector.h"
#include "k8s/pod_watcher.h"

namespace difftrace::k8s {

struct K8sOptions {
  std::string api_url;     // empty: in-cluster (KUBERNETES_SERVICE_HOST/PORT)
  std::string token_file;  // empty: the service account's, when it is there
  std::string ca_file;     // empty: the service account's ca.crt, when it is there
  std::string node_name;   // empty: $NODE_NAME (the downward API's spec.nodeName)
};

class K8sMetadata {
 public:
  // Throws FatalError(kUsage) when there is no API to ask or no node name.
  explicit K8sMetadata(const K8sOptions& options, WatchOptions watch = {});
  void start() { watcher_.start(); }
  void stop() { watcher_.stop(); }

  const std::string& node_name() const { return node_name_; }
  MetadataStore& store() { return store_; }
  ContainerCache& containers() { return containers_; }
  const PodWatcher& watcher() const { return watcher_; }
  // The pod enricher (it puts container.id too); it refers to this object, which must outlive it.
  std::unique_ptr<PodEnricher> make_enricher() {
    return std::make_unique<PodEnricher>(containers_, store_);
  }
  // The config's k8s matches against this node's pods (Session::set_k8s_match).
  const PodSelector& selector() const { return selector_; }

 private:
  std::string node_name_;
  ApiClient client_;
  MetadataStore store_;
  ContainerCache containers_;
  PodSelector selector_{containers_, store_};
  PodWatcher watcher_;
};

}  // namespace difftrace::k8s
