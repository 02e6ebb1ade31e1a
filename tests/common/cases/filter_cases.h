// Table-driven cases of the filter decision (include/filter_decision.h), run
// on the host (tests/unit) and through the loaded BPF test entry (tests/bpf).
#pragma once

#include <string>
#include <vector>

#include "filter_decision.h"

namespace difftrace::testing {

struct FilterCase {
  std::string name;
  dt_filter_input in;
  int decision;
  int reason;
};

const std::vector<FilterCase>& filter_cases();

}  // namespace difftrace::testing
