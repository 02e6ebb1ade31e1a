// Decodes the trace context the kernel copied as header text
// (struct http_trace_ctx) into ids, validating it as W3C and B3 require.
#pragma once

#include <optional>

#include "capture/span.h"

namespace difftrace::capture {

struct TraceContext {
  TraceId trace_id{};
  SpanId parent_id{};
  bool sampled = false;
};

// kind is enum http_trace_ctx_kind; the texts are not NUL terminated.
// Returns nothing when the kind is none or the text is not valid (non-hex,
// all-zero ids, version ff).
std::optional<TraceContext> decode_trace_context(int kind, const char (&trace_id)[32],
                                                 const char (&parent_id)[16],
                                                 const char (&flags)[2]);

}  // namespace difftrace::capture
