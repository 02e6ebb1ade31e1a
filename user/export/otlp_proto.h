// OTLP protobuf encoding of spans (proto/otlp_trace.proto): the body of an
// OTLP/HTTP POST to /v1/traces. The same resources, attributes and status as
// the OTLP JSON writer (otlp_json.h), as an ExportTraceServiceRequest.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "capture/span.h"
#include "export/http_exporter.h"
#include "otlp_trace.pb.h"

namespace difftrace::exporters {

// One ResourceSpans per (process, service), as append_otlp_request.
void fill_otlp_request(otlp::ExportTraceServiceRequest& req,
                       const std::vector<capture::Span>& spans, const std::string& host_name);

// The serialized request.
std::string encode_otlp_request(const std::vector<capture::Span>& spans,
                                const std::string& host_name);

// The spans an ExportTraceServiceResponse's partial_success says were
// refused; 0 for an empty body or one that does not parse.
std::uint64_t otlp_rejected_spans(const std::string& response_body);

// otlp-http:URL: application/x-protobuf bodies for HttpExporter.
HttpEncoding otlp_http_encoding(const std::string& host_name);

}  // namespace difftrace::exporters
