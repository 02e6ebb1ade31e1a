#include "analyze/html_report.h"

namespace difftrace::analyze {
namespace {

using nlohmann::json;

const char* kind_name(Kind k) {
  return k == Kind::kServer ? "SERVER" : k == Kind::kClient ? "CLIENT" : "OTHER";
}

json waterfall_json(const TraceResult& t) {
  json j = trace_json(t);
  json spans = json::array();
  for (const SpanView& s : t.span_views)
    spans.push_back({{"span_id", s.span_id},
                     {"parent_id", s.parent_id},
                     {"service", s.service},
                     {"name", s.name},
                     {"kind", kind_name(s.kind)},
                     {"start_ns", s.start_ns},
                     {"end_ns", s.end_ns},
                     {"estimated", s.estimated},
                     {"anomalous", s.anomalous},
                     {"on_path", s.on_path}});
  j["spans"] = std::move(spans);
  return j;
}

}  // namespace

std::string json_for_script(const std::string& json_text) {
  std::string out;
  out.reserve(json_text.size());
  for (char c : json_text) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
  return out;
}

void HtmlReport::end(const std::vector<RouteResult>& routes,
                     const std::vector<IntervalResult>& intervals, const AnalyzeSummary& summary) {
  json data;
  data["files"] = files_;
  data["summary"] = summary_json(summary);
  data["routes"] = json::array();
  for (const RouteResult& r : routes) data["routes"].push_back(route_json(r));
  data["intervals"] = json::array();
  for (const IntervalResult& i : intervals) data["intervals"].push_back(interval_json(i));
  data["worst"] = json::array();
  for (const TraceResult& t : worst_.longest_first()) data["worst"].push_back(waterfall_json(t));
  write_all(out_, html_page_before_data());
  write_all(out_, json_for_script(data.dump(-1, ' ', false, json::error_handler_t::replace)));
  write_all(out_, html_page_after_data());
}

}  // namespace difftrace::analyze
