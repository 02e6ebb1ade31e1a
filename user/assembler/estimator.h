// Estimated spans for hops a trace lacks. It learns the call graph between
// nodes (service, kind, method, path template) from the parent links of the
// traces it is shown (the Linker's: a SERVER span is the parent of the
// CLIENT spans its process sent for it, a CLIENT span of the SERVER span on
// the other end of its connection).
// For a trace missing a node that usually follows (or precedes) one it has,
// it adds that node's span, timed from the node's profile (median duration)
// and placed inside its parent (or around its child), marked
// difftrace.decision=estimated. Estimated spans are linked by the edges that
// made them: one added below a span is its child, one added above a span
// without a parent becomes that parent, and a span left without a parent
// gets the estimated span of the node its node usually hangs under.
#pragma once

#include <functional>
#include <map>
#include <optional>
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
std::vector<int> parent_index(const std::vector<capture::Span>& trace);

class Estimator {
 public:
  // Median duration of a node, from the profiler; nullopt when unknown.
  using Median = std::function<std::optional<std::uint64_t>(const capture::Span& exemplar)>;
  explicit Estimator(Median median) : median_(std::move(median)) {}

  // Learns the trace's edges from its parent links (call with linked traces
  // whose spans are all there).
  void learn(const std::vector<capture::Span>& trace);
  // Estimated spans for the nodes the trace lacks; new span ids from next_id.
  // Spans of the trace without a parent may get an estimated one.
  std::vector<capture::Span> estimate(std::vector<capture::Span>& trace,
                                      const std::function<capture::SpanId()>& next_id) const;
  std::size_t nodes() const { return seen_.size(); }

 private:
  struct Seen {
    std::uint64_t count = 0;
    capture::Span exemplar;   // the last span of the node: pid, addresses, names
    std::uint64_t duration_sum = 0;
  };
  std::uint64_t duration_of(const Node& n) const;

  Median median_;
  std::map<Node, Seen> seen_;
  std::map<std::pair<Node, Node>, std::uint64_t> edges_;  // (parent, child) -> traces with it
  static constexpr std::size_t kMaxNodes = 4096;
};

}  // namespace difftrace::assembler
