// A map from trace id to V for the assembler's traces (waiting, and sent ones remembered)
// and CausalJoin's tables keyed by trace id: a FlatMap (flat_map.h) on 16-byte trace ids.
#pragma once

#include <cstdint>
#include <cstring>

#include "assembler/flat_map.h"
#include "capture/span.h"

namespace difftrace::assembler {

// Two trace ids alike: two 8-byte compares (std::array's == is a memcmp call, a few per span
// in the assembler's maps).
inline bool same_trace_id(const capture::TraceId& a, const capture::TraceId& b) noexcept {
  std::uint64_t a0, a1, b0, b1;
  std::memcpy(&a0, a.data(), 8);
  std::memcpy(&a1, a.data() + 8, 8);
  std::memcpy(&b0, b.data(), 8);
  std::memcpy(&b1, b.data() + 8, 8);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

struct SameTraceId {
  bool operator()(const capture::TraceId& a, const capture::TraceId& b) const noexcept {
    return same_trace_id(a, b);
  }
};

template <typename V>
using TraceMap = FlatMap<capture::TraceId, V, capture::TraceIdHash, SameTraceId>;

}  // namespace difftrace::assembler
