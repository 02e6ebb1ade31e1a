#include "session/session.h"

#include "filter/service_registry.h"

#include <algorithm>

namespace difftrace::session {
namespace {

std::vector<std::string> export_specs(const config::Config& config,
                                      const std::vector<std::string>& flags) {
  std::vector<std::string> specs = flags;
  if (specs.empty()) specs = config.exports;
  if (specs.empty()) specs = {"console"};
  return specs;
}

std::vector<std::unique_ptr<exporters::Exporter>> make_exporters(
    const std::vector<std::string>& specs) {
  std::vector<std::unique_ptr<exporters::Exporter>> exporters;
  for (const auto& spec : specs) exporters.push_back(exporters::make_exporter(spec));
  return exporters;
}

// "otlp-http:http://..." -> "otlp-http"; its counters are named otlp_http_*.
std::string export_kind(const std::string& spec) { return spec.substr(0, spec.find(':')); }

std::string counter_prefix(const std::string& kind) {
  std::string p = kind + "_";
  for (char& c : p)
    if (c == '-') c = '_';
  return p;
}

// An exporter's counters by their names without the kind's prefix, spans_exported too.
std::map<std::string, std::uint64_t> counters_of(const std::string& kind,
                                                 const exporters::Exporter& e) {
  std::map<std::string, std::uint64_t> out;
  const std::string prefix = counter_prefix(kind);
  for (const auto& [name, v] : e.counters())
    out[name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name] += v;
  out["spans_exported"] += e.spans_exported();
  return out;
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
      export_specs_(export_specs(config_, options_.exports)),
      exporters_(make_exporters(export_specs_)),
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
  for (const auto& [name, v] : retired_counters_) stats.add_user_counter(name, v);
  for (const auto& [spec, e] : retiring_) {
    for (const auto& [name, v] : e->counters()) stats.add_user_counter(name, v);
    if (e == retiring_.front().second) stats.add_user_counter("spans_exported", e->spans_exported());
  }
  return stats;
}

nlohmann::json Session::exporters_json_locked() const {
  std::map<std::string, std::map<std::string, std::uint64_t>> by_kind = retired_by_kind_;
  std::map<std::string, std::pair<std::size_t, std::string>> state;  // queued, failure
  auto add = [&](const std::string& spec, const exporters::Exporter& e) {
    const std::string kind = export_kind(spec);
    for (const auto& [name, v] : counters_of(kind, e)) by_kind[kind][name] += v;
  };
  for (const auto& [spec, e] : retiring_) add(spec, *e);
  for (std::size_t i = 0; i < exporters_.size(); i++) {
    add(export_specs_[i], *exporters_[i]);
    auto& st = state[export_kind(export_specs_[i])];
    st.first += exporters_[i]->queued_spans();
    if (const auto f = exporters_[i]->failure(); !f.empty()) st.second = f;
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [kind, counters] : by_kind) {
    nlohmann::json j = {{"counters", counters}, {"in_use", state.count(kind) > 0}};
    j["queued_spans"] = state.count(kind) ? state[kind].first : 0;
    j["failure"] = state.count(kind) ? state[kind].second : "";
    out[kind] = std::move(j);
  }
  return out;
}

stats::RunStats Session::run_stats() const {
  std::lock_guard lock(mutex_);
  return run_stats_locked();
}

nlohmann::json Session::snapshot() const {
  std::lock_guard lock(mutex_);
  nlohmann::json j = run_stats_locked().to_json();
  source_.add_to_snapshot(j);
  j["exporters"] = exporters_json_locked();
  return j;
}

void Session::write_stats() const {
  if (!options_.stats_json.empty()) stats::write_json_file(options_.stats_json, snapshot());
}

std::vector<std::string> Session::apply(const config::Config& next) {
  // What can fail first, with nothing changed yet.
  const auto retarget = source_.prepare_targets(next);
  const bool exports_follow = options_.exports.empty() && next.exports != config_.exports;
  std::vector<std::string> specs = exports_follow ? export_specs(next, {}) : export_specs_;
  // An export in both lists keeps its exporter (a file is not reopened, which would truncate
  // it; a queue is not flushed); the others are made now, where a bad one can still refuse.
  std::vector<std::unique_ptr<exporters::Exporter>> next_exporters(specs.size());
  std::vector<bool> kept(export_specs_.size(), false);
  if (exports_follow) {
    for (std::size_t i = 0; i < specs.size(); i++) {
      std::size_t j = 0;
      while (j < export_specs_.size() && (kept[j] || export_specs_[j] != specs[i])) j++;
      if (j < export_specs_.size())
        kept[j] = true;
      else
        next_exporters[i] = exporters::make_exporter(specs[i]);
    }
  }

  std::vector<std::string> restart_only;
  if (next.default_role != config_.default_role) restart_only.push_back("default_role");
  if (!(next.keep == config_.keep)) restart_only.push_back("keep");
  if (!(next.profiler == config_.profiler)) restart_only.push_back("profiler");
  if (!(next.assembler == config_.assembler)) restart_only.push_back("assembler");
  config::Config applied = next;
  // Copied at the start, or load-time settings of the program: the run's stay, so that the
  // config says what is in force.
  applied.default_role = config_.default_role;
  applied.keep = config_.keep;
  applied.profiler = config_.profiler;
  applied.assembler = config_.assembler;
  if (!exports_follow) applied.exports = config_.exports;
  std::vector<std::unique_ptr<exporters::Exporter>> retired;  // replaced, to be flushed
  {
    std::lock_guard lock(mutex_);
    config_ = std::move(applied);  // the pipeline and its parts refer to this object
    pipeline_.apply();
    retarget();
    if (exports_follow) {
      std::fill(kept.begin(), kept.end(), false);
      for (std::size_t i = 0; i < specs.size(); i++) {
        if (next_exporters[i]) continue;
        std::size_t j = 0;
        while (kept[j] || export_specs_[j] != specs[i]) j++;  // found above
        kept[j] = true;
        next_exporters[i] = std::move(exporters_[j]);
      }
      for (std::size_t j = 0; j < exporters_.size(); j++)
        if (!kept[j]) {
          retiring_.emplace_back(export_specs_[j], exporters_[j].get());
          retired.push_back(std::move(exporters_[j]));
        }
      // The pipeline holds exporters_ itself, not its elements: swap the contents.
      std::swap(next_exporters, exporters_);
      export_specs_ = std::move(specs);
    }
  }
  retire(retired);
  return restart_only;
}

void Session::retire(std::vector<std::unique_ptr<exporters::Exporter>>& old) {
  if (old.empty()) return;
  // Outside the lock: a flush may wait for a backend, the ring buffer must not.
  for (auto& e : old) e->flush();
  std::lock_guard lock(mutex_);
  for (const auto& [spec, e] : retiring_) {
    for (const auto& [name, v] : e->counters()) retired_counters_[name] += v;
    for (const auto& [name, v] : counters_of(export_kind(spec), *e))
      retired_by_kind_[export_kind(spec)][name] += v;
  }
  if (!retiring_.empty()) retired_counters_["spans_exported"] += retiring_.front().second->spans_exported();
  retiring_.clear();
  old.clear();
}

}  // namespace difftrace::session
