// Reads OTLP JSON trace files as difftrace's otlp-json exporter and the
// OpenTelemetry Collector's file exporter write them: one
// ExportTraceServiceRequest JSON object per line; and Zipkin v2 JSON arrays of
// spans (zipkin_reader.h), told apart by their first character, on one line or
// pretty-printed over many as Zipkin's API answers (value_lines.h).
// Streams: big reads, one value's spans in memory at a time, no JSON document
// (json_scanner.h); each span goes to the callback as it is read.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "analyze/span.h"

namespace difftrace::analyze {

struct ReadCounters {
  std::uint64_t lines = 0;       // JSON values: one per line, or one over many lines
  std::uint64_t bad_lines = 0;  // not JSON, or not an ExportTraceServiceRequest or Zipkin array
  std::string first_bad_line;   // "FILE:LINE" of the first of them (its first line)
  std::uint64_t spans = 0;
  std::uint64_t bad_spans = 0;  // no trace or span id
  std::uint64_t zipkin_lines = 0;  // Zipkin arrays read
};

using SpanSink = std::function<void(Span&&)>;

// Parses one line (one ExportTraceServiceRequest); false when it is not one (and then no span
// of it goes to the sink).
bool read_otlp_line(std::string_view line, const SpanSink& sink, ReadCounters& counters);
// The same for a line that is either that or a Zipkin v2 array of spans.
bool read_trace_line(std::string_view line, const SpanSink& sink, ReadCounters& counters);

// Every value of path; throws FatalError(kUsage) when the file cannot be opened.
void read_otlp_file(const std::string& path, const SpanSink& sink, ReadCounters& counters);

}  // namespace difftrace::analyze
