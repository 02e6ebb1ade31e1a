// The filter's decision rule (include/filter_decision.h) on the host.
#include <catch2/catch.hpp>

#include "common/cases/filter_cases.h"

using namespace difftrace::testing;

TEST_CASE("every filter case gives its decision and reason on the host", "[filter]") {
  for (const auto& c : filter_cases()) {
    INFO(c.name);
    auto r = dt_filter_decide(&c.in);
    CHECK(int(r.decision) == c.decision);
    CHECK(int(r.reason) == c.reason);
  }
}

TEST_CASE("only anomalies flag a trace", "[filter]") {
  CHECK(dt_reason_is_anomaly(DT_REASON_LATENCY));
  CHECK(dt_reason_is_anomaly(DT_REASON_STATUS));
  CHECK(dt_reason_is_anomaly(DT_REASON_RESET));
  CHECK(dt_reason_is_anomaly(DT_REASON_TIMEOUT));
  CHECK_FALSE(dt_reason_is_anomaly(DT_REASON_FUNCTION));
  CHECK_FALSE(dt_reason_is_anomaly(DT_REASON_FLAGGED_TRACE));
  CHECK_FALSE(dt_reason_is_anomaly(DT_REASON_NO_FILTER));
  CHECK_FALSE(dt_reason_is_anomaly(DT_REASON_NONE));
}
