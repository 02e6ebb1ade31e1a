#include "export/otlp_json.h"

#include "capture/endpoint_template.h"
#include "export/span_attributes.h"

#include "export/resource.h"
#include "export/utf8.h"

namespace difftrace::exporters {
namespace {

void str_attr(fmt::memory_buffer& out, std::string_view key, std::string_view value, bool first = false) {
  append(out, first ? "{\"key\":\"" : ",{\"key\":\"");
  append(out, key);
  append(out, "\",\"value\":{\"stringValue\":");
  append_json_string(out, value);
  append(out, "}}");
}

// OTLP JSON carries 64-bit integers as decimal strings.
void int_attr(fmt::memory_buffer& out, std::string_view key, std::uint64_t value) {
  append(out, ",{\"key\":\"");
  append(out, key);
  append(out, "\",\"value\":{\"intValue\":\"");
  append_uint(out, value);
  append(out, "\"}}");
}

void append_span(fmt::memory_buffer& out, const capture::Span& s) {
  append(out, "{\"traceId\":");
  append_hex(out, s.trace_id.data(), s.trace_id.size());
  append(out, ",\"spanId\":");
  append_hex(out, s.span_id.data(), s.span_id.size());
  if (s.parent_span_id) {
    append(out, ",\"parentSpanId\":");
    append_hex(out, s.parent_span_id->data(), s.parent_span_id->size());
  }
  // The span name, `{method} {template}` (capture::span_name), escaped in two parts: no
  // string made per span. The same bytes: a UTF-8 sequence cannot run across the space.
  append(out, ",\"name\":\"");
  append_json_chars(out, s.method);
  out.push_back(' ');
  if (!s.path_template.empty())
    append_json_chars(out, s.path_template);
  else
    append_json_chars(out, capture::path_template(s.path));
  out.push_back('"');
  append(out, s.kind == capture::SpanKind::kServer ? ",\"kind\":2" : ",\"kind\":3");
  append(out, ",\"startTimeUnixNano\":\"");
  append_uint(out, s.start_unix_ns);
  append(out, "\",\"endTimeUnixNano\":\"");
  append_uint(out, s.end_unix_ns);
  append(out, "\",\"attributes\":[");
  bool first = true;
  for_each_otlp_attribute(
      s,
      [&](std::string_view key, std::string_view value) {
        str_attr(out, key, value, first);
        first = false;
      },
      [&](std::string_view key, std::uint64_t value) { int_attr(out, key, value); });
  append(out, "],\"status\":");
  if (s.is_error()) {
    append(out, "{\"code\":2,\"message\":\"");
    append(out, s.error_text());  // no character that JSON escapes
    append(out, "\"}");
  } else {
    append(out, "{}");
  }
  append(out, "}");
}

}  // namespace

namespace {

// Does one of the 8 bytes of w need a look: below 0x20, '"', '\\', 0x7f, or 0x80 and up (a
// UTF-8 sequence to check)? Exact for "none" (the bit tricks can only mark bytes that do):
// most of an exported string is 8-byte words of plain ASCII, passed over at once.
inline bool needs_look(std::uint64_t w) {
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
  const std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;
  return (below_space | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\')) |
          has_zero(w ^ (ones * 0x7f)) | (w & highs)) != 0;
}

}  // namespace

void append_json_string(fmt::memory_buffer& out, std::string_view s) {
  out.push_back('"');
  append_json_chars(out, s);
  out.push_back('"');
}

void append_json_chars(fmt::memory_buffer& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::size_t run = 0;  // start of the bytes that need no escape
  for (std::size_t i = 0; i < s.size(); i++) {
    for (std::uint64_t w; i + 8 <= s.size(); i += 8) {
      std::memcpy(&w, s.data() + i, 8);
      if (needs_look(w)) break;
    }
    if (i >= s.size()) break;
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {  // a UTF-8 sequence passes as is; a byte that starts none is U+FFFD
      if (const std::size_t len = utf8_sequence_length(s, i)) {
        i += len - 1;
        continue;
      }
      append(out, s.substr(run, i - run));
      run = i + 1;
      append(out, "\xef\xbf\xbd");
      continue;
    }
    if (c != '"' && c != '\\' && c >= 0x20 && c != 0x7f) continue;
    append(out, s.substr(run, i - run));
    run = i + 1;
    if (c == '"' || c == '\\') {
      const char esc[] = {'\\', static_cast<char>(c)};
      append(out, std::string_view(esc, sizeof esc));
    } else {
      const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      append(out, std::string_view(esc, sizeof esc));
    }
  }
  append(out, s.substr(run));
}

void append_otlp_request(fmt::memory_buffer& out, const std::vector<capture::Span>& spans,
                         const std::string& host_name) {
  const std::vector<std::size_t> order = resource_order(spans);
  append(out, "{\"resourceSpans\":[");
  for (std::size_t i = 0; i < order.size(); i++) {
    const auto& first = spans[order[i]];
    if (i) append(out, ",");
    append(out, "{\"resource\":{\"attributes\":[");
    str_attr(out, "service.name", first.service_name, true);
    int_attr(out, "process.pid", first.pid);
    str_attr(out, "host.name", host_name);
    for (const auto& [key, value] : extra_resource(first)) str_attr(out, key, value);
    append(out, "]},\"scopeSpans\":[{\"scope\":{\"name\":\"difftrace\"},\"spans\":[");
    for (std::size_t j = i; j < order.size(); j++) {
      const auto& s = spans[order[j]];
      if (!same_resource(s, first)) break;
      if (j > i) append(out, ",");
      append_span(out, s);
      i = j;
    }
    append(out, "]}]}");
  }
  append(out, "]}");
}

}  // namespace difftrace::exporters
