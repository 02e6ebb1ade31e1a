// Names a span's service from the config: the first service whose match
// fits the span's process (comm, pid, exe) or, for a SERVER span, the port it
// answered on; otherwise the process's comm.
#pragma once

#include <string>
#include <unordered_map>

#include "capture/span.h"
#include "config/config.h"
#include "targets/target_set.h"

namespace difftrace::config {

class ServiceMap {
 public:
  explicit ServiceMap(const Config& config) : config_(config) {}
  // The service's name, or nullptr when no service matches.
  const Service* find(const capture::Span& span);
  void name(capture::Span& span) {
    if (const Service* s = find(span)) span.service_name = s->name;
  }

 private:
  const std::string& exe_of(std::uint32_t pid);

  const Config& config_;
  std::unordered_map<std::uint32_t, std::string> exes_;  // bounded below
};

// The processes a config's matches select (comm, pid, cgroup), for when the
// command line names no target.
targets::TargetSet targets_of(const Config& config);

}  // namespace difftrace::config
