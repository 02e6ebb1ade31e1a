// Estimated spans for hops a trace lacks. It learns the calls between nodes
// (service, kind, method, path template) from the parent links of the traces
// it is shown (the Linker's: a SERVER span is the parent of the CLIENT spans
// its process sent for it, a CLIENT span of the SERVER span on the other end
// of its connection), and of each call where the child sat in its parent.
//
// A call is synchronous when the parent waited for its child (the child ended
// before the parent did), asynchronous when the parent answered at once (a
// 202: it ended before its child did). Each call keeps the last kWindow
// placements of each mode: the child's start after the parent's start, the
// parent's end after the child's end, both durations. A call takes the mode
// most of its calls had.
//
// For a trace missing a node that usually follows (or precedes) one it has,
// it adds that node's span, marked difftrace.decision=estimated, placed where
// the learned medians put it (difftrace.estimate.method):
//   around_child   a parent that waited: its child's time plus its margins,
//                  the difference of the two endpoints' profile medians when
//                  both are known (else the learned margins), split before and
//                  after the child as the learned margins are;
//   before_child   a parent that answered at once: from the learned start
//                  before its child, for its length in that mode, whatever its
//                  child's (an async child never stretches it): its profile's
//                  median when the call never waited, else the learned one;
//   inside_parent  a child its parent waited for: ending the learned time
//                  before its parent's end, for its endpoint's median length
//                  (the profile's, else the learned one), cut to fit;
//   after_parent   a child its parent answered before: from the learned start
//                  after its parent's, for its endpoint's median length.
// difftrace.estimate.samples says how many learned calls the medians came from.
// Estimated spans are linked by the calls that made them: one added below a
// span is its child, one added above a span without a parent becomes that
// parent, and a span left without a parent gets the estimated span of the node
// its node usually hangs under.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "capture/span.h"

namespace difftrace::assembler {

struct Node {
  std::string service;
  bool server = true;
  std::string method;
  std::string path_template;
  auto operator<=>(const Node&) const = default;
};

Node node_of(const capture::Span& s);

// Index of each span's parent (by parent_span_id) in the trace, or -1.
std::vector<int> parent_index(std::span<const capture::Span> trace);

class Estimator {
 public:
  // An endpoint's median duration and the spans it came from.
  struct Profiled {
    std::uint64_t median_ns = 0;
    std::uint64_t samples = 0;
  };
  // The median of a node, from the profiler; nullopt when unknown.
  using Median = std::function<std::optional<Profiled>(const capture::Span& exemplar)>;
  explicit Estimator(Median median) : median_(std::move(median)) {}

  // Learns the trace's calls from its parent links (call with linked traces
  // that likely hold all their hops). Which nodes and calls a trace usually
  // has comes from traces without estimated spans only; where a child sits in
  // its parent, from any parent and child both seen.
  void learn(std::span<const capture::Span> trace);
  // Estimated spans for the nodes the trace lacks; new span ids from next_id.
  // Spans of the trace without a parent may get an estimated one.
  std::vector<capture::Span> estimate(std::span<capture::Span> trace,
                                      const std::function<capture::SpanId()>& next_id) const;
  std::size_t nodes() const { return seen_.size(); }

  // Placements kept per call and mode: the medians follow the platform as it is now.
  static constexpr std::size_t kWindow = 64;

 private:
  struct Seen {
    std::uint64_t count = 0;  // traces with the node
    capture::Span exemplar;   // the last span of the node: pid, addresses, names
  };
  // Where one child sat in its parent, ns.
  struct Placement {
    std::int64_t child_start_after_parent_start = 0;
    std::int64_t parent_end_after_child_end = 0;  // < 0: the parent answered first
    std::int64_t parent_duration = 0;
    std::int64_t child_duration = 0;
  };
  // The last kWindow placements of a call in one mode (a ring).
  struct Window {
    std::vector<Placement> recent;
    std::size_t next = 0;
    std::uint64_t calls = 0;  // all calls seen in this mode
    void add(const Placement& p);
    std::int64_t median(std::int64_t Placement::*field) const;
  };
  struct Calls {
    std::uint64_t traces = 0;  // traces with the call
    Window waited;             // synchronous: the parent ended after its child
    Window answered;           // asynchronous: the parent ended before its child
    bool async() const { return answered.calls > waited.calls; }
    const Window& usual() const { return async() ? answered : waited; }
  };
  struct Placed {
    std::uint64_t start_ns = 0, end_ns = 0;
    const char* method = "";
    std::uint64_t profile_samples = 0;
  };
  std::optional<Profiled> profile_of(const capture::Span& s) const;
  std::optional<Placed> place_parent(const capture::Span& child, const Node& parent,
                                     const Calls& calls) const;
  std::optional<Placed> place_child(const capture::Span& parent, const Node& child,
                                    const Calls& calls) const;

  Median median_;
  std::map<Node, Seen> seen_;
  std::map<std::pair<Node, Node>, Calls> calls_;  // (parent, child)
  static constexpr std::size_t kMaxNodes = 4096;
  static constexpr std::size_t kMaxCalls = 16384;
};

}  // namespace difftrace::assembler
