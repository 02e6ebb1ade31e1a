// Spans of a packet capture (pcap/pcapng): TCP reassembled, through the kernel's HTTP/1.x code
// and the HTTP/2 frame follower (replay::HttpReplay), filtered over in-memory maps (HostFilterStore) on capture time. A span's
// process is its server port, as listen_port matches name services. Each poll reads a bounded
// number of TCP segments, so a session can be stopped or looked at mid-file.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capture/clock.h"
#include "filter/host_filter_store.h"
#include "replay/capture_replay.h"
#include "replay/conn_selector.h"
#include "replay/http_replay.h"
#include "replay/pcap_source.h"
#include "replay/tcp_reassembly.h"
#include "session/span_source.h"

namespace difftrace::session {

class ReplaySource : public SpanSource {
 public:
  static constexpr std::size_t kSegmentsPerPoll = 4096;

  ReplaySource(std::string file, replay::ConnSelector selector,
               std::size_t segments_per_poll = kSegmentsPerPoll);
  ~ReplaySource() override;

  std::unique_ptr<filter::FilterStore> make_store(const filter::FilterSettings& settings) override;
  capture::SpanDecoder& decoder() override { return decoder_; }
  bool replays() const override { return true; }
  std::uint64_t now_ns() const override { return 0; }

  // Opens the capture: FatalError(kUsage) when it cannot be read or its link type is not
  // supported.
  void start(pipeline::SpanPipeline& into) override;
  bool poll(std::chrono::milliseconds timeout) override;
  void drain() override;
  void add_counters(stats::RunStats& stats) const override;
  // capture_stopped_early: empty, or why reading stopped before the end of the file.
  void add_to_snapshot(nlohmann::json& snapshot) const override;

  const std::string& file() const { return file_; }
  const replay::HttpReplayCounters& counters() const { return sink_.counters(); }
  const std::string& stopped_early() const { return summary_.stopped_early; }

 private:
  // Reported spans go to the pipeline in batches, ticking it at the capture time reached.
  void flush_batch();
  // The reassembler's last connections closed, the summary's counters final.
  void finish_capture();
  replay::CaptureSummary summary() const;

  std::string file_;
  std::size_t segments_per_poll_;
  capture::WallClock clock_{0};  // capture times are wall-clock already
  capture::SpanDecoder decoder_{clock_};
  replay::HttpReplay sink_;
  filter::HostFilterStore* store_ = nullptr;  // the session's
  pipeline::SpanPipeline* pipeline_ = nullptr;
  std::optional<replay::PcapSource> pcap_;
  std::unique_ptr<replay::TcpReassembler> reassembler_;
  bool finished_ = false;
  replay::CaptureSummary summary_;  // set when finished
  std::vector<capture::Span> batch_;
  std::uint64_t last_ns_ = 0;
  int kept_since_tick_ = 0;
};

}  // namespace difftrace::session
