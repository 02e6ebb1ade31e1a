// Spans of live processes: the capture program loaded for the targets (after the kernel's
// features are checked), its ring buffer drained by a Collector, the filter's maps the kernel's.
// Runs until --duration passes (or the session is stopped).
#pragma once

#include <memory>
#include <string>

#include "bpf/hook_sources.h"
#include "capture/clock.h"
#include "capture/collector.h"
#include "session/span_source.h"
#include "targets/target_set.h"

namespace difftrace::bpf {
class CaptureProgram;
}

namespace difftrace::session {

struct LiveCaptureOptions {
  double duration_s = 0;   // 0: until stopped
  std::string ready_file;  // created once every probe is attached
  bool no_filter = false;  // only for the start line
  // The targets come from the config and follow its reloads (the agent): they are
  // changeable (targets::TargetSet::changeable) and prepare_targets() resolves new ones.
  bool targets_follow_config = false;
  bpf::HookSourceMode hook_source = bpf::HookSourceMode::kAuto;  // --hook-source
};

class LiveCapture : public SpanSource {
 public:
  LiveCapture(targets::TargetSet targets, LiveCaptureOptions options);
  ~LiveCapture() override;

  // Checks privileges, bpf(), BTF and tracefs, then loads the program (FatalError if not).
  std::unique_ptr<filter::FilterStore> make_store(const filter::FilterSettings& settings) override;
  capture::SpanDecoder& decoder() override { return decoder_; }
  bool replays() const override { return false; }
  std::uint64_t now_ns() const override { return capture::WallClock::monotonic_now_ns(); }

  void start(pipeline::SpanPipeline& into) override;
  bool poll(std::chrono::milliseconds timeout) override;
  void drain() override;
  void add_counters(stats::RunStats& stats) const override;
  std::function<void()> prepare_targets(const config::Config& next) override;
  // "probes_attached" and "programs" ([{name, attached, verified_insns}]).
  void add_to_snapshot(nlohmann::json& snapshot) const override;

 private:
  targets::TargetSet targets_;
  LiveCaptureOptions options_;
  capture::WallClock clock_;
  capture::SpanDecoder decoder_{clock_};
  std::unique_ptr<bpf::CaptureProgram> program_;
  std::unique_ptr<capture::Collector> collector_;
  pipeline::SpanPipeline* pipeline_ = nullptr;
  std::uint64_t deadline_ns_ = 0;  // 0: none
};

}  // namespace difftrace::session
