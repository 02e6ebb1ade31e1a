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
  std::uint32_t first_child = 0, child_count = 0;  // into Scratch::children
  std::uint64_t start = 0, end = 0;  // clamped
  std::uint64_t reach = 0;           // latest end in the subtree
};

// Buffers reused from trace to trace (analyze_trace runs once per trace, millions of times:
// allocating them each time cost more than the walk).
struct Scratch {
  std::vector<Node> nodes;
  std::vector<int> children;  // each node's, in span order, together
  std::vector<int> roots, order, stack, walk;
  std::vector<char> seen;
  std::unordered_map<std::string_view, int> by_id;
};

// Traces up to this many spans find parents by a linear search (cheaper than hashing).
constexpr std::size_t kLinearIds = 16;

class Walker {
 public:
  Walker(Scratch& scratch, const IsPlatform& is_platform, TraceAnalysis& out)
      : nodes_(scratch.nodes), children_(scratch.children), walk_(scratch.walk),
        is_platform_(is_platform), out_(out) {}

  void walk(int i, int depth, bool async) {
    const Node& n = nodes_[i];
    const std::size_t step = out_.path.size();
    out_.path.push_back({n.span, 0, 0, depth, async});
    if (async) out_.async = true;

    // Children on the path, backwards from the one that reaches latest: sorted into walk_
    // after what the callers above hold there, the chosen ones kept in front.
    const std::size_t base = walk_.size();
    walk_.insert(walk_.end(), children_.begin() + n.first_child,
                 children_.begin() + n.first_child + n.child_count);
    std::sort(walk_.begin() + static_cast<std::ptrdiff_t>(base), walk_.end(), [&](int a, int b) {
      if (nodes_[a].reach != nodes_[b].reach) return nodes_[a].reach > nodes_[b].reach;
      return nodes_[a].start < nodes_[b].start;
    });
    std::size_t chosen = base;
    std::uint64_t cursor = n.reach;
    for (std::size_t k = base; k < walk_.size(); k++) {
      const int c = walk_[k];
      if (nodes_[c].reach <= cursor) {
        walk_[chosen++] = c;
        cursor = nodes_[c].start;
      }
    }
    walk_.resize(chosen);
    std::reverse(walk_.begin() + static_cast<std::ptrdiff_t>(base), walk_.end());

    std::uint64_t t = n.start;
    for (std::size_t k = base; k < chosen; k++) {
      const int c = walk_[k];  // by index: the walks below grow walk_ past `chosen`
      gap(n, step, t, nodes_[c].start);
      walk(c, depth + 1, nodes_[c].start >= n.end && n.end > n.start);
      t = nodes_[c].reach;
    }
    gap(n, step, t, n.reach);
    walk_.resize(base);
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
      c = n.child_count == 0 ? Category::kDownstream : Category::kNetwork;
    else
      c = is_platform_(n.span->service) ? Category::kPlatform : Category::kFunction;
    out_.breakdown[c] += self;
    if (n.span->estimated) out_.breakdown.estimated_ns += self;
  }

  const std::vector<Node>& nodes_;
  const std::vector<int>& children_;
  std::vector<int>& walk_;
  const IsPlatform& is_platform_;
  TraceAnalysis& out_;
};

}  // namespace

TraceAnalysis analyze_trace(const std::vector<Span>& spans, const IsPlatform& is_platform) {
  TraceAnalysis out;
  out.spans = static_cast<std::uint32_t>(spans.size());
  if (spans.empty()) return out;
  out.trace_id = spans.front().trace_id;

  thread_local Scratch scratch;
  std::vector<Node>& nodes = scratch.nodes;
  nodes.assign(spans.size(), Node{});
  for (std::size_t i = 0; i < spans.size(); i++) {
    nodes[i].span = &spans[i];
    nodes[i].start = spans[i].start_ns;
    nodes[i].end = std::max(spans[i].end_ns, spans[i].start_ns);
    if (spans[i].anomalous && !out.anomalous) {
      out.anomalous = true;
      out.anomaly_reason = spans[i].reason;
    }
  }
  // A parent id's span: a duplicate id, the first wins.
  const bool linear = spans.size() <= kLinearIds;
  auto& by_id = scratch.by_id;
  by_id.clear();
  if (!linear)
    for (std::size_t i = 0; i < spans.size(); i++)
      by_id.emplace(spans[i].span_id.view(), static_cast<int>(i));
  auto index_of = [&](const IdString& id) {
    if (!linear) {
      auto p = by_id.find(id.view());
      return p == by_id.end() ? -1 : p->second;
    }
    for (std::size_t j = 0; j < spans.size(); j++)
      if (spans[j].span_id == id) return static_cast<int>(j);
    return -1;
  };
  std::vector<int>& roots = scratch.roots;
  roots.clear();
  for (std::size_t i = 0; i < spans.size(); i++) {
    const int p = spans[i].parent_id.empty() ? -1 : index_of(spans[i].parent_id);
    if (p < 0 || p == static_cast<int>(i)) {
      roots.push_back(static_cast<int>(i));
    } else {
      nodes[i].parent = p;
      nodes[p].child_count++;
    }
  }
  // Children lists only from the roots down: a parent cycle (bad input) stays unreachable.
  // Each node's children in span order, in one array.
  std::vector<int>& children = scratch.children;
  children.resize(spans.size());
  std::uint32_t next = 0;
  for (Node& n : nodes) {
    n.first_child = next;
    next += n.child_count;
    n.child_count = 0;
  }
  for (std::size_t i = 0; i < nodes.size(); i++) {
    if (nodes[i].parent < 0) continue;
    Node& p = nodes[nodes[i].parent];
    children[p.first_child + p.child_count++] = static_cast<int>(i);
  }
  auto kids = [&](const Node& n) {
    return std::pair(children.begin() + n.first_child,
                     children.begin() + n.first_child + n.child_count);
  };
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
  std::vector<int>& order = scratch.order;
  std::vector<int>& stack = scratch.stack;
  std::vector<char>& seen = scratch.seen;
  order.clear();
  stack.assign(1, root);
  seen.assign(nodes.size(), 0);
  seen[root] = 1;
  while (!stack.empty()) {
    const int i = stack.back();
    stack.pop_back();
    order.push_back(i);
    Node& n = nodes[i];
    const auto [first, last] = kids(n);
    for (auto it = first; it != last; ++it) {
      const int c = *it;
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
    const auto [first, last] = kids(n);
    for (auto c = first; c != last; ++c) n.reach = std::max(n.reach, nodes[*c].reach);
  }
  out.root = nodes[root].span;
  out.start_ns = nodes[root].start;
  out.duration_ns = nodes[root].reach - nodes[root].start;
  out.path.reserve(order.size());
  scratch.walk.clear();
  Walker(scratch, is_platform, out).walk(root, 0, false);
  return out;
}

}  // namespace difftrace::analyze
