// A pipeline stage that adds to a span what the kernel could not know: its service's name now,
// Kubernetes metadata later. The pipeline runs its enrichers in order on every span it gets,
// reported or pulled back from the keep-buffer, before the assembler sees it.
#pragma once

#include "capture/span.h"
#include "stats/run_stats.h"

namespace difftrace::pipeline {

class SpanEnricher {
 public:
  virtual ~SpanEnricher() = default;
  virtual void enrich(capture::Span& span) const = 0;
  // Its own counters into the run's (spans it could not name, say); most have none.
  virtual void fill_stats(stats::RunStats&) const {}
};

}  // namespace difftrace::pipeline
