// `difftrace trace`: capture spans from live processes until --duration
// passes or SIGINT/SIGTERM arrives, then flush and report.
#pragma once

#include <string>
#include <vector>

#include "bpf/hook_sources.h"
#include "k8s/k8s_metadata.h"

namespace CLI {
class App;
}

namespace difftrace::cli {

struct TraceOptions {
  std::vector<int> pids;
  std::vector<std::string> comms;
  std::vector<std::string> cgroups;
  bool all = false;
  double duration_s = 0;  // 0: until a signal
  std::vector<std::string> exports;
  std::string stats_json;
  std::string ready_file;
  std::string config_file;
  bool no_filter = false;
  bool k8s = false;  // --k8s: pod metadata from the Kubernetes API on spans
  k8s::K8sOptions k8s_options;
  bpf::HookSourceMode hook_source = bpf::HookSourceMode::kAuto;
};

void add_trace_command(CLI::App& app, TraceOptions& opts);
// Returns the process exit code; throws FatalError on failure.
int run_trace(const TraceOptions& opts);

}  // namespace difftrace::cli
