// What happens to reported spans after the filter, the same for `trace`
// (kernel maps) and `replay` (in-memory maps): spans enriched (SpanEnricher
// stages, in order: the service's name first), the profiler
// ticking every interval (thresholds back into the filter), traces assembled
// (kept spans pulled, missing hops estimated), exporters fed, stats counted.
// Time is the caller's: the monotonic clock live, capture time in replay.
#pragma once

#include <memory>
#include <vector>

#include "assembler/assembler.h"
#include "assembler/estimator.h"
#include "capture/span_decoder.h"
#include "config/config.h"
#include "export/exporter.h"
#include "filter/filter_store.h"
#include "filter/service_registry.h"
#include "pipeline/span_enricher.h"
#include "profiler/profiler.h"
#include "stats/run_stats.h"

namespace difftrace::pipeline {

class SpanPipeline {
 public:
  // Traces go to the exporters in batches of about this many spans (whole traces): the
  // final flush of a busy run would otherwise encode every waiting span in one request,
  // and an exporter's buffer keeps the size of its largest batch.
  static constexpr std::size_t kExportBatch = 1024;

  SpanPipeline(const config::Config& config, filter::FilterStore& store,
               capture::SpanDecoder& decoder,
               std::vector<std::unique_ptr<exporters::Exporter>>& exporters);

  // Services and static thresholds into the maps; the first interval starts.
  // replay: services by listen port, no /proc scans.
  void start(std::uint64_t now_ns, bool replay = false);
  // Reported spans in; ready traces out to the exporters.
  void add(std::vector<capture::Span>&& spans, std::uint64_t now_ns);
  // Profiler and service rescans when an interval has passed; sends traces
  // whose wait is over.
  void tick(std::uint64_t now_ns);
  // Sends everything still waiting and flushes the exporters.
  void finish();
  // The config (the same object) changed: services, roles and thresholds into the maps again,
  // what removed services left there dropped (ServiceRegistry::apply, Profiler::apply).
  void apply();
  // How k8s matches select processes (filter::ServiceRegistry::set_k8s_match); before start().
  void set_k8s_match(filter::ServiceRegistry::K8sMatch match) {
    services_.set_k8s_match(std::move(match));
  }
  // Runs after the enrichers there are (the service's name is the first).
  void add_enricher(std::unique_ptr<SpanEnricher> enricher);

  stats::RunStats& stats() { return stats_; }
  const stats::RunStats& stats() const { return stats_; }
  const assembler::AssemblerCounters& assembler_counters() const { return assembler_.counters(); }
  // Counters and per-endpoint profiles into stats (a copy of stats(), for a snapshot).
  void fill_stats(stats::RunStats& stats) const;
  std::uint64_t spans_exported() const;

 private:
  std::vector<capture::Span> pull(const capture::Span& of_trace);
  void enrich(capture::Span& s) const;
  std::optional<assembler::Estimator::Profiled> median(const capture::Span& exemplar) const;
  assembler::Assembler::Judgement judge(assembler::WaitingSpan& span) const;
  // The profile of a span's endpoint: its service, kind, method, and template (else the
  // template of its target).
  const profiler::EndpointProfile* profile_of(std::uint16_t service_id, capture::SpanKind kind,
                                              std::string_view method,
                                              std::string_view path_template,
                                              std::string_view path) const;
  void send(std::vector<capture::Span>& out);

  const config::Config& config_;
  filter::FilterStore& store_;
  capture::SpanDecoder& decoder_;
  std::vector<std::unique_ptr<exporters::Exporter>>& exporters_;
  filter::ServiceRegistry services_;
  std::vector<std::unique_ptr<SpanEnricher>> enrichers_;
  profiler::Profiler profiler_;
  assembler::Estimator estimator_;
  assembler::Assembler assembler_;
  stats::RunStats stats_;
  std::uint64_t next_tick_ns_ = 0;
  bool replay_ = false;
};

}  // namespace difftrace::pipeline
