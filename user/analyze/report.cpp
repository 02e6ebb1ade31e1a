#include "analyze/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "export/otlp_json.h"

namespace difftrace::analyze {
namespace {

using nlohmann::json;

const char* kind_name(Kind k) {
  return k == Kind::kServer ? "SERVER" : k == Kind::kClient ? "CLIENT" : "OTHER";
}

}  // namespace

json shares_json(const Breakdown& b, std::uint64_t duration) {
  json s = json::object();
  for (int c = 0; c < kCategories; c++)
    s[category_name(static_cast<Category>(c))] =
        duration ? static_cast<double>(b.ns[c]) / static_cast<double>(duration) : 0.0;
  s["estimated"] =
      duration ? static_cast<double>(b.estimated_ns) / static_cast<double>(duration) : 0.0;
  return s;
}

namespace {

bool longer(const TraceResult& a, const TraceResult& b) { return a.duration_ns > b.duration_ns; }

void write(std::FILE* out, const std::string& s) { std::fwrite(s.data(), 1, s.size(), out); }

}  // namespace

void write_all(std::FILE* out, const std::string& s) { write(out, s); }

void WorstTraces::offer(const TraceResult& t) {
  if (!n_) return;
  if (heap_.size() < n_) {
    heap_.push_back(t);
    std::push_heap(heap_.begin(), heap_.end(), longer);
  } else if (t.duration_ns > heap_.front().duration_ns) {
    std::pop_heap(heap_.begin(), heap_.end(), longer);
    heap_.back() = t;
    std::push_heap(heap_.begin(), heap_.end(), longer);
  }
}

std::vector<TraceResult> WorstTraces::longest_first() const {
  std::vector<TraceResult> out = heap_;
  std::sort(out.begin(), out.end(), longer);
  return out;
}

std::string human_ns(std::uint64_t ns) {
  if (ns == 0) return "0";
  if (ns < 1'000) return fmt::format("{}ns", ns);
  if (ns < 1'000'000) return fmt::format("{:.1f}us", static_cast<double>(ns) / 1e3);
  if (ns < 1'000'000'000) return fmt::format("{:.2f}ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.2f}s", static_cast<double>(ns) / 1e9);
}

json trace_json(const TraceResult& t) {
  json j;
  j["trace_id"] = t.trace_id;
  j["root"] = {{"service", t.root_service}, {"name", t.root_name}};
  j["start_ns"] = t.start_ns;
  j["duration_ns"] = t.duration_ns;
  j["anomalous"] = t.anomalous;
  if (t.anomalous) j["anomaly_reason"] = t.anomaly_reason;
  json path = json::array();
  for (const PathEntry& p : t.critical_path)
    path.push_back({{"span_id", p.span_id},
                    {"service", p.service},
                    {"name", p.name},
                    {"kind", kind_name(p.kind)},
                    {"self_ns", p.self_ns},
                    {"async_wait_ns", p.async_wait_ns},
                    {"estimated", p.estimated},
                    {"depth", p.depth},
                    {"async", p.async}});
  j["critical_path"] = std::move(path);
  j["breakdown"] = {{"platform_ns", t.breakdown[Category::kPlatform]},
                    {"function_ns", t.breakdown[Category::kFunction]},
                    {"network_ns", t.breakdown[Category::kNetwork]},
                    {"async_wait_ns", t.breakdown[Category::kAsyncWait]},
                    {"downstream_ns", t.breakdown[Category::kDownstream]},
                    {"estimated_ns", t.breakdown.estimated_ns}};
  if (t.culprit)
    j["culprit"] = {{"span_id", t.culprit->span_id},     {"service", t.culprit->service},
                    {"name", t.culprit->name},           {"excess_ns", t.culprit->excess_ns},
                    {"held_ns", t.culprit->held_ns},     {"median_ns", t.culprit->median_ns},
                    {"by", t.culprit->by}};
  else
    j["culprit"] = nullptr;
  j["async"] = t.async;
  j["spans"] = t.spans;
  j["unlinked_spans"] = t.unlinked;
  j["skew_clamped"] = t.skew_clamped;
  return j;
}

void append_trace_json(fmt::memory_buffer& out, const TraceResult& t) {
  // Plain appends and fmt::format_int: a format string per field cost as much as the rest.
  using exporters::append_json_string;
  auto raw = [&](std::string_view v) { out.append(v.data(), v.data() + v.size()); };
  auto key = [&](std::string_view k) {
    raw(",\"");
    raw(k);
    raw("\":");
  };
  auto str = [&](std::string_view k, const std::string& v) {
    key(k);
    append_json_string(out, v);
  };
  auto num = [&](std::string_view k, auto v) {
    key(k);
    const fmt::format_int n(v);
    out.append(n.data(), n.data() + n.size());
  };
  auto boolean = [&](std::string_view k, bool v) {
    key(k);
    raw(v ? "true" : "false");
  };
  raw("{\"trace_id\":");
  append_json_string(out, t.trace_id);
  key("root");
  raw("{\"service\":");
  append_json_string(out, t.root_service);
  str("name", t.root_name);
  out.push_back('}');
  num("start_ns", t.start_ns);
  num("duration_ns", t.duration_ns);
  boolean("anomalous", t.anomalous);
  if (t.anomalous) str("anomaly_reason", t.anomaly_reason);
  key("critical_path");
  out.push_back('[');
  bool first = true;
  for (const PathEntry& p : t.critical_path) {
    if (!first) out.push_back(',');
    first = false;
    raw("{\"span_id\":");
    append_json_string(out, p.span_id);
    str("service", p.service);
    str("name", p.name);
    raw(",\"kind\":\"");
    raw(kind_name(p.kind));
    out.push_back('"');
    num("self_ns", p.self_ns);
    num("async_wait_ns", p.async_wait_ns);
    boolean("estimated", p.estimated);
    num("depth", p.depth);
    boolean("async", p.async);
    out.push_back('}');
  }
  out.push_back(']');
  key("breakdown");
  raw("{\"platform_ns\":");
  const fmt::format_int platform(t.breakdown[Category::kPlatform]);
  raw(std::string_view(platform.data(), platform.size()));
  num("function_ns", t.breakdown[Category::kFunction]);
  num("network_ns", t.breakdown[Category::kNetwork]);
  num("async_wait_ns", t.breakdown[Category::kAsyncWait]);
  num("downstream_ns", t.breakdown[Category::kDownstream]);
  num("estimated_ns", t.breakdown.estimated_ns);
  out.push_back('}');
  key("culprit");
  if (t.culprit) {
    raw("{\"span_id\":");
    append_json_string(out, t.culprit->span_id);
    str("service", t.culprit->service);
    str("name", t.culprit->name);
    num("excess_ns", t.culprit->excess_ns);
    num("held_ns", t.culprit->held_ns);
    num("median_ns", t.culprit->median_ns);
    str("by", t.culprit->by);
    out.push_back('}');
  } else {
    raw("null");
  }
  boolean("async", t.async);
  num("spans", t.spans);
  num("unlinked_spans", t.unlinked);
  num("skew_clamped", t.skew_clamped);
  out.push_back('}');
}

json route_json(const RouteResult& r) {
  return {{"service", r.service},
          {"endpoint", r.endpoint},
          {"count", r.count},
          {"anomalous", r.anomalous},
          {"p50_ns", r.p50_ns},
          {"p90_ns", r.p90_ns},
          {"p99_ns", r.p99_ns},
          {"shares", shares_json(r.sum, r.duration_sum)},
          {"tail_count", r.tail_count},
          {"shares_p99", shares_json(r.tail_sum, r.tail_duration_sum)}};
}

json interval_json(const IntervalResult& r) {
  return {{"service", r.service},   {"endpoint", r.endpoint}, {"start_ns", r.start_ns},
          {"count", r.count},       {"anomalous", r.anomalous}, {"p50_ns", r.p50_ns},
          {"p90_ns", r.p90_ns},     {"p99_ns", r.p99_ns},
          {"shares", shares_json(r.sum, r.duration_sum)}};
}

json summary_json(const AnalyzeSummary& s) {
  return {{"lines", s.read.lines},
          {"bad_lines", s.read.bad_lines},
          {"spans", s.read.spans},
          {"bad_spans", s.read.bad_spans},
          {"traces", s.traces},
          {"anomalous_traces", s.anomalous},
          {"async_traces", s.async},
          {"skew_clamped", s.skew_clamped},
          {"unlinked_spans", s.unlinked_spans},
          {"estimated_on_path", s.estimated_on_path},
          {"traces_evicted_by_window", s.builder.evicted_by_window},
          {"traces_evicted_by_cap", s.builder.evicted_by_cap},
          {"traces_split", s.builder.traces_split},
          {"max_spans_held", s.builder.max_spans_held},
          {"interval_ns", s.interval_ns},
          {"interval_widened", s.interval_widened}};
}

void JsonReport::begin() { write(out_, "{\"traces\":["); }

void JsonReport::trace(const TraceResult& t) {
  buf_.clear();
  buf_.append(std::string_view(first_ ? "\n" : ",\n"));
  first_ = false;
  append_trace_json(buf_, t);
  std::fwrite(buf_.data(), 1, buf_.size(), out_);
}

void JsonReport::end(const std::vector<RouteResult>& routes,
                     const std::vector<IntervalResult>& intervals, const AnalyzeSummary& summary) {
  json r = json::array();
  for (const auto& route : routes) r.push_back(route_json(route));
  write(out_, "],\n\"routes\":");
  write(out_, r.dump(-1, ' ', false, json::error_handler_t::replace));
  json iv = json::array();
  for (const auto& i : intervals) iv.push_back(interval_json(i));
  write(out_, ",\n\"intervals\":");
  write(out_, iv.dump(-1, ' ', false, json::error_handler_t::replace));
  write(out_, ",\n\"summary\":");
  write(out_, summary_json(summary).dump());
  write(out_, "}\n");
}

void TextReport::end(const std::vector<RouteResult>& routes, const AnalyzeSummary& s) {
  std::string o;
  o += fmt::format("{} spans, {} traces ({} anomalous, {} through an async call); {} clock-skew "
                   "clamps, {} spans not under their trace's root\n\n",
                   s.read.spans, s.traces, s.anomalous, s.async, s.skew_clamped, s.unlinked_spans);
  o += fmt::format("{:<40} {:>7} {:>5} {:>9} {:>9} {:>9}  {:>5} {:>5} {:>5} {:>5} {:>5}\n",
                   "route (root service, endpoint)", "count", "anom", "p50", "p90", "p99",
                   "plat%", "fn%", "net%", "async", "down%");
  for (const RouteResult& r : routes) {
    std::string name = r.service + " " + r.endpoint;
    if (name.size() > 40) name = name.substr(0, 39) + "~";
    auto pct = [&](Category c) {
      return r.duration_sum ? fmt::format("{:.0f}", 100.0 * static_cast<double>(r.sum[c]) /
                                                        static_cast<double>(r.duration_sum))
                            : std::string("-");
    };
    o += fmt::format("{:<40} {:>7} {:>5} {:>9} {:>9} {:>9}  {:>5} {:>5} {:>5} {:>5} {:>5}\n", name,
                     r.count, r.anomalous, human_ns(r.p50_ns), human_ns(r.p90_ns),
                     human_ns(r.p99_ns), pct(Category::kPlatform), pct(Category::kFunction),
                     pct(Category::kNetwork), pct(Category::kAsyncWait),
                     pct(Category::kDownstream));
  }
  const std::vector<TraceResult> worst = worst_.longest_first();
  if (!worst.empty()) o += fmt::format("\nthe {} longest traces, critical path (self time):\n", worst.size());
  for (const TraceResult& t : worst) {
    o += fmt::format("\ntrace {} {} {} {}", t.trace_id, t.root_service, t.root_name,
                     human_ns(t.duration_ns));
    if (t.anomalous) o += fmt::format("  ANOMALOUS ({})", t.anomaly_reason);
    o += fmt::format("\n  platform {} function {} network {} async wait {} downstream {}\n",
                     human_ns(t.breakdown[Category::kPlatform]),
                     human_ns(t.breakdown[Category::kFunction]),
                     human_ns(t.breakdown[Category::kNetwork]),
                     human_ns(t.breakdown[Category::kAsyncWait]),
                     human_ns(t.breakdown[Category::kDownstream]));
    if (t.culprit)
      o += fmt::format("  culprit: {} {} ({}), {} over its median {} ({})\n", t.culprit->service,
                       t.culprit->name, t.culprit->span_id,
                       t.culprit->excess_ns >= 0
                           ? human_ns(static_cast<std::uint64_t>(t.culprit->excess_ns))
                           : "-" + human_ns(static_cast<std::uint64_t>(-t.culprit->excess_ns)),
                       human_ns(t.culprit->median_ns), t.culprit->by);
    for (const PathEntry& p : t.critical_path) {
      const bool culprit = t.culprit && t.culprit->span_id == p.span_id;
      o += fmt::format("  {:<{}}{}{} {} {} {}{}{}\n", "", 2 * p.depth, culprit ? "> " : "  ",
                       p.service, kind_name(p.kind), p.name, human_ns(p.self_ns),
                       p.estimated ? " ~estimated" : "", p.async ? " (async)" : "");
    }
  }
  write(out_, o);
}

}  // namespace difftrace::analyze
