// A kept span (struct dt_kept_span, from the keep-buffer) back as the span
// event it was, so that the one decoder turns it into a Span.
#pragma once

#include <cstdint>
#include <vector>

#include "capture.h"
#include "filter_maps.h"

namespace difftrace::filter {

dt_span_event event_of(const dt_kept_span& kept, const dt_trace_key& trace);

// The slots of a trace's keep-buffer entry that the filter wrote: the first
// min(count, keep_spans). It writes slot count % keep_spans (include/span_filter.h), so
// with keep.spans_per_trace below DT_KEEP_SPANS the slots above it stay zero forever.
std::vector<dt_kept_span> written_spans(const dt_kept_trace& kept, std::uint8_t keep_spans);

}  // namespace difftrace::filter
