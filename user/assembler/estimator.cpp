#include "assembler/estimator.h"

#include <algorithm>
#include <set>

#include "capture/endpoint_template.h"

namespace difftrace::assembler {

Node node_of(const capture::Span& s) {
  return {s.service_name, s.kind == capture::SpanKind::kServer, s.method,
          capture::path_template(s.path)};
}

std::vector<int> link_parents(const std::vector<capture::Span>& t) {
  std::vector<int> parent(t.size(), -1);
  for (std::size_t c = 0; c < t.size(); c++) {
    const auto& child = t[c];
    if (child.kind == capture::SpanKind::kServer) {
      // The CLIENT span on the other end of this connection.
      for (std::size_t p = 0; p < t.size(); p++) {
        const auto& cl = t[p];
        if (cl.kind == capture::SpanKind::kClient && cl.local.port == child.peer.port &&
            cl.peer.port == child.local.port && cl.local.address == child.peer.address &&
            cl.peer.address == child.local.address) {
          parent[c] = static_cast<int>(p);
          break;
        }
      }
    } else {
      // The innermost SERVER span of the same process that holds it in time.
      std::uint64_t best = UINT64_MAX;
      for (std::size_t p = 0; p < t.size(); p++) {
        const auto& sv = t[p];
        if (sv.kind != capture::SpanKind::kServer || sv.pid != child.pid) continue;
        if (sv.start_unix_ns > child.start_unix_ns || sv.end_unix_ns < child.end_unix_ns) continue;
        if (sv.duration_ns() < best) {
          best = sv.duration_ns();
          parent[c] = static_cast<int>(p);
        }
      }
    }
  }
  return parent;
}

void Estimator::learn(const std::vector<capture::Span>& trace) {
  std::vector<int> parent = link_parents(trace);
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
    const std::vector<capture::Span>& trace,
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
          // Around its child.
          d = std::max(d, have.duration_ns());
          e.start_unix_ns = have.start_unix_ns - (d - have.duration_ns()) / 2;
          e.end_unix_ns = e.start_unix_ns + d;
        }
        if (other.server == false && down) e.pid = have.pid;
        present.insert(other);
        made.push_back(e);
        all.push_back(e);
      }
    }
    if (made.size() == before) break;
  }
  return made;
}

}  // namespace difftrace::assembler
