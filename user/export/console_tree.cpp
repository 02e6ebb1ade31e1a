#include "export/console_tree.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <tuple>

#include "capture/request_target.h"

namespace difftrace::exporters {
namespace {

using capture::Span;

std::string ms(std::uint64_t ns) { return fmt::format("{:.3f}ms", static_cast<double>(ns) / 1e6); }

std::string line(const Span& s, std::size_t depth, bool orphan) {
  const bool estimated = s.decision == "estimated";
  std::string out = fmt::format(
      "{:{}}{} {}[{}] {} {} -> {} {}{}", "", 2 * (depth + 1),
      s.kind == capture::SpanKind::kServer ? "SERVER" : "CLIENT", s.service_name, s.pid, s.method,
      capture::target_text(s), s.status ? std::to_string(s.status) : "no-response", estimated ? "~" : "",
      ms(s.duration_ns()));
  if (s.is_error()) out += " ERROR";
  if (s.decision == "anomalous") {
    out += " !! anomalous";
    if (!s.reason.empty() || s.threshold_ns) {
      out += " (";
      out += s.reason.empty() ? "?" : s.reason;
      if (s.threshold_ns) out += " > " + ms(s.threshold_ns);
      out += ")";
    }
  } else if (s.decision == "estimated") {
    out += " ~ estimated";
    if (!s.estimate_method.empty())
      out += fmt::format(" ({}, {} calls)", s.estimate_method, s.estimate_samples);
  } else if (s.decision == "kept" || s.decision == "reported") {
    out += " " + s.decision;
    if (!s.reason.empty()) out += " (" + s.reason + ")";
  }
  if (orphan && s.parent_span_id) out += " (parent " + capture::to_hex(*s.parent_span_id) + ")";
  return out + "\n";
}

void render_trace(std::string& out, const std::vector<Span>& spans,
                  const std::vector<std::size_t>& members) {
  // members are in start order; children lists keep that order.
  std::map<capture::SpanId, std::size_t> by_id;
  for (std::size_t i : members) by_id.emplace(spans[i].span_id, i);
  std::map<std::size_t, std::vector<std::size_t>> children;
  std::vector<std::size_t> roots;
  for (std::size_t i : members) {
    const auto& parent = spans[i].parent_span_id;
    auto it = parent ? by_id.find(*parent) : by_id.end();
    if (it != by_id.end() && it->second != i)
      children[it->second].push_back(i);
    else
      roots.push_back(i);
  }

  const Span& first = spans[members.front()];
  std::uint64_t begin = first.start_unix_ns, end = first.end_unix_ns;
  std::size_t errors = 0, anomalous = 0;
  for (std::size_t i : members) {
    begin = std::min(begin, spans[i].start_unix_ns);
    end = std::max(end, spans[i].end_unix_ns);
    errors += spans[i].is_error();
    anomalous += spans[i].decision == "anomalous";
  }
  out += fmt::format("trace {}{}: {} span{}, {}", capture::to_hex(first.trace_id),
                     first.trace_from_header ? " (from header)" : "", members.size(),
                     members.size() == 1 ? "" : "s", ms(end > begin ? end - begin : 0));
  if (errors) out += fmt::format(", {} error{}", errors, errors == 1 ? "" : "s");
  if (anomalous) out += fmt::format(", {} anomalous !!", anomalous);
  out += "\n";

  // Depth first, without recursion (a batch can hold long chains); spans on a
  // parent cycle are reached from nowhere and printed as roots afterwards.
  std::vector<bool> printed(spans.size(), false);
  auto walk = [&](std::size_t root) {
    std::vector<std::pair<std::size_t, std::size_t>> stack{{root, 0}};
    while (!stack.empty()) {
      auto [i, depth] = stack.back();
      stack.pop_back();
      if (printed[i]) continue;
      printed[i] = true;
      out += line(spans[i], depth, depth == 0);
      auto it = children.find(i);
      if (it == children.end()) continue;
      for (auto c = it->second.rbegin(); c != it->second.rend(); ++c) stack.push_back({*c, depth + 1});
    }
  };
  for (std::size_t r : roots) walk(r);
  for (std::size_t i : members)
    if (!printed[i]) walk(i);
}

}  // namespace

std::string render_trace_trees(const std::vector<Span>& spans) {
  std::vector<std::size_t> order(spans.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return spans[a].start_unix_ns < spans[b].start_unix_ns;
  });
  // Traces in order of their first span; each trace's spans in start order.
  std::vector<std::vector<std::size_t>> traces;
  std::map<capture::TraceId, std::size_t> trace_index;
  for (std::size_t i : order) {
    auto [it, fresh] = trace_index.emplace(spans[i].trace_id, traces.size());
    if (fresh) traces.emplace_back();
    traces[it->second].push_back(i);
  }
  std::string out;
  for (const auto& members : traces) render_trace(out, spans, members);
  return out;
}

}  // namespace difftrace::exporters
