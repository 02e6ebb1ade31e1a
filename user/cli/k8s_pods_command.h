// `difftrace k8s-pods`: this node's pods as the agent sees them through the Kubernetes API
// (list, then watch), one JSON line per change: {"generation", "pods": [...], "watch":
// {counters}}. Run it in the agent's pod to check its RBAC and API access; the tests run it
// against a local server that speaks the API's list/watch protocol.
#pragma once

#include "k8s/k8s_metadata.h"

namespace CLI {
class App;
}

namespace difftrace::cli {

struct K8sPodsOptions {
  k8s::K8sOptions k8s;
  double duration_s = 0;  // 0: until SIGINT/SIGTERM
};

void add_k8s_pods_command(CLI::App& app, K8sPodsOptions& opts);
int run_k8s_pods(const K8sPodsOptions& opts);

}  // namespace difftrace::cli
