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
#include <list>
#include <string>
#include <deque>
#include <unordered_map>
#include <unordered_set>
#include <vector>

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
  struct Pending {
    std::vector<Span> spans;
    std::uint64_t last_clock = 0;
    std::list<const IdString*>::iterator order;
  };
  void emit_front();
  Pending* find_pending(const IdString& trace_id);

  BuilderLimits limits_;
  Complete complete_;
  std::unordered_map<IdString, Pending> pending_;
  // Least recently added first; the keys of pending_ (a node's key does not move).
  std::list<const IdString*> order_;
  // Hashes of the ids of traces handed out recently (bounded like the pending set), to count
  // splits (a collision miscounts one, nothing else).
  std::unordered_set<std::size_t> done_;
  std::deque<std::size_t> done_order_;
  // The trace the last span went to: an export's spans come in runs of one trace, and a
  // lookup by id is a cache miss or two. Cleared whenever a trace goes out.
  const IdString* last_id_ = nullptr;
  Pending* last_ = nullptr;
  std::uint64_t clock_ = 0;
  std::size_t spans_held_ = 0;
  BuilderCounters counters_;
};

}  // namespace difftrace::analyze
