// Decodes the trace context the kernel copied as header text
// (struct dt_trace_ctx) into ids, validating it as W3C and B3 require.
#pragma once

#include <optional>

#include "capture/span.h"

namespace difftrace::capture {

struct TraceContext {
  TraceId trace_id{};
  std::optional<SpanId> parent_id;  // none for DT_CTX_W3C_RESPONSE and DT_CTX_KERNEL
  bool sampled = false;
};

// kind is enum dt_trace_ctx_kind; the texts are not NUL terminated.
// Returns nothing when the kind is none or the text is not valid (non-hex,
// all-zero ids, version ff). DT_CTX_W3C_RESPONSE (the trace id a server's
// traceresponse named for a request that had none) has no parent.
std::optional<TraceContext> decode_trace_context(int kind, const char (&trace_id)[32],
                                                 const char (&parent_id)[16],
                                                 const char (&flags)[2]);

// A span id as 16 hex characters (traceresponse's); nothing when not valid.
std::optional<SpanId> decode_span_id(const char (&text)[16]);

}  // namespace difftrace::capture
