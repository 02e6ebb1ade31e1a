#include "agent/readiness.h"

namespace difftrace::agent {

Readiness readiness(const nlohmann::json& snapshot, const ReloadStatus& reload) {
  if (snapshot.value("probes_attached", std::uint64_t{0}) == 0)
    return {false, "no probe attached (the capture has not started, or has stopped)"};
  if (!reload.last_error.empty())
    return {false, "config refused, the previous config stays in force: " + reload.last_error};
  if (const auto it = snapshot.find("exporters"); it != snapshot.end())
    for (const auto& [kind, e] : it->items())
      if (e.value("in_use", false) && !e.value("failure", std::string()).empty())
        return {false, "exporter failing: " + e.value("failure", std::string())};
  return {true, ""};
}

}  // namespace difftrace::agent
