#include "export/otlp_json.h"

#include <algorithm>
#include <iterator>
#include <numeric>

namespace difftrace::exporters {
namespace {

void append(fmt::memory_buffer& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

void str_attr(fmt::memory_buffer& out, std::string_view key, std::string_view value, bool first = false) {
  if (!first) append(out, ",");
  append(out, "{\"key\":\"");
  append(out, key);
  append(out, "\",\"value\":{\"stringValue\":");
  append_json_string(out, value);
  append(out, "}}");
}

// OTLP JSON carries 64-bit integers as decimal strings.
void int_attr(fmt::memory_buffer& out, std::string_view key, std::int64_t value) {
  fmt::format_to(std::back_inserter(out), ",{{\"key\":\"{}\",\"value\":{{\"intValue\":\"{}\"}}}}",
                 key, value);
}

void append_span(fmt::memory_buffer& out, const capture::Span& s) {
  auto it = std::back_inserter(out);
  fmt::format_to(it, "{{\"traceId\":\"{}\",\"spanId\":\"{}\"", capture::to_hex(s.trace_id),
                 capture::to_hex(s.span_id));
  if (s.parent_span_id)
    fmt::format_to(it, ",\"parentSpanId\":\"{}\"", capture::to_hex(*s.parent_span_id));
  append(out, ",\"name\":");
  append_json_string(out, s.method + " " + s.path);
  fmt::format_to(it, ",\"kind\":{},\"startTimeUnixNano\":\"{}\",\"endTimeUnixNano\":\"{}\"",
                 s.kind == capture::SpanKind::kServer ? 2 : 3, s.start_unix_ns, s.end_unix_ns);
  append(out, ",\"attributes\":[");
  str_attr(out, "http.request.method", s.method, true);
  str_attr(out, "url.path", s.path);
  if (s.status) int_attr(out, "http.response.status_code", s.status);
  str_attr(out, "server.address", s.server().address);
  int_attr(out, "server.port", s.server().port);
  str_attr(out, "client.address", s.client().address);
  int_attr(out, "client.port", s.client().port);
  int_attr(out, "thread.id", s.tid);
  // Whole messages as they crossed the socket, headers included.
  int_attr(out, "http.request.size", static_cast<std::int64_t>(s.request_bytes));
  int_attr(out, "http.response.size", static_cast<std::int64_t>(s.response_bytes));
  str_attr(out, "difftrace.decision", s.decision);
  append(out, "],\"status\":");
  if (s.is_error())
    fmt::format_to(it, "{{\"code\":2,\"message\":\"{}\"}}",
                   s.status ? "HTTP " + std::to_string(s.status) : std::string("no response"));
  else
    append(out, "{}");
  append(out, "}");
}

}  // namespace

void append_json_string(fmt::memory_buffer& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20 || c == 0x7f) {
      const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      out.append(esc, esc + sizeof esc);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

void append_otlp_request(fmt::memory_buffer& out, const std::vector<capture::Span>& spans,
                         const std::string& host_name) {
  // One resource per (process, service): order the spans so that a pid's
  // spans are adjacent, keeping their order otherwise.
  std::vector<std::size_t> order(spans.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(spans[a].pid, spans[a].service_name) <
           std::tie(spans[b].pid, spans[b].service_name);
  });
  append(out, "{\"resourceSpans\":[");
  for (std::size_t i = 0; i < order.size(); i++) {
    const auto& first = spans[order[i]];
    if (i) append(out, ",");
    append(out, "{\"resource\":{\"attributes\":[");
    str_attr(out, "service.name", first.service_name, true);
    int_attr(out, "process.pid", first.pid);
    str_attr(out, "host.name", host_name);
    append(out, "]},\"scopeSpans\":[{\"scope\":{\"name\":\"difftrace\"},\"spans\":[");
    for (std::size_t j = i; j < order.size(); j++) {
      const auto& s = spans[order[j]];
      if (s.pid != first.pid || s.service_name != first.service_name) break;
      if (j > i) append(out, ",");
      append_span(out, s);
      i = j;
    }
    append(out, "]}]}");
  }
  append(out, "]}");
}

}  // namespace difftrace::exporters
