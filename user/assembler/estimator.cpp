#include "assembler/estimator.h"

#include <algorithm>
#include <set>

#include "capture/endpoint_template.h"

namespace difftrace::assembler {

Node node_of(const capture::Span& s) {
  return {s.service_name, s.kind == capture::SpanKind::kServer, s.method,
          capture::path_template(s.path)};
}

namespace {

// Whether span k of the trace hangs (through its parents) under span i.
bool descends_from(std::span<const capture::Span> t, std::size_t k, std::size_t i) {
  std::vector<int> parent = parent_index(t);
  for (int at = parent[k], steps = 0; at >= 0 && steps < static_cast<int>(t.size());
       at = parent[static_cast<std::size_t>(at)], steps++)
    if (static_cast<std::size_t>(at) == i) return true;
  return false;
}

}  // namespace

std::vector<int> parent_index(std::span<const capture::Span> t) {
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

void Estimator::Window::add(const Placement& p) {
  calls++;
  if (recent.size() < kWindow) {
    recent.push_back(p);
    return;
  }
  recent[next] = p;
  next = (next + 1) % kWindow;
}

std::int64_t Estimator::Window::median(std::int64_t Placement::*field) const {
  std::vector<std::int64_t> v;
  v.reserve(recent.size());
  for (const auto& p : recent) v.push_back(p.*field);
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

void Estimator::learn(std::span<const capture::Span> trace) {
  std::vector<int> parent = parent_index(trace);
  // Which nodes and calls a trace usually has is learned from traces without
  // estimates only; where a child sits in its parent, from any two spans seen.
  const bool whole = std::none_of(trace.begin(), trace.end(),
                                  [](const capture::Span& s) { return s.is_estimated(); });
  if (whole) {
    std::set<Node> nodes;
    for (const auto& s : trace) {
      Node n = node_of(s);
      if (!seen_.count(n) && seen_.size() >= kMaxNodes) continue;  // bounded
      seen_[n].exemplar = s;
      nodes.insert(std::move(n));
    }
    for (const auto& n : nodes) seen_[n].count++;
  }
  std::set<std::pair<Node, Node>> in_trace;
  for (std::size_t i = 0; i < trace.size(); i++) {
    if (parent[i] < 0) continue;
    const capture::Span& p = trace[static_cast<std::size_t>(parent[i])];
    const capture::Span& c = trace[i];
    if (p.is_estimated() || c.is_estimated()) continue;
    std::pair<Node, Node> edge{node_of(p), node_of(c)};
    if (!seen_.count(edge.first) || !seen_.count(edge.second)) continue;
    if (!calls_.count(edge) && calls_.size() >= kMaxCalls) continue;  // bounded
    auto ns = [](std::uint64_t t) { return static_cast<std::int64_t>(t); };
    Placement at{ns(c.start_unix_ns) - ns(p.start_unix_ns), ns(p.end_unix_ns) - ns(c.end_unix_ns),
                 ns(p.duration_ns()), ns(c.duration_ns())};
    Calls& calls = calls_[edge];
    (at.parent_end_after_child_end < 0 ? calls.answered : calls.waited).add(at);
    if (whole && in_trace.insert(edge).second) calls.traces++;
  }
}

std::optional<Estimator::Profiled> Estimator::profile_of(const capture::Span& s) const {
  return median_ ? median_(s) : std::nullopt;
}

std::optional<Estimator::Placed> Estimator::place_parent(const capture::Span& child,
                                                         const Node& parent,
                                                         const Calls& calls) const {
  const Window& w = calls.usual();
  if (w.recent.empty()) return std::nullopt;
  const auto parent_profile = profile_of(seen_.at(parent).exemplar);
  std::int64_t before = w.median(&Placement::child_start_after_parent_start);
  std::int64_t after = w.median(&Placement::parent_end_after_child_end);
  const auto child_start = static_cast<std::int64_t>(child.start_unix_ns);
  const auto child_end = static_cast<std::int64_t>(child.end_unix_ns);
  Placed p;
  std::int64_t start = child_start - before, end = 0;
  if (calls.async()) {
    // It answered at once: its own length in that mode, whatever its child's.
    // That is its profile's median when the call never waited (the profile
    // then holds that mode alone), else the learned one.
    std::int64_t d = w.median(&Placement::parent_duration);
    if (parent_profile && calls.waited.calls == 0) {
      d = static_cast<std::int64_t>(parent_profile->median_ns);
      p.profile_samples = parent_profile->samples;
    }
    end = start + d;
    p.method = "before_child";
  } else {
    // It waited: its child's time plus its own margins. With both endpoints
    // profiled, the margins add up to the difference of their medians (over
    // all their normal spans, not only the traces learned), split as the
    // learned margins split.
    const auto child_profile = profile_of(child);
    if (parent_profile && child_profile) {
      const auto total = std::max<std::int64_t>(
          0, static_cast<std::int64_t>(parent_profile->median_ns) -
                 static_cast<std::int64_t>(child_profile->median_ns));
      before = std::max<std::int64_t>(before, 0);
      after = std::max<std::int64_t>(after, 0);
      const double share = before + after > 0 ? static_cast<double>(before) /
                                                    static_cast<double>(before + after)
                                              : 0.0;
      before = static_cast<std::int64_t>(share * static_cast<double>(total));
      after = total - before;
      start = child_start - before;
      p.profile_samples = parent_profile->samples;
    }
    end = child_end + after;
    p.method = "around_child";
  }
  if (start < 0) return std::nullopt;
  p.start_ns = static_cast<std::uint64_t>(start);
  p.end_ns = static_cast<std::uint64_t>(std::max(start, end));
  return p;
}

std::optional<Estimator::Placed> Estimator::place_child(const capture::Span& parent,
                                                        const Node& child,
                                                        const Calls& calls) const {
  const Window& w = calls.usual();
  if (w.recent.empty()) return std::nullopt;
  Placed p;
  std::int64_t d = w.median(&Placement::child_duration);
  if (auto m = profile_of(seen_.at(child).exemplar)) {
    d = static_cast<std::int64_t>(m->median_ns);
    p.profile_samples = m->samples;
  }
  const auto ps = static_cast<std::int64_t>(parent.start_unix_ns);
  const auto pe = static_cast<std::int64_t>(parent.end_unix_ns);
  const std::int64_t after = w.median(&Placement::child_start_after_parent_start);
  if (calls.async()) {
    // Called after its parent answered: unless the parent answered an error
    // of its own, it made the call, whatever its own length.
    const bool answered_ok = parent.status >= 200 && parent.status < 300;
    if (!parent.is_estimated() && !answered_ok) return std::nullopt;
    p.start_ns = static_cast<std::uint64_t>(ps + after);
    p.end_ns = p.start_ns + static_cast<std::uint64_t>(std::max<std::int64_t>(d, 0));
    p.method = "after_parent";
    return p;
  }
  // A child must fit in its parent: one much shorter than the child's usual
  // time (a 503 the hop made itself) did not call it.
  if (2 * (pe - ps) < d) return std::nullopt;
  // Inside its parent, ending where its parent's answer usually follows it
  // (time a parent adds of its own comes before it calls); the whole parent
  // when the parent is shorter than its usual margins.
  std::int64_t lo = ps + after;
  std::int64_t hi = pe - w.median(&Placement::parent_end_after_child_end);
  if (hi <= lo || lo < ps || hi > pe) lo = ps, hi = pe;
  d = std::clamp<std::int64_t>(d, 0, hi - lo);
  p.start_ns = static_cast<std::uint64_t>(hi - d);
  p.end_ns = static_cast<std::uint64_t>(hi);
  p.method = "inside_parent";
  return p;
}

std::vector<capture::Span> Estimator::estimate(
    std::span<capture::Span> trace,
    const std::function<capture::SpanId()>& next_id) const {
  std::vector<capture::Span> all(trace.begin(), trace.end());
  std::set<Node> present;
  for (const auto& s : trace) present.insert(node_of(s));
  // A call is expected when most traces with one end had the other.
  auto usual = [&](const Node& have, const Node& other, std::uint64_t n) {
    auto it = seen_.find(have);
    return it != seen_.end() && it->second.count > 0 && 2 * n >= it->second.count &&
           !present.count(other) && seen_.count(other);
  };
  std::vector<capture::Span> made;
  // Each round may add spans that lead to more; the graph is small. Parents
  // first: a parent placed around its child's real times is closer than a
  // child given its median length inside a parent.
  for (int round = 0; round < 8; round++) {
    std::size_t before = made.size();
    for (const bool parents : {true, false}) {
      for (std::size_t i = 0; i < all.size(); i++) {
        const capture::Span have = all[i];
        const Node hn = node_of(have);
        for (const auto& [edge, calls] : calls_) {
          const bool down = !parents && edge.first == hn && usual(hn, edge.second, calls.traces);
          const bool up = parents && edge.second == hn && usual(hn, edge.first, calls.traces);
          if (!down && !up) continue;
          const Node& other = down ? edge.second : edge.first;
          auto placed = down ? place_child(have, other, calls) : place_parent(have, other, calls);
          if (!placed) continue;
          capture::Span e = seen_.at(other).exemplar;
          e.trace_id = have.trace_id;
          e.trace_from_header = have.trace_from_header;
          e.trace_from_kernel = have.trace_from_kernel;
          e.span_id = next_id();
          e.parent_span_id.reset();
          e.decision = "estimated";
          e.reason.clear();
          e.threshold_ns = 0;
          e.path = other.path_template;
          e.path_template = capture::path_template(e.path);  // its path's, as for any span
          e.status = 0;
          e.request_bytes = e.response_bytes = 0;
          e.start_unix_ns = placed->start_ns;
          e.end_unix_ns = placed->end_ns;
          e.estimate_method = capture::Label::of_static(placed->method);  // a literal
          e.estimate_samples = calls.usual().recent.size();
          e.estimate_profile_samples = placed->profile_samples;
          if (down) {
            e.parent_span_id = have.span_id;
            if (!other.server) e.pid = have.pid;
          } else if (!all[i].parent_span_id) {
            all[i].parent_span_id = e.span_id;  // around its child, which hangs under it
          }
          present.insert(other);
          made.push_back(e);
          all.push_back(e);
        }
      }
    }
    if (made.size() == before) break;
  }
  // A span left without a parent hangs under a span of the node its node
  // usually hangs under (one of a node per trace: present above): a span seen
  // under an estimated one (the linker had nothing to link it to), an
  // estimated one under any, but never under its own descendant.
  for (std::size_t i = 0; i < all.size(); i++) {
    if (all[i].parent_span_id) continue;
    const Node child = node_of(all[i]);
    const bool estimated = i >= trace.size();
    for (std::size_t k = estimated ? 0 : trace.size(); k < all.size(); k++) {
      if (k == i || !calls_.count({node_of(all[k]), child}) || descends_from(all, k, i)) continue;
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
