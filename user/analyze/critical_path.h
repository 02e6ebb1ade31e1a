// One trace's critical path and latency breakdown.
//
// The tree: a span's parent is the span its parentSpanId names in the same
// trace; spans whose parent is not there are roots, and the path starts at the
// earliest root (the others are counted as unlinked). Clock skew: a child that
// starts before its parent is clamped to the parent's start, and a SERVER
// child of a CLIENT span (a synchronous call) that ends after its caller is
// clamped to the caller's end; both are counted.
//
// The path (ServiTrace's rule, async-aware): each span's reach is the latest
// end in its subtree. From a span, the path goes into the child whose reach is
// latest, then into the child whose reach is latest among those that reached
// no later than that child started, and so on backwards: sequential calls are
// all on the path, of parallel ones the one that ends last, and an async child
// (run after its parent answered, a 202) is on it when it ends last.
//
// Every nanosecond of [root start, root reach] is one span's self time or an
// async wait, so the categories add up to the duration:
//  - self time of a SERVER (or other) span: platform or function by its
//    service's role in the config;
//  - self time of a CLIENT span with a child on the path's other side: network
//    and queueing (its start to the SERVER span's start, and the tail from the
//    SERVER span's end to its own end);
//  - self time of a CLIENT span with no child at all: downstream (a callee
//    nothing was seen of: untraced, or a hop the filter kept in the kernel);
//  - time after a span's end that its later children do not cover: async wait.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "analyze/span.h"

namespace difftrace::analyze {

enum class Category { kPlatform, kFunction, kNetwork, kAsyncWait, kDownstream };
constexpr int kCategories = 5;
const char* category_name(Category c);  // "platform", "function", ...

struct Breakdown {
  std::uint64_t ns[kCategories] = {};
  std::uint64_t estimated_ns = 0;  // of the above, self time of estimated spans
  std::uint64_t& operator[](Category c) { return ns[static_cast<int>(c)]; }
  std::uint64_t operator[](Category c) const { return ns[static_cast<int>(c)]; }
  std::uint64_t total() const;
};

struct PathStep {
  const Span* span = nullptr;
  std::uint64_t self_ns = 0;
  // After it answered, the wait until its async children on the path ran (in async_wait).
  std::uint64_t async_wait_ns = 0;
  int depth = 0;
  bool async = false;  // started after its parent ended
};

struct TraceAnalysis {
  std::string trace_id;
  const Span* root = nullptr;
  std::uint64_t start_ns = 0;
  std::uint64_t duration_ns = 0;
  bool anomalous = false;
  std::string anomaly_reason;  // of the first anomalous span
  std::vector<PathStep> path;  // in time order (pre-order)
  Breakdown breakdown;
  std::uint32_t spans = 0;
  std::uint32_t unlinked = 0;      // spans not under the path's root
  std::uint32_t skew_clamped = 0;  // starts or ends clamped to the parent's
  bool async = false;              // the path went through an async child
};

// True when the service's self time counts as platform (config role platform).
using IsPlatform = std::function<bool(const std::string& service)>;

// The spans must outlive the result (it points into them).
TraceAnalysis analyze_trace(const std::vector<Span>& spans, const IsPlatform& is_platform);

}  // namespace difftrace::analyze
