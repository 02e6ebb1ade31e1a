// Groups spans into traces by trace id with bounded memory. Spans arrive in
// export order, a trace's spans possibly spread over many lines. The clock is
// the latest span end seen; a trace is complete (handed to the callback) when
// no span of it arrived for `window_ns` of that clock, when more than
// max_traces traces or max_spans spans wait (the least recently added goes
// first), or at finish(). A span arriving after its trace went out starts a
// new fragment of it (counted as traces_split).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "analyze/flat_hash_index.h"
#include "analyze/span.h"

namespace difftrace::analyze {

struct BuilderLimits {
  std::uint64_t window_ns = 30'000'000'000ull;
  std::size_t max_traces = 100'000;
  std::size_t max_spans = 1'000'000;
};

struct BuilderCounters {
  std::uint64_t traces = 0;
  std::uint64_t evicted_by_window = 0;
  std::uint64_t evicted_by_cap = 0;  // went out early: over max_traces or max_spans
  std::uint64_t traces_split = 0;    // a span came for a trace already handed out
  std::size_t max_spans_held = 0;
};

class TraceBuilder {
 public:
  using Complete = std::function<void(std::vector<Span>&&)>;
  TraceBuilder(BuilderLimits limits, Complete complete)
      : limits_(limits), complete_(std::move(complete)) {}

  void add(Span&& s);
  void finish();  // every waiting trace goes out, oldest first
  const BuilderCounters& counters() const { return counters_; }
  std::size_t spans_held() const { return spans_held_; }

 private:
  static constexpr std::uint32_t kNone = FlatHashIndex::kNone;
  // A trace waiting for its spans. Slots are reused: a slot's spans keep their capacity, so a
  // trace's spans are not allocated anew (nor the memory behind them touched cold).
  struct Pending {
    IdString id;
    std::uint64_t hash = 0;
    std::vector<Span> spans;
    std::uint64_t last_clock = 0;
    std::uint32_t prev = kNone, next = kNone;  // in the order, least recently added first
  };
  std::uint32_t find_or_add(const IdString& trace_id);
  void unlink(std::uint32_t slot);
  void link_last(std::uint32_t slot);
  void emit_front();
  bool recently_done(std::uint64_t hash) const;
  void remember_done(std::uint64_t hash);

  BuilderLimits limits_;
  Complete complete_;
  std::vector<Pending> slots_;
  std::vector<std::uint32_t> free_;
  FlatHashIndex pending_;  // trace id hash -> slot
  std::uint32_t head_ = kNone, tail_ = kNone;
  std::size_t traces_held_ = 0;
  // Hashes of the ids of traces handed out recently (at most max_traces, oldest out first), to
  // count splits (a collision miscounts one, nothing else): a ring and its index.
  std::vector<std::uint64_t> done_ring_;
  std::size_t done_next_ = 0;
  FlatHashIndex done_;  // hash -> position in done_ring_
  // The trace the last span went to: an export's spans come in runs of one trace.
  std::uint32_t last_ = kNone;
  std::uint64_t clock_ = 0;
  std::size_t spans_held_ = 0;
  BuilderCounters counters_;
};

}  // namespace difftrace::analyze
