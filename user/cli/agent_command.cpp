#include "cli/agent_command.h"

#include <CLI/CLI.hpp>

#include "agent/agent_metrics.h"
#include "agent/config_reloader.h"
#include "agent/config_watch.h"
#include "agent/http_endpoint.h"
#include "agent/readiness.h"
#include "cli/command_config.h"
#include "cli/hook_source_option.h"
#include "cli/k8s_options.h"
#include "cli/run_summary.h"
#include "config/service_map.h"
#include "metrics/exposition.h"
#include "metrics/process_usage.h"
#include "session/live_capture.h"
#include "session/session.h"
#include "session/stop_flag.h"

namespace difftrace::cli {

void add_agent_command(CLI::App& app, AgentOptions& opts) {
  auto* cmd = app.add_subcommand(
      "agent", "Run as a node agent: config reloaded live, /metrics, /healthz, /readyz");
  cmd->add_option("--config", opts.config_file,
                  "YAML: services (targets, roles, thresholds) and exports; reloaded on SIGHUP "
                  "and when it changes")
      ->required();
  cmd->add_option("--listen", opts.listen, "HTTP address of /metrics, /healthz and /readyz")
      ->capture_default_str();
  cmd->add_option("--ready-file", opts.ready_file,
                  "Create this file once every probe is attached");
  cmd->add_option("--stats-json", opts.stats_json, "Write the run's counters as JSON on exit");
  cmd->add_flag("--k8s", opts.k8s,
                "Name spans by their pod (k8s.*) and resolve k8s matches, from this node's pods "
                "in the Kubernetes API");
  add_k8s_options(*cmd, opts.k8s_options);
  add_hook_source_option(*cmd, opts.hook_source);
}

namespace {

std::map<std::string, agent::Route> routes(const session::Session& run,
                                           const agent::ConfigReloader& reloader,
                                           metrics::BoundedLabels& services) {
  return {
      {"/metrics",
       [&] {
         return agent::HttpAnswer{200, metrics::kContentType,
                                  agent::render_metrics(run.snapshot(), reloader.status(),
                                                        metrics::process_usage(), services)};
       }},
      {"/healthz", [] { return agent::HttpAnswer{200, "text/plain; charset=utf-8", "ok\n"}; }},
      {"/readyz",
       [&] {
         const auto r = agent::readiness(run.snapshot(), reloader.status());
         return agent::HttpAnswer{r.ready ? 200 : 503, "text/plain; charset=utf-8",
                                  r.ready ? "ready\n" : r.reason + "\n"};
       }},
  };
}

}  // namespace

int run_agent(const AgentOptions& opts) {
  // Before any thread starts (the exporters' senders, the HTTP server's pool): SIGHUP then
  // reaches only the config watch.
  agent::ConfigWatch::block_hangup();
  // Bad input first, so it is reported the same with or without privileges.
  config::Config cfg = load_command_config(opts.config_file);
  agent::parse_listen(opts.listen);
  auto targets = config::targets_of(cfg, /*changeable=*/true);

  session::LiveCaptureOptions capture;
  capture.ready_file = opts.ready_file;
  capture.targets_follow_config = true;
  capture.hook_source = opts.hook_source;
  std::unique_ptr<k8s::K8sMetadata> pods;
  if (opts.k8s) pods = std::make_unique<k8s::K8sMetadata>(opts.k8s_options);
  k8s::ContainerCache containers;

  session::LiveCapture source(std::move(targets), capture);
  session::Session run(std::move(cfg), {{}, false, opts.stats_json}, source);
  add_container_metadata(run, pods.get(), containers);
  agent::ConfigReloader reloader(opts.config_file,
                                 [&run](const config::Config& next) { return run.apply(next); });
  metrics::BoundedLabels services(agent::kMaxServiceLabels);
  agent::HttpEndpoint http(opts.listen, routes(run, reloader, services));
  agent::ConfigWatch watch(opts.config_file,
                           [&reloader](bool forced) { reloader.reload(forced); });

  session::StopFlag stop;
  stop.stop_on_signals();
  run.start();
  while (!stop.stop_requested() && run.step()) {
  }
  watch.stop();  // no reload while the pipeline finishes
  run.finish();
  log_run_summary(run.run_stats());
  run.write_stats();
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace difftrace::cli
