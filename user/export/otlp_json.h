// OTLP JSON encoding of spans: an ExportTraceServiceRequest, resource spans
// grouped by process, as the OpenTelemetry Collector's file exporter writes.
// Written straight into a buffer: with every span exported, building a DOM
// per span cost more CPU than capturing it.
#pragma once

#include <fmt/format.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "capture/span.h"

namespace difftrace::exporters {

// Appends one ExportTraceServiceRequest (no trailing newline) to out.
void append_otlp_request(fmt::memory_buffer& out, const std::vector<capture::Span>& spans,
                         const std::string& host_name);

// JSON string escaping (quotes, backslash, control bytes); UTF-8 as is, and
// bytes that are not UTF-8 as U+FFFD (utf8.h).
void append_json_string(fmt::memory_buffer& out, std::string_view s);
// The same without the quotes: a string written in parts.
void append_json_chars(fmt::memory_buffer& out, std::string_view s);

// The pieces the JSON writers (OTLP, Zipkin) are made of. No format strings on
// this path: with every span exported it is the tracer's main cost, and fmt's
// parsing of them showed at the top of a profile.
// Grows the buffer and copies, inline: fmt's own append is a call per piece (and a call to
// memcpy), and the pieces are mostly a few bytes long; it was half of the encoding's time
// with every span exported. A literal's length is known here, so its copy is too.
inline void append(fmt::memory_buffer& out, std::string_view s) {
  const std::size_t at = out.size();
  out.try_resize(at + s.size());  // a memory_buffer always grows to the size asked
  std::memcpy(out.data() + at, s.data(), s.size());
}
inline void append_uint(fmt::memory_buffer& out, std::uint64_t v) {
  fmt::format_int f(v);
  append(out, std::string_view(f.data(), f.size()));
}
// An id as a JSON string of lowercase hex, without a temporary std::string.
inline void append_hex(fmt::memory_buffer& out, const std::uint8_t* b, std::size_t n) {
  char text[32];
  capture::hex_into(text, b, n);
  out.push_back('"');
  append(out, std::string_view(text, 2 * n));
  out.push_back('"');
}

}  // namespace difftrace::exporters
