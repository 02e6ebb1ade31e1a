// Hand-built spans for the analyze tests: times in milliseconds from a base.
#pragma once

#include <string>

#include "analyze/span.h"

namespace difftrace::testing {

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kBase = 1'700'000'000'000'000'000ull;

inline analyze::Span aspan(const std::string& trace, const std::string& id,
                           const std::string& parent, const std::string& service,
                           analyze::Kind kind, double start_ms, double end_ms,
                           const std::string& name = "GET /") {
  analyze::Span s;
  s.trace_id = trace;
  s.span_id = id;
  s.parent_id = parent;
  s.service = service;
  s.name = name;
  s.kind = kind;
  s.start_ns = kBase + static_cast<std::uint64_t>(start_ms * 1e6);
  s.end_ns = kBase + static_cast<std::uint64_t>(end_ms * 1e6);
  return s;
}

}  // namespace difftrace::testing
