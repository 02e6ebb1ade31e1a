#include "config/service_map.h"

#include <algorithm>

namespace difftrace::config {

const Service* ServiceMap::find(const capture::Span& span) const {
  auto has = [](const auto& list, const auto& v) {
    return std::find(list.begin(), list.end(), v) != list.end();
  };
  for (const auto& s : config_.services) {
    const Match& m = s.match;
    if (has(m.comms, span.comm) ||
        (span.kind == capture::SpanKind::kServer && has(m.listen_ports, span.local.port)))
      return &s;
  }
  return nullptr;
}

targets::TargetSet targets_of(const Config& config, bool changeable) {
  std::vector<pid_t> pids;
  std::vector<std::string> comms;
  std::vector<std::string> cgroups;
  bool k8s = false;
  for (const auto& s : config.services) {
    k8s |= s.match.k8s.has_value();
    pids.insert(pids.end(), s.match.pids.begin(), s.match.pids.end());
    comms.insert(comms.end(), s.match.comms.begin(), s.match.comms.end());
    cgroups.insert(cgroups.end(), s.match.cgroups.begin(), s.match.cgroups.end());
  }
  if (changeable && !k8s && pids.empty() && comms.empty() && cgroups.empty()) {
    targets::TargetSet none;  // nothing yet: a reloaded config may name some
    none.changeable = true;
    return none;
  }
  // Pods come and go while the program runs, with processes of their own: every process is
  // traced, and the services (names, roles, thresholds) follow the pods.
  targets::TargetSet t = targets::resolve(pids, comms, cgroups, k8s);
  t.changeable = changeable;
  return t;
}

}  // namespace difftrace::config
