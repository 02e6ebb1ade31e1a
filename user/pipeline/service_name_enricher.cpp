#include "pipeline/service_name_enricher.h"

namespace difftrace::pipeline {

void ServiceNameEnricher::enrich(capture::Span& s) const {
  const config::Service* svc = s.service_id ? services_.service(s.service_id) : nullptr;
  if (!svc) svc = names_.find(s);
  if (svc) s.service_name = svc->name;
}

}  // namespace difftrace::pipeline
