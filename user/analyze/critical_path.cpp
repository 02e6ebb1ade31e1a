#include "analyze/critical_path.h"

#include <algorithm>
#include <unordered_map>

namespace difftrace::analyze {

const char* category_name(Category c) {
  switch (c) {
    case Category::kPlatform: return "platform";
    case Category::kFunction: return "function";
    case Category::kNetwork: return "network";
    case Category::kAsyncWait: return "async_wait";
    case Category::kDownstream: return "downstream";
  }
  return "?";
}

std::uint64_t Breakdown::total() const {
  std::uint64_t t = 0;
  for (auto v : ns) t += v;
  return t;
}

namespace {

struct Node {
  const Span* span;
  int parent = -1;
  std::vector<int> children;
  std::uint64_t start = 0, end = 0;  // clamped
  std::uint64_t reach = 0;           // latest end in the subtree
};

class Walker {
 public:
  Walker(std::vector<Node>& nodes, const IsPlatform& is_platform, TraceAnalysis& out)
      : nodes_(nodes), is_platform_(is_platform), out_(out) {}

  void walk(int i, int depth, bool async) {
    Node& n = nodes_[i];
    const std::size_t step = out_.path.size();
    out_.path.push_back({n.span, 0, 0, depth, async});
    if (async) out_.async = true;

    // Children on the path, backwards from the one that reaches latest.
    std::vector<int> by_reach = n.children;
    std::sort(by_reach.begin(), by_reach.end(), [&](int a, int b) {
      if (nodes_[a].reach != nodes_[b].reach) return nodes_[a].reach > nodes_[b].reach;
      return nodes_[a].start < nodes_[b].start;
    });
    std::vector<int> chosen;
    std::uint64_t cursor = n.reach;
    for (int c : by_reach) {
      if (nodes_[c].reach <= cursor) {
        chosen.push_back(c);
        cursor = nodes_[c].start;
      }
    }
    std::reverse(chosen.begin(), chosen.end());

    std::uint64_t t = n.start;
    for (int c : chosen) {
      gap(n, step, t, nodes_[c].start);
      walk(c, depth + 1, nodes_[c].start >= n.end && n.end > n.start);
      t = nodes_[c].reach;
    }
    gap(n, step, t, n.reach);
  }

 private:
  // [a, b) of n's reach not covered by its children on the path.
  void gap(const Node& n, std::size_t step, std::uint64_t a, std::uint64_t b) {
    if (b <= a) return;
    const std::uint64_t self_end = std::min(b, n.end);
    const std::uint64_t self = self_end > a ? self_end - a : 0;
    const std::uint64_t async = (b - a) - self;
    out_.path[step].self_ns += self;
    out_.path[step].async_wait_ns += async;
    out_.breakdown[Category::kAsyncWait] += async;
    if (!self) return;
    Category c;
    if (n.span->kind == Kind::kClient)
      c = n.children.empty() ? Category::kDownstream : Category::kNetwork;
    else
      c = is_platform_(n.span->service) ? Category::kPlatform : Category::kFunction;
    out_.breakdown[c] += self;
    if (n.span->estimated) out_.breakdown.estimated_ns += self;
  }

  std::vector<Node>& nodes_;
  const IsPlatform& is_platform_;
  TraceAnalysis& out_;
};

}  // namespace

TraceAnalysis analyze_trace(const std::vector<Span>& spans, const IsPlatform& is_platform) {
  TraceAnalysis out;
  out.spans = static_cast<std::uint32_t>(spans.size());
  if (spans.empty()) return out;
  out.trace_id = spans.front().trace_id;

  std::vector<Node> nodes(spans.size());
  std::unordered_map<std::string_view, int> by_id;
  by_id.reserve(spans.size());
  for (std::size_t i = 0; i < spans.size(); i++) {
    nodes[i].span = &spans[i];
    nodes[i].start = spans[i].start_ns;
    nodes[i].end = std::max(spans[i].end_ns, spans[i].start_ns);
    by_id.emplace(spans[i].span_id.view(), static_cast<int>(i));  // a duplicate id: the first wins
    if (spans[i].anomalous && !out.anomalous) {
      out.anomalous = true;
      out.anomaly_reason = spans[i].reason;
    }
  }
  std::vector<int> roots;
  for (std::size_t i = 0; i < spans.size(); i++) {
    auto p = spans[i].parent_id.empty() ? by_id.end() : by_id.find(spans[i].parent_id.view());
    if (p == by_id.end() || p->second == static_cast<int>(i)) {
      roots.push_back(static_cast<int>(i));
    } else {
      nodes[i].parent = p->second;
    }
  }
  // Children lists only from the roots down: a parent cycle (bad input) stays unreachable.
  for (std::size_t i = 0; i < nodes.size(); i++)
    if (nodes[i].parent >= 0) nodes[nodes[i].parent].children.push_back(static_cast<int>(i));
  if (roots.empty()) {  // every span in a cycle
    out.unlinked = out.spans;
    return out;
  }
  int root = roots.front();
  for (int r : roots) {
    if (nodes[r].start < nodes[root].start ||
        (nodes[r].start == nodes[root].start && nodes[r].end > nodes[root].end))
      root = r;
  }

  // Pre-order from the root, clamping skew top-down.
  std::vector<int> order;
  std::vector<int> stack{root};
  std::vector<char> seen(nodes.size(), 0);
  seen[root] = 1;
  while (!stack.empty()) {
    const int i = stack.back();
    stack.pop_back();
    order.push_back(i);
    Node& n = nodes[i];
    for (int c : n.children) {
      if (seen[c]) continue;
      seen[c] = 1;
      Node& ch = nodes[c];
      bool clamped = false;
      if (ch.start < n.start) {
        ch.end = std::max(ch.end, n.start);
        ch.start = n.start;
        clamped = true;
      }
      if (n.span->kind == Kind::kClient && ch.span->kind == Kind::kServer && ch.end > n.end) {
        ch.end = n.end;
        clamped = true;
      }
      if (ch.end < ch.start) ch.end = ch.start;
      if (clamped) out.skew_clamped++;
      stack.push_back(c);
    }
  }
  out.unlinked = static_cast<std::uint32_t>(spans.size() - order.size());
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node& n = nodes[*it];
    n.reach = n.end;
    for (int c : n.children) n.reach = std::max(n.reach, nodes[c].reach);
  }
  out.root = nodes[root].span;
  out.start_ns = nodes[root].start;
  out.duration_ns = nodes[root].reach - nodes[root].start;
  Walker(nodes, is_platform, out).walk(root, 0, false);
  return out;
}

}  // namespace difftrace::analyze
