// The closing log line of a live run, the same for trace and agent.
#pragma once

#include "stats/run_stats.h"

namespace difftrace::cli {

void log_run_summary(const stats::RunStats& stats);

}  // namespace difftrace::cli
