// Reads Zipkin v2 JSON (the body of POST /api/v2/spans, the answer of GET
// /api/v2/trace/{id}: an array of spans, on one line or many) into analyze's
// spans: localEndpoint.serviceName is the service, timestamp and duration
// (microseconds) the times, the difftrace.decision and difftrace.reason tags
// what our exporters write.
#pragma once

#include <string_view>
#include <vector>

#include "analyze/span.h"

namespace difftrace::analyze {

// Appends the spans of one array; false (spans appended so far left for the caller to drop)
// when the text is not a JSON array of objects.
bool read_zipkin_array(std::string_view text, std::vector<Span>& out);

}  // namespace difftrace::analyze
