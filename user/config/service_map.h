// Names a span's service from what the span itself shows: the first service
// whose comm match fits its process or, for a SERVER span, whose listen_port
// match fits the port it answered on. Pid and exe matches are the filter's
// (filter::ServiceRegistry binds them to one process, by its start time): a
// pid seen here may belong to another process by now.
#pragma once

#include <string>

#include "capture/span.h"
#include "config/config.h"
#include "targets/target_set.h"

namespace difftrace::config {

class ServiceMap {
 public:
  explicit ServiceMap(const Config& config) : config_(config) {}
  // The service, or nullptr when no service matches.
  const Service* find(const capture::Span& span) const;

 private:
  const Config& config_;
};

// The processes a config's matches select (comm, pid, cgroup), for when the
// command line names no target; every process when a service has a k8s match (pods come and
// go). changeable (the agent, whose config is reloaded): marked so, and none is no error.
// Throws FatalError(kUsage) on what targets::resolve refuses.
targets::TargetSet targets_of(const Config& config, bool changeable = false);

}  // namespace difftrace::config
