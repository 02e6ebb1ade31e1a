// The Kubernetes API flags shared by the commands that read pods (trace --k8s, agent, k8s-pods):
// --k8s-api, --k8s-token-file, --k8s-ca-file, --node-name; in a pod none is needed. And how a
// live run gets container and pod metadata.
#pragma once

#include "k8s/container_cache.h"
#include "k8s/k8s_metadata.h"
#include "session/session.h"

namespace CLI {
class App;
}

namespace difftrace::cli {

void add_k8s_options(CLI::App& cmd, k8s::K8sOptions& opts);

// container.id on every span of the run; with pods (--k8s: not null), their k8s.* too, and the
// config's k8s matches resolved against this node's pods (whose watch starts here). Without,
// a config's k8s matches select nothing, and a warning says so. Before run.start(); pods and
// containers must outlive run.
void add_container_metadata(session::Session& run, k8s::K8sMetadata* pods,
                            k8s::ContainerCache& containers);

}  // namespace difftrace::cli
