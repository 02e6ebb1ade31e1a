#include "export/otlp_json.h"

#include <map>
#include <tuple>

namespace difftrace::exporters {
namespace {

using nlohmann::json;

json str_attr(const std::string& key, const std::string& value) {
  return {{"key", key}, {"value", {{"stringValue", value}}}};
}

// OTLP JSON carries 64-bit integers as decimal strings.
json int_attr(const std::string& key, std::int64_t value) {
  return {{"key", key}, {"value", {{"intValue", std::to_string(value)}}}};
}

json span_json(const capture::Span& s) {
  json attrs = json::array({
      str_attr("http.request.method", s.method),
      str_attr("url.path", s.path),
      str_attr("server.address", s.server().address),
      int_attr("server.port", s.server().port),
      str_attr("client.address", s.client().address),
      int_attr("client.port", s.client().port),
      int_attr("thread.id", s.tid),
      // Whole messages as they crossed the socket, headers included.
      int_attr("http.request.size", static_cast<std::int64_t>(s.request_bytes)),
      int_attr("http.response.size", static_cast<std::int64_t>(s.response_bytes)),
      str_attr("difftrace.decision", s.decision),
  });
  if (s.status) attrs.push_back(int_attr("http.response.status_code", s.status));
  json j = {
      {"traceId", capture::to_hex(s.trace_id)},
      {"spanId", capture::to_hex(s.span_id)},
      {"name", s.method + " " + s.path},
      {"kind", s.kind == capture::SpanKind::kServer ? 2 : 3},
      {"startTimeUnixNano", std::to_string(s.start_unix_ns)},
      {"endTimeUnixNano", std::to_string(s.end_unix_ns)},
      {"attributes", attrs},
  };
  if (s.parent_span_id) j["parentSpanId"] = capture::to_hex(*s.parent_span_id);
  if (s.is_error()) {
    j["status"] = {{"code", 2}, {"message", s.status ? "HTTP " + std::to_string(s.status)
                                                     : "no response"}};
  } else {
    j["status"] = json::object();
  }
  return j;
}

}  // namespace

json to_otlp_request(const std::vector<capture::Span>& spans, const std::string& host_name) {
  // One resource per (process, service): a pid's spans share it.
  std::map<std::tuple<std::uint32_t, std::string>, json> by_resource;
  for (const auto& s : spans)
    by_resource[{s.pid, s.service_name}].push_back(span_json(s));
  json resource_spans = json::array();
  for (auto& [key, list] : by_resource) {
    const auto& [pid, service] = key;
    resource_spans.push_back({
        {"resource",
         {{"attributes", json::array({str_attr("service.name", service),
                                      int_attr("process.pid", pid),
                                      str_attr("host.name", host_name)})}}},
        {"scopeSpans", json::array({{{"scope", {{"name", "difftrace"}}}, {"spans", list}}})},
    });
  }
  return {{"resourceSpans", resource_spans}};
}

}  // namespace difftrace::exporters
