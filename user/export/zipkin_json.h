// Zipkin v2 JSON encoding of spans: the body of a POST to /api/v2/spans, a
// JSON array of spans (zipkin2 API, "Span" in zipkin-api.yaml). The resource
// becomes localEndpoint.serviceName and the process.pid / host.name tags;
// Zipkin's own HTTP tags (http.method, http.path, http.status_code, error)
// stand beside the OpenTelemetry attributes the OTLP exporters send.
#pragma once

#include <fmt/format.h>

#include <string>
#include <vector>

#include "capture/span.h"
#include "export/http_exporter.h"

namespace difftrace::exporters {

// Appends the JSON array of spans to out.
void append_zipkin_spans(fmt::memory_buffer& out, const std::vector<capture::Span>& spans,
                         const std::string& host_name);

// zipkin:URL: application/json bodies for HttpExporter.
HttpEncoding zipkin_encoding(const std::string& host_name);

}  // namespace difftrace::exporters
