// service.name: the service the filter found for the span's process (pid, exe and port matches
// there are bound to one process), else a comm or port match of the span's own
// (config::ServiceMap).
#pragma once

#include "config/config.h"
#include "config/service_map.h"
#include "filter/service_registry.h"
#include "pipeline/span_enricher.h"

namespace difftrace::pipeline {

class ServiceNameEnricher : public SpanEnricher {
 public:
  ServiceNameEnricher(const filter::ServiceRegistry& services, const config::Config& config)
      : services_(services), names_(config) {}
  void enrich(capture::Span& span) const override;

 private:
  const filter::ServiceRegistry& services_;
  config::ServiceMap names_;
};

}  // namespace difftrace::pipeline
