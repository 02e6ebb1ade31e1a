#include "cli/trace_command.h"

#include <CLI/CLI.hpp>

#include "cli/command_config.h"
#include "cli/hook_source_option.h"
#include "cli/k8s_options.h"
#include "cli/run_summary.h"
#include "config/config.h"
#include "config/service_map.h"
#include "error.h"
#include "session/live_capture.h"
#include "session/session.h"
#include "session/stop_flag.h"

namespace difftrace::cli {

void add_trace_command(CLI::App& app, TraceOptions& opts) {
  auto* cmd = app.add_subcommand("trace", "Capture HTTP spans from running processes");
  cmd->add_option("--pid", opts.pids, "Trace this process and the processes it forks (repeatable)");
  cmd->add_option("--comm", opts.comms, "Trace processes whose kernel comm is NAME (repeatable)");
  cmd->add_option("--cgroup", opts.cgroups,
                  "Trace processes in this cgroup v2 directory (repeatable)");
  cmd->add_flag("--all", opts.all, "Trace every process");
  cmd->add_option("--duration", opts.duration_s, "Stop after S seconds (default: until SIGINT)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--export", opts.exports,
                  "Where spans go: console (default), console:tree, otlp-json:PATH, "
                  "otlp-http:URL, zipkin:URL (repeatable)");
  cmd->add_option("--stats-json", opts.stats_json, "Write the run's counters as JSON on exit");
  cmd->add_option("--ready-file", opts.ready_file,
                  "Create this file once every probe is attached");
  cmd->add_option("--config", opts.config_file,
                  "YAML: services (names, matches, roles, thresholds), exports; flags override");
  cmd->add_flag("--no-filter", opts.no_filter,
                "Report every span (full tracing; anomalies are still marked)");
  cmd->add_flag("--k8s", opts.k8s,
                "Name spans by their pod (k8s.*), from this node's pods in the Kubernetes API");
  add_k8s_options(*cmd, opts.k8s_options);
  add_hook_source_option(*cmd, opts.hook_source);
}

int run_trace(const TraceOptions& opts) {
  // Bad input first, so it is reported the same with or without privileges.
  config::Config cfg = load_command_config(opts.config_file);
  std::vector<pid_t> pids(opts.pids.begin(), opts.pids.end());
  const bool cli_targets = !pids.empty() || !opts.comms.empty() || !opts.cgroups.empty() || opts.all;
  auto targets = cli_targets || cfg.services.empty()
                     ? targets::resolve(pids, opts.comms, opts.cgroups, opts.all)
                     : config::targets_of(cfg);

  session::LiveCapture source(std::move(targets),
                              {opts.duration_s, opts.ready_file, opts.no_filter, false, opts.hook_source});
  // container.id on every span; with --k8s, the pod's attributes too.
  std::unique_ptr<k8s::K8sMetadata> k8s_meta;
  if (opts.k8s) k8s_meta = std::make_unique<k8s::K8sMetadata>(opts.k8s_options);
  k8s::ContainerCache containers;
  session::Session run(std::move(cfg), {opts.exports, opts.no_filter, opts.stats_json}, source);
  add_container_metadata(run, k8s_meta.get(), containers);
  session::StopFlag stop;
  stop.stop_on_signals();
  run.run(stop);

  log_run_summary(run.run_stats());
  run.write_stats();
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace difftrace::cli
