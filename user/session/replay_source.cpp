#include "session/replay_source.h"

#include <algorithm>

#include "error.h"
#include "filter/service_registry.h"

namespace difftrace::session {

ReplaySource::ReplaySource(std::string file, replay::ConnSelector selector,
                           std::size_t segments_per_poll)
    : file_(std::move(file)),
      segments_per_poll_(std::max<std::size_t>(segments_per_poll, 1)),
      sink_(std::move(selector), [this](capture::Span&& span) {
        last_ns_ = std::max(last_ns_, span.end_unix_ns);
        batch_.push_back(std::move(span));
        if (batch_.size() >= 1024) flush_batch();  // bounded memory on large captures
      }) {
  sink_.set_event_filter([this](dt_span_event& ev) {
    ev.pid = filter::ServiceRegistry::replay_pid_of_port(ev.tuple.local_port);
    const bool report = store_->filter(ev) == DT_OUT_REPORT;
    ev.pid = 0;
    if (!report) {  // capture time moves on with kept spans too: the profiler ticks
      last_ns_ = std::max<std::uint64_t>(last_ns_, ev.end_ns);
      if (++kept_since_tick_ >= 256) {
        pipeline_->tick(last_ns_);
        kept_since_tick_ = 0;
      }
    }
    return report;
  });
}

ReplaySource::~ReplaySource() = default;

std::unique_ptr<filter::FilterStore> ReplaySource::make_store(
    const filter::FilterSettings& settings) {
  auto store = std::make_unique<filter::HostFilterStore>(settings);
  store_ = store.get();
  return store;
}

void ReplaySource::start(pipeline::SpanPipeline& into) {
  pipeline_ = &into;
  auto pcap = replay::PcapSource::open(file_);
  if (!pcap) throw FatalError(ExitCode::kUsage, pcap.error());
  pcap_.emplace(std::move(pcap.value()));
  reassembler_ = std::make_unique<replay::TcpReassembler>(sink_);
}

bool ReplaySource::poll(std::chrono::milliseconds /*timeout: a file never keeps us waiting*/) {
  if (finished_) return false;
  replay::TcpSegment segment;
  for (std::size_t i = 0; i < segments_per_poll_; i++) {
    if (pcap_->next(segment) != replay::PcapSource::Next::segment) {
      finish_capture();
      return false;
    }
    reassembler_->process(segment);
  }
  return true;
}

void ReplaySource::drain() {
  if (!finished_) finish_capture();  // stopped mid-file: what was read still counts
  flush_batch();
}

void ReplaySource::finish_capture() {
  reassembler_->finish();
  summary_ = summary();
  finished_ = true;
  summary_.stopped_early = pcap_->error();  // empty unless reading stopped at a bad record
}

replay::CaptureSummary ReplaySource::summary() const {
  if (finished_) return summary_;
  replay::CaptureSummary s;
  if (pcap_) {
    s.read = pcap_->read_counters();
    s.decode = pcap_->decode_counters();
  }
  if (reassembler_) s.tcp = reassembler_->counters();
  return s;
}

void ReplaySource::flush_batch() {
  if (batch_.empty()) return;
  pipeline_->add(std::move(batch_), last_ns_);
  pipeline_->tick(last_ns_);
  batch_.clear();
}

void ReplaySource::add_counters(stats::RunStats& stats) const {
  // The kernel's counters, as replay counted them: the same names in --stats-json as `trace`.
  // The filter's are the in-memory filter's own.
  const replay::HttpReplayCounters& c = sink_.counters();
  bpf::KernelCounters k{};
  if (store_) k = store_->counters();
  k[DT_C_IO_CALLS] = c.io_calls;
  k[DT_C_CONNS_TRACKED] = c.connections_tracked;
  k[DT_C_SPANS_SEEN] = c.spans_seen;
  k[DT_C_NON_HTTP] = c.non_http_data;
  k[DT_C_HDR_LOST] = c.headers_past_window;
  k[DT_C_UNANSWERED] = c.requests_unanswered;
  stats.set_kernel(k);

  const replay::CaptureSummary s = summary();
  stats.add_user_counter("connections", c.connections);
  stats.add_user_counter("connections_not_selected", c.connections_not_selected);
  stats.add_user_counter("connections_non_http", c.connections_non_http);
  stats.add_user_counter("http2_connections", c.http2_connections);
  stats.add_user_counter("http2_fields_unresolved", c.http2_fields_unresolved);
  stats.add_user_counter("http2_streams_untracked", c.http2_streams_untracked);
  stats.add_user_counter("http2_blocks_malformed", c.http2_blocks_malformed);
  stats.add_user_counter("http2_gaps_resynced", c.http2_gaps_resynced);
  stats.add_user_counter("http2_grpc_errors_reported", c.http2_grpc_errors_reported);
  stats.add_user_counter("exchanges_abandoned_gap", c.exchanges_abandoned_gap);
  stats.add_user_counter("exchanges_unfinished", c.exchanges_unfinished);
  stats.add_user_counter("pipelined_requests", c.pipelined_requests);
  stats.add_user_counter("pipelined_requests_unsupported", c.pipelined_requests_unsupported);
  stats.add_user_counter("capture_records", s.read.records);
  stats.add_user_counter("capture_corrupt_records", s.read.corrupt_records);
  stats.add_user_counter("tcp_segments", s.decode.tcp_segments);
  stats.add_user_counter("snaplen_cut_segments", s.decode.snaplen_cut_segments);
  stats.add_user_counter("tcp_gaps", s.tcp.gaps);
  stats.add_user_counter("tcp_gap_bytes", s.tcp.gap_bytes);
  stats.add_user_counter("invalid_trace_context", sink_.invalid_trace_contexts());
}

void ReplaySource::add_to_snapshot(nlohmann::json& snapshot) const {
  snapshot["capture_stopped_early"] = summary_.stopped_early;
}

}  // namespace difftrace::session
