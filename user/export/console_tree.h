// console:tree: a batch of spans as one indented tree per trace. Children
// hang under their parent_span_id; a span whose parent is not in the batch
// is a root (with the parent's id shown). Each line has the span's duration,
// status, and the filter's verdict: "!!" anomalous (with reason and
// threshold), "~" estimated durations, "kept" and "reported" spans marked.
#pragma once

#include <string>
#include <vector>

#include "capture/span.h"

namespace difftrace::exporters {

// Traces in order of their first span's start, siblings by start time.
std::string render_trace_trees(const std::vector<capture::Span>& spans);

}  // namespace difftrace::exporters
