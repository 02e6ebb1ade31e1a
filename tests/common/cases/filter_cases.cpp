#include "common/cases/filter_cases.h"

namespace difftrace::testing {
namespace {

constexpr __u64 ms = 1'000'000;

// A platform span of 5 ms, 200, threshold 10 ms: normal. Cases change a field.
dt_filter_input normal() {
  dt_filter_input in{};
  in.duration_ns = 5 * ms;
  in.threshold_ns = 10 * ms;
  in.status = 200;
  in.role = DT_ROLE_PLATFORM;
  return in;
}

template <typename F>
dt_filter_input with(F change) {
  dt_filter_input in = normal();
  change(in);
  return in;
}

}  // namespace

const std::vector<FilterCase>& filter_cases() {
  static const std::vector<FilterCase> cases = {
      {"normal platform span is kept", normal(), DT_DECIDE_KEEP, DT_REASON_NONE},
      {"just at the threshold is still normal",
       with([](auto& i) { i.duration_ns = 10 * ms; }), DT_DECIDE_KEEP, DT_REASON_NONE},
      {"over the threshold is reported", with([](auto& i) { i.duration_ns = 10 * ms + 1; }),
       DT_DECIDE_REPORT, DT_REASON_LATENCY},
      {"no threshold yet: latency is not judged",
       with([](auto& i) { i.threshold_ns = 0; i.duration_ns = 900 * ms; }), DT_DECIDE_KEEP,
       DT_REASON_NONE},
      {"500 is reported", with([](auto& i) { i.status = 500; }), DT_DECIDE_REPORT,
       DT_REASON_STATUS},
      {"a status that could not be read (HTTP/2, HPACK entries from before) is reported",
       with([](auto& i) { i.status_unresolved = 1; }), DT_DECIDE_REPORT, DT_REASON_UNRESOLVED},
      {"... and a slow one as slow",
       with([](auto& i) { i.status_unresolved = 1; i.duration_ns = 20 * ms; }),
       DT_DECIDE_REPORT, DT_REASON_LATENCY},
      {"... a function's too, as unresolved",
       with([](auto& i) { i.status_unresolved = 1; i.role = DT_ROLE_FUNCTION; }),
       DT_DECIDE_REPORT, DT_REASON_UNRESOLVED},
      {"... and under --no-filter as no_filter",
       with([](auto& i) { i.status_unresolved = 1; i.no_filter = 1; }), DT_DECIDE_REPORT,
       DT_REASON_NO_FILTER},
      {"503 is reported", with([](auto& i) { i.status = 503; }), DT_DECIDE_REPORT,
       DT_REASON_STATUS},
      {"404 is normal by default", with([](auto& i) { i.status = 404; }), DT_DECIDE_KEEP,
       DT_REASON_NONE},
      {"404 is an error when 4xx are configured",
       with([](auto& i) { i.status = 404; i.errors_4xx = 1; }), DT_DECIDE_REPORT,
       DT_REASON_STATUS},
      {"closed without a response is a reset",
       with([](auto& i) { i.status = 0; i.closed_unanswered = 1; }), DT_DECIDE_REPORT,
       DT_REASON_RESET},
      {"no response past the timeout",
       with([](auto& i) { i.status = 0; i.timeout_ns = 30 * ms; i.duration_ns = 31 * ms; }),
       DT_DECIDE_REPORT, DT_REASON_TIMEOUT},
      {"a reset wins over latency and status",
       with([](auto& i) { i.status = 0; i.closed_unanswered = 1; i.duration_ns = 50 * ms; }),
       DT_DECIDE_REPORT, DT_REASON_RESET},
      {"status wins over latency",
       with([](auto& i) { i.status = 502; i.duration_ns = 50 * ms; }), DT_DECIDE_REPORT,
       DT_REASON_STATUS},
      {"a flagged trace reports a normal span",
       with([](auto& i) { i.trace_flagged = 1; }), DT_DECIDE_REPORT,
       DT_REASON_FLAGGED_TRACE},
      {"latency wins over a flagged trace",
       with([](auto& i) { i.trace_flagged = 1; i.duration_ns = 11 * ms; }), DT_DECIDE_REPORT,
       DT_REASON_LATENCY},
      {"a function's normal span is reported by role",
       with([](auto& i) { i.role = DT_ROLE_FUNCTION; }), DT_DECIDE_REPORT, DT_REASON_FUNCTION},
      {"a function set to be filtered is kept like the platform",
       with([](auto& i) { i.role = DT_ROLE_FUNCTION_FILTERED; }), DT_DECIDE_KEEP,
       DT_REASON_NONE},
      {"a filtered function's error is still reported",
       with([](auto& i) { i.role = DT_ROLE_FUNCTION_FILTERED; i.status = 500; }),
       DT_DECIDE_REPORT, DT_REASON_STATUS},
      {"--no-filter reports everything", with([](auto& i) { i.no_filter = 1; }),
       DT_DECIDE_REPORT, DT_REASON_NO_FILTER},
      {"--no-filter still names an anomaly",
       with([](auto& i) { i.no_filter = 1; i.status = 500; }), DT_DECIDE_REPORT,
       DT_REASON_STATUS},
      {"--no-filter names a flagged trace", with([](auto& i) { i.no_filter = 1; i.trace_flagged = 1; }),
       DT_DECIDE_REPORT, DT_REASON_FLAGGED_TRACE},
      {"an endpoint warming up is reported",
       with([](auto& i) { i.warming = 1; i.threshold_ns = 0; }), DT_DECIDE_REPORT,
       DT_REASON_WARMUP},
      {"a function warming up is reported by role",
       with([](auto& i) { i.warming = 1; i.role = DT_ROLE_FUNCTION; }), DT_DECIDE_REPORT,
       DT_REASON_FUNCTION},
      {"warming up does not hide an error",
       with([](auto& i) { i.warming = 1; i.status = 500; }), DT_DECIDE_REPORT,
       DT_REASON_STATUS},
  };
  return cases;
}

}  // namespace difftrace::testing
