#include "cli/replay_command.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "error.h"
#include "config/config.h"
#include "export/exporter.h"
#include "filter/host_filter_store.h"
#include "filter/service_registry.h"
#include "pipeline/span_pipeline.h"
#include "replay/capture_replay.h"
#include "replay/http_replay.h"
#include "stats/run_stats.h"

namespace difftrace::cli {
namespace {

using replay::HttpReplayCounters;

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

// The kernel's counters, as replay counted them: the same names in --stats-json as `trace`.
// The filter's are the in-memory filter's own.
bpf::KernelCounters kernel_view(const HttpReplayCounters& c, const filter::HostCounters& f) {
  bpf::KernelCounters k = f;
  k[DT_C_IO_CALLS] = c.io_calls;
  k[DT_C_CONNS_TRACKED] = c.connections_tracked;
  k[DT_C_SPANS_SEEN] = c.spans_seen;
  k[DT_C_NON_HTTP] = c.non_http_data;
  k[DT_C_HDR_LOST] = c.headers_past_window;
  k[DT_C_UNANSWERED] = c.requests_unanswered;
  return k;
}

void add_replay_counters(stats::RunStats& stats, const HttpReplayCounters& c,
                         const replay::CaptureSummary& summary) {
  stats.add_user_counter("connections", c.connections);
  stats.add_user_counter("connections_not_selected", c.connections_not_selected);
  stats.add_user_counter("connections_non_http", c.connections_non_http);
  stats.add_user_counter("http2_not_supported", c.http2_not_supported);
  stats.add_user_counter("exchanges_abandoned_gap", c.exchanges_abandoned_gap);
  stats.add_user_counter("exchanges_unfinished", c.exchanges_unfinished);
  stats.add_user_counter("pipelined_requests", c.pipelined_requests);
  stats.add_user_counter("pipelined_requests_unsupported", c.pipelined_requests_unsupported);
  stats.add_user_counter("capture_records", summary.read.records);
  stats.add_user_counter("capture_corrupt_records", summary.read.corrupt_records);
  stats.add_user_counter("tcp_segments", summary.decode.tcp_segments);
  stats.add_user_counter("snaplen_cut_segments", summary.decode.snaplen_cut_segments);
  stats.add_user_counter("tcp_gaps", summary.tcp.gaps);
  stats.add_user_counter("tcp_gap_bytes", summary.tcp.gap_bytes);
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
  config::Config cfg;
  if (!opts.config_file.empty()) {
    try {
      cfg = config::load_config(opts.config_file);
    } catch (const config::ConfigError& e) {
      throw FatalError(ExitCode::kUsage, e.what());
    }
  }
  std::vector<std::string> specs = opts.exports;
  if (specs.empty()) specs = cfg.exports;
  if (specs.empty()) specs = {"console"};
  std::vector<std::unique_ptr<exporters::Exporter>> exporters;
  for (const auto& spec : specs) exporters.push_back(exporters::make_exporter(spec));
  if (!opts.stats_json.empty()) stats::check_writable(opts.stats_json, "--stats-json");

  // The same filter, profiler and assembler as `trace`, over in-memory maps, on capture time.
  filter::FilterSettings settings;
  settings.no_filter = opts.no_filter;
  settings.default_role = static_cast<std::uint8_t>(filter::kernel_role(cfg.default_role));
  settings.keep_spans = static_cast<std::uint8_t>(cfg.keep.spans_per_trace);
  settings.keep_traces = cfg.keep.traces;
  filter::HostFilterStore store(settings);
  capture::WallClock clock(0);  // capture times are wall-clock already
  capture::SpanDecoder decoder(clock);
  pipeline::SpanPipeline pipeline(cfg, store, decoder, exporters);
  pipeline.start(0, /*replay=*/true);

  std::vector<capture::Span> batch;
  std::uint64_t last_ns = 0;
  int kept_since_tick = 0;
  auto flush_batch = [&] {
    if (batch.empty()) return;
    pipeline.add(std::move(batch), last_ns);
    pipeline.tick(last_ns);
    batch.clear();
  };
  replay::HttpReplay sink(std::move(selector), [&](capture::Span&& span) {
    last_ns = std::max(last_ns, span.end_unix_ns);
    batch.push_back(std::move(span));
    if (batch.size() >= 1024) flush_batch();  // bounded memory on large captures
  });
  sink.set_event_filter([&](dt_span_event& ev) {
    ev.pid = filter::ServiceRegistry::replay_pid_of_port(ev.tuple.local_port);
    const bool report = store.filter(ev) == DT_OUT_REPORT;
    ev.pid = 0;
    if (!report) {  // capture time moves on with kept spans too: the profiler ticks
      last_ns = std::max<std::uint64_t>(last_ns, ev.end_ns);
      if (++kept_since_tick >= 256) {
        pipeline.tick(last_ns);
        kept_since_tick = 0;
      }
    }
    return report;
  });
  auto summary = replay::replay_file(opts.file, sink);
  if (!summary) throw FatalError(ExitCode::kUsage, summary.error());
  flush_batch();
  pipeline.finish();

  const HttpReplayCounters& c = sink.counters();
  stats::RunStats& stats = pipeline.stats();
  stats.set_kernel(kernel_view(c, store.counters()));
  add_replay_counters(stats, c, summary.value());
  stats.add_user_counter("invalid_trace_context", sink.invalid_trace_contexts());
  pipeline.fill_stats();
  if (!opts.stats_json.empty()) {
    auto json = stats.to_json();
    json["capture_stopped_early"] = summary->stopped_early;
    stats::write_json_file(opts.stats_json, json);
  }

  const std::string& stopped = summary->stopped_early;
  if (!stopped.empty() && c.spans_seen == 0)
    throw FatalError(ExitCode::kUsage, stopped + "; no HTTP/1.x spans before it");
  if (!stopped.empty()) spdlog::warn("{}; the spans before it were replayed", stopped);
  spdlog::info(
      "replayed {}: {} spans from {} HTTP/1.x connections of {} ({} HTTP/2 or gRPC: not "
      "supported yet; {} other protocols; {} not selected); {} exchanges abandoned at capture "
      "gaps, {} unfinished at the end",
      opts.file, c.spans_seen, c.connections_tracked, c.connections, c.http2_not_supported,
      c.connections_non_http, c.connections_not_selected, c.exchanges_abandoned_gap,
      c.exchanges_unfinished);
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace difftrace::cli
