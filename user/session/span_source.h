// Where a session's spans come from: live capture (the loaded BPF program's ring buffer,
// session/live_capture.h) or a packet capture's replay (session/replay_source.h). A source
// makes the filter's maps its spans go through, feeds the pipeline it is started with at its
// own pace, and counts what it saw.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "capture/span_decoder.h"
#include "config/config.h"
#include "filter/filter_store.h"
#include "pipeline/span_pipeline.h"
#include "stats/run_stats.h"

namespace difftrace::session {

class SpanSource {
 public:
  virtual ~SpanSource() = default;

  // The filter's maps, made once with the run's settings (the session owns them; the source
  // may keep using them until it is destroyed, after the session).
  virtual std::unique_ptr<filter::FilterStore> make_store(
      const filter::FilterSettings& settings) = 0;
  // The decoder of kept spans pulled back for the pipeline.
  virtual capture::SpanDecoder& decoder() = 0;
  // Replay names services by listen port and runs on capture time, with no /proc to scan.
  virtual bool replays() const = 0;
  // The pipeline's clock when it starts.
  virtual std::uint64_t now_ns() const = 0;

  // Starts producing into `into` (probes attached, capture opened), once the pipeline has
  // written services and thresholds. Throws FatalError when it cannot.
  virtual void start(pipeline::SpanPipeline& into) = 0;
  // Feeds what arrived (waiting up to timeout for it), ticking the pipeline on the way;
  // false once the source has nothing more to give (--duration passed, end of capture).
  virtual bool poll(std::chrono::milliseconds timeout) = 0;
  // Stops producing and feeds what is still buffered.
  virtual void drain() = 0;

  // Its counters, at any time: the kernel's (or replay's view of them) and its own.
  virtual void add_counters(stats::RunStats& stats) const = 0;
  // A reloaded config's targets: resolved now (FatalError when they cannot be), put in force
  // by the returned step, which cannot fail. A source whose targets do not follow the config
  // (replay, trace's --pid and the like) returns a step that does nothing.
  virtual std::function<void()> prepare_targets(const config::Config& /*next*/) {
    return [] {};
  }
  // What the snapshot says beyond counters (replay: why the capture stopped early).
  virtual void add_to_snapshot(nlohmann::json& /*snapshot*/) const {}
};

}  // namespace difftrace::session
