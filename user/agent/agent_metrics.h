// The agent's /metrics page: the run's counters (the --stats-json snapshot) as Prometheus
// families named difftrace_*, with the exporters', the BPF programs', the config reloads'
// and the process's own. Per-service families have bounded cardinality (BoundedLabels).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "agent/config_reloader.h"
#include "metrics/bounded_labels.h"
#include "metrics/process_usage.h"

namespace difftrace::agent {

// Services with a series of their own; the rest are summed under service="other".
inline constexpr std::size_t kMaxServiceLabels = 64;

// snapshot: Session::snapshot(). services: the run's label bound, kept across scrapes.
std::string render_metrics(const nlohmann::json& snapshot, const ReloadStatus& reload,
                           const metrics::ProcessUsage& process, metrics::BoundedLabels& services);

}  // namespace difftrace::agent
