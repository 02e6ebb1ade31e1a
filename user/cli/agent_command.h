// `difftrace agent`: the long-running node agent (a Kubernetes DaemonSet's container). The
// pipeline of `trace` with its targets, services and exports from --config, which it reloads
// on SIGHUP and when the file changes, and an HTTP endpoint: /metrics (Prometheus), /healthz,
// /readyz. Runs until SIGINT or SIGTERM, then flushes and exits 0.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace difftrace::cli {

struct AgentOptions {
  std::string config_file;
  std::string listen = "0.0.0.0:9464";
  std::string ready_file;
  std::string stats_json;
};

void add_agent_command(CLI::App& app, AgentOptions& opts);
// Returns the process exit code; throws FatalError on failure.
int run_agent(const AgentOptions& opts);

}  // namespace difftrace::cli
