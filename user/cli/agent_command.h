// `difftrace agent`: the long-running node agent (a Kubernetes DaemonSet's container). The
// pipeline of `trace` with its targets, services and exports from --config, which it reloads
// on SIGHUP and when the file changes, and an HTTP endpoint: /metrics (Prometheus), /healthz,
// /readyz; container.id on spans, and with --k8s this node's pods (k8s.* attributes, k8s
// matches). Runs until SIGINT or SIGTERM, then flushes and exits 0.
#pragma once

#include <string>

#include "bpf/hook_sources.h"
#include "k8s/k8s_metadata.h"

namespace CLI {
class App;
}

namespace difftrace::cli {

struct AgentOptions {
  std::string config_file;
  std::string listen = "0.0.0.0:9464";
  std::string ready_file;
  std::string stats_json;
  bool k8s = false;  // --k8s: pod metadata from the Kubernetes API on spans, k8s matches
  k8s::K8sOptions k8s_options;
  bpf::HookSourceMode hook_source = bpf::HookSourceMode::kAuto;
};

void add_agent_command(CLI::App& app, AgentOptions& opts);
// Returns the process exit code; throws FatalError on failure.
int run_agent(const AgentOptions& opts);

}  // namespace difftrace::cli
