#include "k8s/k8s_metadata.h"

#include <cstdlib>

#include "error.h"

namespace difftrace::k8s {
namespace {

std::string node_name_of(const K8sOptions& o) {
  if (!o.node_name.empty()) return o.node_name;
  const char* env = std::getenv("NODE_NAME");
  if (env && *env) return env;
  throw FatalError(ExitCode::kUsage,
                   "Kubernetes metadata needs this node's name: set NODE_NAME (in a DaemonSet, "
                   "from the downward API's spec.nodeName) or give --node-name");
}

}  // namespace

K8sMetadata::K8sMetadata(const K8sOptions& options, WatchOptions watch)
    : node_name_(node_name_of(options)),
      client_(in_cluster_config(options.api_url, options.token_file, options.ca_file)),
      watcher_(client_, store_, node_name_, watch) {}

}  // namespace difftrace::k8s
