#include "cli/replay_command.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/command_config.h"
#include "config/config.h"
#include "error.h"
#include "replay/conn_selector.h"
#include "session/replay_source.h"
#include "session/session.h"
#include "session/stop_flag.h"

namespace difftrace::cli {
namespace {

replay::ConnSelector make_selector(const ReplayOptions& opts) {
  replay::ConnSelector selector;
  for (int port : opts.ports) selector.server_ports.push_back(static_cast<uint16_t>(port));
  for (const auto& host : opts.hosts) {
    auto addr = replay::parse_ip_addr(host);
    if (!addr)
      throw FatalError(ExitCode::kUsage,
                       "--host " + host + ": not an IPv4 or IPv6 address (e.g. 10.0.0.1, ::1)");
    selector.server_hosts.push_back(*addr);
  }
  return selector;
}

}  // namespace

void add_replay_command(CLI::App& app, ReplayOptions& opts) {
  auto* cmd = app.add_subcommand(
      "replay", "Spans from a pcap/pcapng capture, through the kernel's HTTP/1.x code (no root)");
  cmd->add_option("FILE", opts.file, "The capture (pcap or pcapng)")->required();
  cmd->add_option("--export", opts.exports,
                  "Where spans go: console (default), console:tree, otlp-json:PATH, "
                  "otlp-http:URL, zipkin:URL (repeatable)");
  cmd->add_option("--config", opts.config_file,
                  "YAML as for trace: services (by listen_port here), roles, thresholds");
  cmd->add_flag("--no-filter", opts.no_filter, "Report every span (full tracing)");
  cmd->add_option("--stats-json", opts.stats_json, "Write the replay's counters as JSON");
  cmd->add_option("--port", opts.ports, "Only connections to this server port (repeatable)")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--host", opts.hosts,
                  "Only connections to this server address (repeatable)");
}

int run_replay(const ReplayOptions& opts) {
  // Bad input first, before any output is written.
  replay::ConnSelector selector = make_selector(opts);
  config::Config cfg = load_command_config(opts.config_file);

  // The same filter, profiler and assembler as `trace`, over in-memory maps, on capture time.
  session::ReplaySource source(opts.file, std::move(selector));
  session::Session run(std::move(cfg), {opts.exports, opts.no_filter, opts.stats_json}, source);
  run.run(session::StopFlag{});  // a file ends; Ctrl-C ends the process, as before
  run.write_stats();

  const replay::HttpReplayCounters& c = source.counters();
  const std::string& stopped = source.stopped_early();
  if (!stopped.empty() && c.spans_seen == 0)
    throw FatalError(ExitCode::kUsage, stopped + "; no HTTP spans before it");
  if (!stopped.empty()) spdlog::warn("{}; the spans before it were replayed", stopped);
  spdlog::info(
      "replayed {}: {} spans from {} HTTP connections of {} ({} of them HTTP/2 or gRPC, with {} "
      "header fields indexed before the capture; {} other protocols; {} not selected); {} "
      "exchanges abandoned at capture gaps, {} unfinished at the end",
      opts.file, c.spans_seen, c.connections_tracked, c.connections, c.http2_connections,
      c.http2_fields_unresolved, c.connections_non_http, c.connections_not_selected,
      c.exchanges_abandoned_gap, c.exchanges_unfinished);
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace difftrace::cli
