// /readyz: the agent is ready when its probes are attached, the config on disk is the one in
// force (the last reload was not refused), and no exporter is failing; otherwise the first
// reason it is not, for a 503's body.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "agent/config_reloader.h"

namespace difftrace::agent {

struct Readiness {
  bool ready = false;
  std::string reason;  // empty when ready
};

// snapshot: Session::snapshot() ("probes_attached", "exporters").
Readiness readiness(const nlohmann::json& snapshot, const ReloadStatus& reload);

}  // namespace difftrace::agent
