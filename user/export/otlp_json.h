// OTLP JSON encoding of spans: an ExportTraceServiceRequest, resource spans
// grouped by process, as the OpenTelemetry Collector's file exporter writes.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "capture/span.h"

namespace difftrace::exporters {

nlohmann::json to_otlp_request(const std::vector<capture::Span>& spans,
                               const std::string& host_name);

}  // namespace difftrace::exporters
