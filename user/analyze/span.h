// A span as `difftrace analyze` reads it back from an export: only what the
// critical path, the breakdown and the aggregates need.
#pragma once

#include <cstdint>
#include <string>

#include "analyze/id_string.h"

namespace difftrace::analyze {

enum class Kind { kServer, kClient, kOther };

struct Span {
  IdString trace_id;   // lowercase hex, as exported
  IdString span_id;
  IdString parent_id;  // empty: none
  std::string service;    // resource service.name
  std::string name;       // "{method} {url.template}"
  Kind kind = Kind::kOther;
  std::uint64_t start_ns = 0;
  std::uint64_t end_ns = 0;
  bool estimated = false;  // difftrace.decision = estimated: a hop filled from medians
  bool anomalous = false;  // difftrace.decision = anomalous
  std::string reason;      // difftrace.reason (latency, status, reset, timeout, ...)
};

}  // namespace difftrace::analyze
