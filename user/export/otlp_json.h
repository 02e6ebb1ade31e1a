// OTLP JSON encoding of spans: an ExportTraceServiceRequest, resource spans
// grouped by process, as the OpenTelemetry Collector's file exporter writes.
// Written straight into a buffer: with every span exported, building a DOM
// per span cost more CPU than capturing it.
#pragma once

#include <fmt/format.h>

#include <string>
#include <vector>

#include "capture/span.h"

namespace difftrace::exporters {

// Appends one ExportTraceServiceRequest (no trailing newline) to out.
void append_otlp_request(fmt::memory_buffer& out, const std::vector<capture::Span>& spans,
                         const std::string& host_name);

// JSON string escaping (quotes, backslash, control bytes); UTF-8 as is, and
// bytes that are not UTF-8 as U+FFFD (utf8.h).
void append_json_string(fmt::memory_buffer& out, std::string_view s);

}  // namespace difftrace::exporters
