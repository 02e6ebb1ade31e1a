// The capture program's counters (enum dt_counter), summed over CPUs. Its own header so that
// code which only reports counters (stats, replay) does not pull in the loader and libbpf.
#pragma once

#include <array>
#include <cstdint>

#include "capture.h"

namespace difftrace::bpf {

using KernelCounters = std::array<std::uint64_t, DT_C_MAX>;

// Spans the filter reported for this enum dt_reason.
inline std::uint64_t reported_by(const KernelCounters& k, int reason) {
  return k[static_cast<std::size_t>(DT_C_REASON_FIRST) + static_cast<std::size_t>(reason)];
}
inline std::uint64_t anomalies_reported(const KernelCounters& k) {
  return reported_by(k, DT_REASON_LATENCY) + reported_by(k, DT_REASON_STATUS) +
         reported_by(k, DT_REASON_RESET) + reported_by(k, DT_REASON_TIMEOUT);
}

}  // namespace difftrace::bpf
