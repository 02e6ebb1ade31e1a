#include "cli/run_summary.h"

#include <spdlog/spdlog.h>

#include "bpf/kernel_counters.h"

namespace difftrace::cli {

void log_run_summary(const stats::RunStats& stats) {
  const auto& k = stats.kernel();
  spdlog::info(
      "done: {} spans seen, {} reported ({} anomalous), {} kept, {} lost in the ring buffer "
      "({} anomalies); {} traces exported, {} spans recovered exact, {} estimated; {} spans "
      "exported",
      k[DT_C_SPANS_SEEN], k[DT_C_SPANS_REPORTED], bpf::anomalies_reported(k), k[DT_C_SPANS_KEPT],
      k[DT_C_RINGBUF_LOST], k[DT_C_ANOMALIES_LOST], stats.user_counter("traces_exported"),
      stats.user_counter("spans_recovered_exact"), stats.user_counter("spans_estimated"),
      stats.user_counter("spans_exported"));
}

}  // namespace difftrace::cli
