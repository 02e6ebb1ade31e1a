// The Kubernetes API flags shared by the commands that read pods (trace --k8s, agent, k8s-pods):
// --k8s-api, --k8s-token-file, --k8s-ca-file, --node-name; in a pod none is needed.
#pragma once

#include "k8s/k8s_metadata.h"

namespace CLI {
class App;
}

namespace difftrace::cli {

void add_k8s_options(CLI::App& cmd, k8s::K8sOptions& opts);

}  // namespace difftrace::cli
