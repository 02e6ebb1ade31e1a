#include "cli/trace_command.h"

#include <CLI/CLI.hpp>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <fstream>

#include "bpf/capture_program.h"
#include "bpf/kernel_filter_store.h"
#include "capture/clock.h"
#include "capture/collector.h"
#include "check/require_features.h"
#include "config/config.h"
#include "config/service_map.h"
#include "env/environment.h"
#include "error.h"
#include "export/exporter.h"
#include "filter/service_registry.h"
#include "pipeline/span_pipeline.h"
#include "stats/run_stats.h"

namespace difftrace::cli {
namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: let poll return at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void touch(const std::string& path) {
  std::ofstream f(path);
  if (!f) throw FatalError(ExitCode::kUsage, errno_message("--ready-file " + path, errno));
}

}  // namespace

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
}

int run_trace(const TraceOptions& opts) {
  // Bad input first, so it is reported the same with or without privileges.
  config::Config cfg;
  if (!opts.config_file.empty()) {
    try {
      cfg = config::load_config(opts.config_file);
    } catch (const config::ConfigError& e) {
      throw FatalError(ExitCode::kUsage, e.what());
    }
  }
  std::vector<pid_t> pids(opts.pids.begin(), opts.pids.end());
  const bool cli_targets = !pids.empty() || !opts.comms.empty() || !opts.cgroups.empty() || opts.all;
  auto targets = cli_targets || cfg.services.empty()
                     ? targets::resolve(pids, opts.comms, opts.cgroups, opts.all)
                     : config::targets_of(cfg);
  std::vector<std::string> specs = opts.exports;
  if (specs.empty()) specs = cfg.exports;
  if (specs.empty()) specs = {"console"};
  std::vector<std::unique_ptr<exporters::Exporter>> exporters;
  for (const auto& spec : specs) exporters.push_back(exporters::make_exporter(spec));
  if (!opts.stats_json.empty()) stats::check_writable(opts.stats_json, "--stats-json");

  check::require_kernel_features();  // privileges, bpf(), BTF, every BPF feature used
  env::ensure_tracefs();

  filter::FilterSettings settings;
  settings.no_filter = opts.no_filter;
  settings.default_role = static_cast<std::uint8_t>(filter::kernel_role(cfg.default_role));
  settings.keep_spans = static_cast<std::uint8_t>(cfg.keep.spans_per_trace);
  settings.keep_traces = cfg.keep.traces;

  capture::WallClock clock;
  capture::SpanDecoder decoder(clock);
  bpf::CaptureProgram program(targets, settings);
  bpf::KernelFilterStore store(program);
  pipeline::SpanPipeline pipeline(cfg, store, decoder, exporters);
  pipeline.start(capture::WallClock::monotonic_now_ns());
  capture::Collector collector(program.events_fd(), decoder);
  install_signal_handlers();
  program.attach();
  if (!program.skipped().empty())
    spdlog::info("hooks this kernel lacks, left out: {}", fmt::join(program.skipped(), ", "));
  if (!opts.ready_file.empty()) touch(opts.ready_file);
  spdlog::info("tracing ({} probes attached, filter {}){}", program.attached_count(),
               opts.no_filter ? "off" : "on",
               opts.duration_s > 0 ? fmt::format(" for {}s", opts.duration_s) : "; Ctrl-C stops");

  const std::uint64_t deadline =
      opts.duration_s > 0
          ? capture::WallClock::monotonic_now_ns() +
                static_cast<std::uint64_t>(opts.duration_s * 1e9)
          : 0;
  while (!g_stop) {
    collector.poll(100);
    const std::uint64_t now = capture::WallClock::monotonic_now_ns();
    pipeline.add(collector.take(), now);
    pipeline.tick(now);
    if (deadline && now >= deadline) break;
  }

  // Stop the probes first so that nothing arrives after the last drain.
  program.detach();
  while (collector.drain()) pipeline.add(collector.take(), capture::WallClock::monotonic_now_ns());
  pipeline.add(collector.take(), capture::WallClock::monotonic_now_ns());
  pipeline.finish();

  stats::RunStats& stats = pipeline.stats();
  stats.set_kernel(program.read_counters());
  stats.add_user_counter("invalid_trace_context", decoder.invalid_trace_contexts());
  stats.add_user_counter("malformed_events", collector.malformed());
  pipeline.fill_stats();
  const auto& k = stats.kernel();
  const auto& a = pipeline.assembler_counters();
  spdlog::info(
      "done: {} spans seen, {} reported ({} anomalous), {} kept, {} lost in the ring buffer "
      "({} anomalies); {} traces exported, {} spans recovered exact, {} estimated; {} spans "
      "exported",
      k[DT_C_SPANS_SEEN], k[DT_C_SPANS_REPORTED],
      bpf::anomalies_reported(k),
      k[DT_C_SPANS_KEPT], k[DT_C_RINGBUF_LOST], k[DT_C_ANOMALIES_LOST], a.traces_exported,
      a.spans_recovered_exact, a.spans_estimated, pipeline.spans_exported());
  if (!opts.stats_json.empty()) stats::write_json_file(opts.stats_json, stats.to_json());
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace difftrace::cli
