// Span events as the kernel fills them (http1_span_fill), for the unit tests that run the
// filter step on the host: one builder instead of a copy in each test file.
#pragma once

#include <cstdint>
#include <cstring>

#include "capture.h"
#include "protocols/http1/message.h"

namespace difftrace::testing {

// A finished SERVER span of comm at path, dur ns, with a W3C trace id when trace is given.
inline dt_span_event server_event(const char* comm, const char* path, std::uint64_t dur,
                                  int status = 200, const char* trace = nullptr,
                                  std::uint32_t pid = 100) {
  dt_span_event e{};
  e.start_ns = 1'000'000'000;
  e.end_ns = e.start_ns + dur;
  e.pid = pid;
  e.status = static_cast<__u16>(status);
  e.kind = DT_SPAN_SERVER;
  e.method = HTTP_METHOD_GET;
  e.path_len = static_cast<__u8>(std::strlen(path));
  std::memcpy(e.path, path, e.path_len);
  std::strncpy(e.comm, comm, sizeof e.comm - 1);
  e.decision = DT_DECIDE_REPORT;
  if (trace) {
    e.ctx_kind = DT_CTX_W3C;
    std::memcpy(e.trace_id, trace, 32);
    std::memcpy(e.parent_id, "00f067aa0ba902b7", 16);
    std::memcpy(e.trace_flags, "01", 2);
  }
  return e;
}

}  // namespace difftrace::testing
