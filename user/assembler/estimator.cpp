#include "assembler/estimator.h"

#include <algorithm>
#include <set>

#include "capture/endpoint_template.h"

namespace difftrace::assembler {

Node node_of(const capture::Span& s) {
  return {s.service_name, s.kind == capture::SpanKind::kServer, s.method,
          capture::path_template(s.path)};
}

std::vector<int> parent_index(const std::vector<capture::Span>& t) {
  std::map<capture::SpanId, int> by_id;
  for (std::size_t i = 0; i < t.size(); i++) by_id.emplace(t[i].span_id, static_cast<int>(i));
  std::vector<int> parent(t.size(), -1);
  for (std::size_t i = 0; i < t.size(); i++) {
    if (!t[i].parent_span_id) continue;
    auto it = by_id.find(*t[i].parent_span_id);
    if (it != by_id.end() && it->second != static_cast<int>(i)) parent[i] = it->second;
  }
  return parent;
}

void Estimator::learn(const std::vector<capture::Span>& trace) {
  std::vector<int> parent = parent_index(trace);
  std::set<Node> nodes;
  std::set<std::pair<Node, Node>> edges;
  for (std::size_t i = 0; i < trace.size(); i++) {
    if (trace[i].decision == "estimated") return;  // learn from what was seen only
    nodes.insert(node_of(trace[i]));
    if (parent[i] >= 0) edges.insert({node_of(trace[static_cast<std::size_t>(parent[i])]), node_of(trace[i])});
  }
  for (std::size_t i = 0; i < trace.size(); i++) {
    Node n = node_of(trace[i]);
    if (!seen_.count(n) && seen_.size() >= kMaxNodes) continue;  // bounded
    auto& s = seen_[n];
    s.exemplar = trace[i];
    s.duration_sum += trace[i].duration_ns();
  }
  for (const auto& n : nodes)
    if (auto it = seen_.find(n); it != seen_.end()) it->second.count++;
  for (const auto& e : edges)
    if (seen_.count(e.first) && seen_.count(e.second)) edges_[e]++;
}

std::uint64_t Estimator::duration_of(const Node& n) const {
  const Seen& s = seen_.at(n);
  if (auto m = median_ ? median_(s.exemplar) : std::nullopt) return *m;
  return s.count ? s.duration_sum / std::max<std::uint64_t>(s.count, 1) : 0;
}

std::vector<capture::Span> Estimator::estimate(
    std::vector<capture::Span>& trace,
    const std::function<capture::SpanId()>& next_id) const {
  std::vector<capture::Span> all = trace;
  std::set<Node> present;
  for (const auto& s : trace) present.insert(node_of(s));
  // An edge is expected when most traces with one end had the other.
  auto usual = [&](const Node& have, const Node& other, std::uint64_t n) {
    auto it = seen_.find(have);
    return it != seen_.end() && it->second.count > 0 && 2 * n >= it->second.count &&
           !present.count(other) && seen_.count(other);
  };
  std::vector<capture::Span> made;
  // Each round may add spans that lead to more; the graph is small.
  for (int round = 0; round < 8; round++) {
    std::size_t before = made.size();
    for (std::size_t i = 0; i < all.size(); i++) {
      const capture::Span have = all[i];
      const Node hn = node_of(have);
      for (const auto& [edge, n] : edges_) {
        const bool down = edge.first == hn && usual(hn, edge.second, n);
        const bool up = edge.second == hn && usual(hn, edge.first, n);
        if (!down && !up) continue;
        const Node& other = down ? edge.second : edge.first;
        capture::Span e = seen_.at(other).exemplar;
        e.trace_id = have.trace_id;
        e.trace_from_header = have.trace_from_header;
        e.span_id = next_id();
        e.parent_span_id.reset();
        e.decision = "estimated";
        e.reason.clear();
        e.threshold_ns = 0;
        e.path = other.path_template;
        e.status = 0;
        e.request_bytes = e.response_bytes = 0;
        std::uint64_t d = duration_of(other);
        // A child must fit in its parent: one much shorter than the child's
        // usual time (a 503 the hop made itself) did not call it.
        if (down && 2 * have.duration_ns() < d) continue;
        if (down) {
          // Inside its parent: a SERVER child in the middle of its CLIENT's
          // time, a CLIENT child ending where its SERVER parent ends.
          d = std::min(d, have.duration_ns());
          if (other.server)
            e.start_unix_ns = have.start_unix_ns + (have.duration_ns() - d) / 2;
          else
            e.start_unix_ns = have.end_unix_ns - d;
          e.end_unix_ns = e.start_unix_ns + d;
          e.parent_span_id = have.span_id;
        } else {
          // Around its child, which hangs under it unless it has a parent.
          d = std::max(d, have.duration_ns());
          e.start_unix_ns = have.start_unix_ns - (d - have.duration_ns()) / 2;
          e.end_unix_ns = e.start_unix_ns + d;
          if (!all[i].parent_span_id) all[i].parent_span_id = e.span_id;
        }
        if (other.server == false && down) e.pid = have.pid;
        present.insert(other);
        made.push_back(e);
        all.push_back(e);
      }
    }
    if (made.size() == before) break;
  }
  // A span left without a parent hangs under the estimated span of the node
  // its node usually hangs under (one of a node per trace: present above).
  for (std::size_t i = 0; i < all.size(); i++) {
    if (all[i].parent_span_id) continue;
    const Node child = node_of(all[i]);
    for (std::size_t k = trace.size(); k < all.size(); k++) {
      if (k == i || !edges_.count({node_of(all[k]), child})) continue;
      all[i].parent_span_id = all[k].span_id;
      break;
    }
  }
  for (std::size_t i = 0; i < trace.size(); i++)
    if (!trace[i].parent_span_id) trace[i].parent_span_id = all[i].parent_span_id;
  for (std::size_t k = trace.size(); k < all.size(); k++) made[k - trace.size()] = all[k];
  return made;
}

}  // namespace difftrace::assembler
