// Spans and traces for the assembler and estimator tests: one builder instead of a copy in
// each test file. Times are whole ms unless a test sets them itself.
#pragma once

#include <cstdint>
#include <vector>

#include "capture/span.h"

namespace difftrace::testing {

using capture::Span;
using capture::SpanKind;

inline constexpr std::uint64_t ms = 1'000'000;

inline capture::TraceId trace(std::uint8_t n) {
  capture::TraceId t{};
  t[0] = n;
  t[15] = 1;
  return t;
}

// Ids that differ in their last 8 bytes only, as a generator's do (the id tables' worst case).
inline capture::TraceId close_trace_id(std::uint64_t n) {
  capture::TraceId id{};
  id.fill(0x4b);
  for (int i = 0; i < 8; i++) id[15 - i] = static_cast<std::uint8_t>(n >> (8 * i));
  return id;
}

inline capture::SpanId next_id() {
  static std::uint64_t n = 1;
  capture::SpanId id{};
  std::uint64_t v = n++;
  for (int i = 0; i < 8; i++) id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  return id;
}

// A span of service at [start, end) ms; ports make the connection pairs (client local port
// = server peer port).
inline Span span(std::uint8_t tr, const char* service, SpanKind kind, std::uint64_t start,
          std::uint64_t end, std::uint16_t local_port, std::uint16_t peer_port,
          std::uint32_t pid, const char* decision = "reported") {
  Span s;
  s.trace_id = trace(tr);
  s.trace_from_header = true;
  s.span_id = next_id();
  s.kind = kind;
  s.method = "GET";
  s.path = "/fn/1";
  s.status = 200;
  s.start_unix_ns = start * ms;
  s.end_unix_ns = end * ms;
  s.pid = pid;
  s.service_name = service;
  s.local = {"127.0.0.1", local_port};
  s.peer = {"127.0.0.1", peer_port};
  s.decision = capture::Label::of_static(decision);  // callers pass literals
  s.threshold_ns = 1;  // judged
  return s;
}

// ingress SERVER -> ingress CLIENT -> gw SERVER -> gw CLIENT -> fn SERVER
inline std::vector<Span> chain(std::uint8_t tr, std::uint64_t t0, const char* decision = "full") {
  return {span(tr, "ingress", SpanKind::kServer, t0, t0 + 50, 80, 40000, 1, decision),
          span(tr, "ingress", SpanKind::kClient, t0 + 1, t0 + 49, 41000, 81, 1, decision),
          span(tr, "gw", SpanKind::kServer, t0 + 2, t0 + 48, 81, 41000, 2, decision),
          span(tr, "gw", SpanKind::kClient, t0 + 3, t0 + 47, 42000, 82, 2, decision),
          span(tr, "fn", SpanKind::kServer, t0 + 4, t0 + 46, 82, 42000, 3, decision)};
}

}  // namespace difftrace::testing
