#include "pipeline/span_pipeline.h"

#include <algorithm>

#include "capture/endpoint_template.h"
#include "capture/request_target.h"
#include "filter/kept_span.h"
#include "pipeline/service_name_enricher.h"
#include "replay/http2_span.h"

namespace difftrace::pipeline {

SpanPipeline::SpanPipeline(const config::Config& config, filter::FilterStore& store,
                           capture::SpanDecoder& decoder,
                           std::vector<std::unique_ptr<exporters::Exporter>>& exporters)
    : config_(config),
      store_(store),
      decoder_(decoder),
      exporters_(exporters),
      services_(config),
      profiler_(config, services_),
      estimator_([this](const capture::Span& s) { return median(s); }),
      assembler_(config.assembler.wait_ns, config.assembler.max_traces,
                 config.assembler.max_spans,
                 [this](const capture::Span& s) { return pull(s); }, &estimator_,
                 [this] { return decoder_.new_span_id(); },
                 [this](assembler::WaitingSpan& s) { return judge(s); }) {
  add_enricher(std::make_unique<ServiceNameEnricher>(services_, config_));
}

void SpanPipeline::add_enricher(std::unique_ptr<SpanEnricher> enricher) {
  enrichers_.push_back(std::move(enricher));
}

void SpanPipeline::enrich(capture::Span& s) const {
  for (const auto& e : enrichers_) e->enrich(s);
}

void SpanPipeline::start(std::uint64_t now_ns, bool replay) {
  replay_ = replay;
  if (replay)
    services_.publish_ports(store_);
  else
    services_.publish(store_);
  profiler_.start(store_);
  next_tick_ns_ = now_ns + config_.profiler.interval_ns;
}

std::vector<capture::Span> SpanPipeline::pull(const capture::Span& of_trace) {
  std::vector<capture::Span> out;
  auto hex = capture::to_hex(of_trace.trace_id);
  for (const auto& kept : store_.take_kept(filter::trace_key(hex))) {
    const dt_span_event ev = filter::event_of(kept, filter::trace_key(hex));
    capture::Span s = decoder_.decode(ev);
    // A kept HTTP/2 stream has no header blocks to decode (they never crossed): its version,
    // grpc status and :path (as the kernel's HPACK shadow read it, or marked unresolved) are
    // the event's, and a gRPC call's service and method come from that path (docs/http2.md).
    if (ev.protocol == DT_PROTO_HTTP2) {
      s.http_version = 2;
      if (ev.path_unresolved) s.unresolved_fields = std::max<std::uint32_t>(s.unresolved_fields, 1);
      if (ev.flags & DT_SPAN_F_GRPC_STATUS) {
        capture::Rpc rpc;
        rpc.grpc_status = ev.grpc_status;
        replay::grpc_method_of_path(rpc, s.path);
        s.rpc = std::make_shared<const capture::Rpc>(std::move(rpc));
      }
    }
    enrich(s);
    out.push_back(std::move(s));
  }
  return out;
}

const profiler::EndpointProfile* SpanPipeline::profile_of(std::uint16_t service_id,
                                                        capture::SpanKind kind,
                                                        std::string_view method,
                                                        std::string_view path_template,
                                                        std::string_view path) const {
  // The template add() gave the span (a template ends where the query starts, so the
  // whole target's and the split path's are the same), else one made now.
  std::string made;
  if (path_template.empty()) path_template = made = capture::path_template(path);
  return profiler_.find(filter::endpoint_key(
      service_id, kind == capture::SpanKind::kServer ? DT_SPAN_SERVER : DT_SPAN_CLIENT,
      capture::method_number(method), path_template));
}

std::optional<assembler::Estimator::Profiled> SpanPipeline::median(const capture::Span& s) const {
  const auto* p = profile_of(s.service_id, s.kind, s.method, s.path_template, s.path);
  if (!p || p->whole_run.count() == 0) return std::nullopt;
  // The profiler's window when it holds enough spans: an estimate follows the load as it
  // is now (a hop is slower under a spike than over the whole run); else the whole run.
  const profiler::LatencyHistogram window = p->merged_window();
  const auto& h = window.count() >= config_.profiler.min_samples ? window : p->whole_run;
  return assembler::Estimator::Profiled{h.quantile(0.5), h.count()};
}

assembler::Assembler::Judgement SpanPipeline::judge(assembler::WaitingSpan& s) const {
  using J = assembler::Assembler::Judgement;
  const auto* p = profile_of(s.service_id, s.kind, s.method(), s.path_template(), s.path());
  if (!p || !p->threshold_ns) return J::kNoProfileYet;
  s.threshold_ns = p->threshold_ns;
  if (s.duration_ns() <= p->threshold_ns) return J::kNormal;
  s.decision = "anomalous";
  s.reason = "latency";
  return J::kAnomalous;
}

void SpanPipeline::send(std::vector<capture::Span>& out) {
  if (out.empty()) return;
  // Past the assembler (which links by the whole target), only what may leave: the
  // path without its query, the query redacted, the template.
  for (auto& s : out) capture::split_target(s, config_.keep_query_values);
  for (const auto& s : out) stats_.add(s);
  for (auto& e : exporters_) e->export_spans(out);
  out.clear();
}

void SpanPipeline::add(std::vector<capture::Span>&& spans, std::uint64_t now_ns) {
  for (auto& s : spans) {
    enrich(s);
    // Once: the profiles are looked up by it, up to twice a span (judge), and stats.
    if (s.path_template.empty()) s.path_template = capture::path_template(s.path);
  }
  std::vector<capture::Span> out;
  out.reserve(std::max(spans.size(), kExportBatch));
  // Traces due now go out in batches as tick() sends them: when a profile arrives, the
  // traces held for it (all the warm-up's, up to a second of traffic) are due at once, and
  // one vector and one export request of them all made the tracer's peak memory.
  bool more = assembler_.add(std::move(spans), now_ns, out, kExportBatch);
  while (more) {
    send(out);
    more = assembler_.expire(now_ns, out, false, kExportBatch);
  }
  send(out);
}

void SpanPipeline::tick(std::uint64_t now_ns) {
  if (now_ns >= next_tick_ns_) {
    profiler_.tick(store_);
    if (!replay_) services_.rescan(store_);
    next_tick_ns_ = now_ns + config_.profiler.interval_ns;
  }
  std::vector<capture::Span> out;
  out.reserve(kExportBatch);  // no growth (span moves) while it fills
  while (assembler_.expire(now_ns, out, false, kExportBatch)) send(out);
  send(out);
  // A reader of an exported file (tail -f, a Collector's filelog receiver) sees what was
  // sent by the next tick, not when a stdio buffer happens to fill.
  for (auto& e : exporters_) e->sync();
}

void SpanPipeline::finish() {
  std::vector<capture::Span> out;
  out.reserve(kExportBatch);
  while (assembler_.expire(0, out, /*flush=*/true, kExportBatch)) send(out);
  send(out);
  for (auto& e : exporters_) e->flush();
  profiler_.tick(store_);  // the last interval's counts, for the stats
}

std::uint64_t SpanPipeline::spans_exported() const {
  return exporters_.empty() ? 0 : exporters_.front()->spans_exported();
}

void SpanPipeline::apply() {
  const auto removed = services_.apply(store_);
  if (replay_)
    services_.publish_ports(store_);
  else
    services_.publish(store_);
  profiler_.apply(store_, removed);
}

void SpanPipeline::fill_stats(stats::RunStats& into) const {
  for (const auto& e : enrichers_) e->fill_stats(into);
  const auto& a = assembler_.counters();
  into.add_user_counter("traces_exported", a.traces_exported);
  into.add_user_counter("traces_with_anomaly", a.traces_with_anomaly);
  into.add_user_counter("spans_recovered_exact", a.spans_recovered_exact);
  into.add_user_counter("spans_estimated", a.spans_estimated);
  into.add_user_counter("traces_sent_early", a.traces_sent_early);
  into.add_user_counter("late_spans", a.late_spans);
  into.add_user_counter("warmup_spans_judged_anomalous", a.judged_anomalous);
  into.add_user_counter("late_spans_linked", a.late_spans_linked);
  into.add_user_counter("spans_past_trace_bound", a.spans_past_trace_bound);
  into.add_user_counter("causal_merges", a.causal_merges);
  const auto& l = assembler_.link_counters();
  into.add_user_counter("parents_by_connection", l.parents_by_connection);
  into.add_user_counter("parents_by_header", l.parents_by_header);
  into.add_user_counter("parents_by_response", l.parents_by_response);
  into.add_user_counter("parents_in_process", l.parents_in_process);
  into.add_user_counter("parents_by_seq", l.parents_by_seq);
  into.add_user_counter("parents_by_cause", l.parents_by_cause);
  into.add_user_counter("cause_disagreements", l.cause_disagreements);
  into.add_user_counter("parents_left_ambiguous", l.left_ambiguous);
  into.add_user_counter("parents_left_unlinked", l.left_unlinked);
  into.add_user_counter("spans_exported", spans_exported());
  for (const auto& e : exporters_)
    for (const auto& [name, v] : e->counters()) into.add_user_counter(name, v);
  into.set_profile(profiler_.to_json());
}

}  // namespace difftrace::pipeline
