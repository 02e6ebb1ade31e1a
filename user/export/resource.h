// The OpenTelemetry resource a span belongs to: one per (process, service).
// Shared by the exporters that group spans by resource (OTLP JSON, OTLP
// protobuf) and those that put the resource in each span (Zipkin).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "capture/span.h"

namespace difftrace::exporters {

// Indices of spans, ordered so that the spans of one resource are adjacent
// and otherwise in their original order.
std::vector<std::size_t> resource_order(const std::vector<capture::Span>& spans);

// A span's resource attributes besides service.name, process.pid and host.name (empty when
// it has none).
const capture::ResourceAttributes& extra_resource(const capture::Span& s);

inline bool same_resource(const capture::Span& a, const capture::Span& b) {
  return a.pid == b.pid && a.service_name == b.service_name &&
         (a.resource == b.resource || extra_resource(a) == extra_resource(b));
}

// gethostname(), the resource's host.name.
std::string local_host_name();

}  // namespace difftrace::exporters
