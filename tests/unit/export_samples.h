// Spans for the exporter tests, with every field set.
#pragma once

#include <string>

#include "capture/span.h"

namespace difftrace::testing {

inline capture::Span sample_span(std::uint32_t pid, const std::string& service,
                                 const std::string& path, int status,
                                 capture::SpanKind kind = capture::SpanKind::kServer) {
  capture::Span s;
  s.trace_id.fill(0xab);
  s.span_id.fill(0x01);
  s.kind = kind;
  s.method = "GET";
  s.path = path;
  s.status = status;
  s.start_unix_ns = 1'700'000'000'000'000'000ull;
  s.end_unix_ns = s.start_unix_ns + 1'234'567;
  s.pid = pid;
  s.tid = pid + 1;
  s.service_name = service;
  s.local = {"127.0.0.1", 8080};
  s.peer = {"127.0.0.1", 40000};
  s.request_bytes = 77;
  s.response_bytes = 99;
  return s;
}

}  // namespace difftrace::testing
