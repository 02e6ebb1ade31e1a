// One run of trace or replay (and of the agent later): owns the configuration, the exporters,
// the filter's maps and the span pipeline, feeds the pipeline from a SpanSource until the source
// ends or a StopFlag is set, and gives its counters at any time (the --stats-json content).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "export/exporter.h"
#include "filter/filter_store.h"
#include "pipeline/span_pipeline.h"
#include "session/span_source.h"
#include "session/stop_flag.h"
#include "stats/run_stats.h"

namespace difftrace::session {

struct SessionOptions {
  std::vector<std::string> exports;  // --export SPECs; none: the config's, else console
  bool no_filter = false;
  std::string stats_json;  // --stats-json: checked writable at once, written by write_stats()
};

class Session {
 public:
  // How long a poll waits for spans: how soon a stop is seen.
  static constexpr std::chrono::milliseconds kPollTimeout{100};

  // Makes the exporters, checks the stats path, then has the source make the filter's maps
  // (which for live capture loads the program): bad input fails before the kernel is touched.
  // The source must outlive the session. Throws FatalError.
  Session(config::Config config, SessionOptions options, SpanSource& source);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs after the pipeline's own enrichers (the service's name first); before start().
  void add_enricher(std::unique_ptr<pipeline::SpanEnricher> enricher) {
    pipeline_.add_enricher(std::move(enricher));
  }
  // How the config's k8s matches select processes; before start().
  void set_k8s_match(filter::ServiceRegistry::K8sMatch match) {
    pipeline_.set_k8s_match(std::move(match));
  }
  // start(), step() until the source ends or stop is set, finish().
  void run(const StopFlag& stop);
  // Services and thresholds into the maps, then the source started.
  void start();
  // One poll of the source; false once it has nothing more to give.
  bool step(std::chrono::milliseconds timeout = kPollTimeout);
  // The source drained, everything still waiting sent, the exporters flushed.
  void finish();

  // The counters so far (at the end: the run's), from any thread.
  stats::RunStats run_stats() const;
  // run_stats() as JSON, with what the source adds and, under "exporters", one object per
  // export kind (console, otlp-json, otlp-http, zipkin): its counters without the kind's
  // prefix, spans_exported, queued_spans and failure: what --stats-json writes.
  nlohmann::json snapshot() const;
  // snapshot() into the --stats-json file, when there is one.
  void write_stats() const;

  // A reloaded config, applied without detaching a probe or touching the keep-buffer:
  // services (ids kept by name), their matches, roles and 4xx rules, static and adaptive
  // latency rules and timeouts (what removed services left in the maps and the profiler is
  // dropped); keep_query_values; the source's targets when they follow the config (the
  // agent's); the exports when no --export flag overrides them (an export in both keeps its
  // exporter; new ones are made, gone ones flushed, their counters kept). What goes wrong (a target that does not resolve, an
  // export that cannot be made) throws FatalError before anything is changed. Settings only a
  // restart changes stay the run's (config() says what is in force): no_filter, default_role
  // and keep (load-time settings of the BPF program), profiler and assembler; their names
  // are returned when the new config differs in them.
  std::vector<std::string> apply(const config::Config& next);
  const config::Config& config() const { return config_; }

 private:
  std::unique_ptr<filter::FilterStore> open_store();
  stats::RunStats run_stats_locked() const;
  nlohmann::json exporters_json_locked() const;
  // The exporters' counters, into retired_ and out of the stats' way, once they are flushed.
  void retire(std::vector<std::unique_ptr<exporters::Exporter>>& old);

  config::Config config_;
  SessionOptions options_;
  SpanSource& source_;
  std::vector<std::string> export_specs_;  // of exporters_, in order
  std::vector<std::unique_ptr<exporters::Exporter>> exporters_;
  // Exporters replaced by a reload, being flushed (their counters still count), and then the
  // counters they left, by name, and by export kind for snapshot()'s "exporters".
  std::vector<std::pair<std::string, const exporters::Exporter*>> retiring_;
  std::map<std::string, std::uint64_t> retired_counters_;
  std::map<std::string, std::map<std::string, std::uint64_t>> retired_by_kind_;
  std::unique_ptr<filter::FilterStore> store_;
  pipeline::SpanPipeline pipeline_;
  mutable std::mutex mutex_;  // a snapshot or an apply waits for the poll under way
};

// The filter's load-time settings from the config and --no-filter.
filter::FilterSettings filter_settings(const config::Config& config, bool no_filter);

}  // namespace difftrace::session
