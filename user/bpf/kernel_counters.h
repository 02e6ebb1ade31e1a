// The capture program's counters (enum dt_counter), summed over CPUs. Its own header so that
// code which only reports counters (stats, replay) does not pull in the loader and libbpf.
#pragma once

#include <array>
#include <cstdint>

#include "capture.h"

namespace difftrace::bpf {

using KernelCounters = std::array<std::uint64_t, DT_C_MAX>;

}  // namespace difftrace::bpf
