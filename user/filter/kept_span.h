// A kept span (struct dt_kept_span, from the keep-buffer) back as the span
// event it was, so that the one decoder turns it into a Span.
#pragma once

#include "capture.h"
#include "filter_maps.h"

namespace difftrace::filter {

dt_span_event event_of(const dt_kept_span& kept, const dt_trace_key& trace);

}  // namespace difftrace::filter
