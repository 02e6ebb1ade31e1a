#include "session/session.h"

#include "filter/service_registry.h"

namespace difftrace::session {
namespace {

std::vector<std::unique_ptr<exporters::Exporter>> make_exporters(
    const config::Config& config, const std::vector<std::string>& flags) {
  std::vector<std::string> specs = flags;
  if (specs.empty()) specs = config.exports;
  if (specs.empty()) specs = {"console"};
  std::vector<std::unique_ptr<exporters::Exporter>> exporters;
  for (const auto& spec : specs) exporters.push_back(exporters::make_exporter(spec));
  return exporters;
}

}  // namespace

filter::FilterSettings filter_settings(const config::Config& config, bool no_filter) {
  filter::FilterSettings settings;
  settings.no_filter = no_filter;
  settings.default_role = static_cast<std::uint8_t>(filter::kernel_role(config.default_role));
  settings.keep_spans = static_cast<std::uint8_t>(config.keep.spans_per_trace);
  settings.keep_traces = config.keep.traces;
  return settings;
}

Session::Session(config::Config config, SessionOptions options, SpanSource& source)
    : config_(std::move(config)),
      options_(std::move(options)),
      source_(source),
      exporters_(make_exporters(config_, options_.exports)),
      store_(open_store()),
      pipeline_(config_, *store_, source_.decoder(), exporters_) {}

std::unique_ptr<filter::FilterStore> Session::open_store() {
  if (!options_.stats_json.empty()) stats::check_writable(options_.stats_json, "--stats-json");
  return source_.make_store(filter_settings(config_, options_.no_filter));
}

void Session::run(const StopFlag& stop) {
  start();
  while (!stop.stop_requested() && step()) {
  }
  finish();
}

void Session::start() {
  std::lock_guard lock(mutex_);
  pipeline_.start(source_.now_ns(), source_.replays());
  source_.start(pipeline_);
}

bool Session::step(std::chrono::milliseconds timeout) {
  std::lock_guard lock(mutex_);
  return source_.poll(timeout);
}

void Session::finish() {
  std::lock_guard lock(mutex_);
  source_.drain();
  pipeline_.finish();
}

stats::RunStats Session::run_stats_locked() const {
  stats::RunStats stats = pipeline_.stats();
  source_.add_counters(stats);
  pipeline_.fill_stats(stats);
  stats.add_user_counter("filter_store_update_failed", store_->update_failures());
  return stats;
}

stats::RunStats Session::run_stats() const {
  std::lock_guard lock(mutex_);
  return run_stats_locked();
}

nlohmann::json Session::snapshot() const {
  std::lock_guard lock(mutex_);
  nlohmann::json j = run_stats_locked().to_json();
  source_.add_to_snapshot(j);
  return j;
}

void Session::write_stats() const {
  if (!options_.stats_json.empty()) stats::write_json_file(options_.stats_json, snapshot());
}

void Session::apply(const config::Config& next) {
  config::Config applied = next;
  // Copied at the start, or load-time settings of the program: the run's stay, so that the
  // config says what is in force.
  applied.default_role = config_.default_role;
  applied.keep = config_.keep;
  applied.profiler = config_.profiler;
  applied.assembler = config_.assembler;
  applied.exports = config_.exports;
  std::lock_guard lock(mutex_);
  config_ = std::move(applied);  // the pipeline and its parts refer to this object
  pipeline_.apply();
}

}  // namespace difftrace::session
