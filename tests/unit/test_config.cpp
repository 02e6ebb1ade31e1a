// The --config YAML: the design brief's example parses to the right values;
// every kind of bad input is refused with the file, line and reason.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "config/duration.h"

using namespace difftrace::config;

TEST_CASE("durations need a unit and are never negative", "[config]") {
  CHECK(parse_duration("250us") == 250'000u);
  CHECK(parse_duration("2ms") == 2'000'000u);
  CHECK(parse_duration("1.5s") == 1'500'000'000u);
  CHECK(parse_duration("100ns") == 100u);
  CHECK(parse_duration("1m") == 60'000'000'000u);
  CHECK(parse_duration("0ms") == 0u);
  for (const char* bad : {"", "50", "-2ms", "+2ms", "2 ms", "ms", "2h", "2msx", "nan", "inf s", " 2ms"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("the design brief's config parses", "[config]") {
  auto c = parse_config(R"(
services:
  - name: activator
    match: {comm: activator}
    role: platform
    latency: {adaptive: {quantile: 0.99, factor: 1.5}, floor: 2ms}
    endpoints: {"GET /healthz": {latency: 50ms}, "POST /users/{n}/orders/17": {latency: 1s}}
  - name: fn-work
    match: {comm: [fn-work, fn-work2], listen_port: 9002}
    role: function
    latency: 200ms
    timeout: 3s
    errors_4xx: true
default_role: platform
profiler: {interval: 5s, min_samples: 50, window: 30s}
keep: {traces: 65536, spans_per_trace: 4}
assembler: {wait: 500ms, max_traces: 1000, max_spans: 5000}
export: [console, {otlp-json: /tmp/spans.json}]
query_values: keep
)",
                        "cfg.yaml");
  REQUIRE(c.services.size() == 2);
  const auto& a = c.services[0];
  CHECK(a.name == "activator");
  CHECK(a.match.comms == std::vector<std::string>{"activator"});
  CHECK(a.role == Role::kPlatform);
  REQUIRE(a.latency.quantile);
  CHECK(*a.latency.quantile == Approx(0.99));
  CHECK(a.latency.factor == Approx(1.5));
  CHECK(a.latency.floor_ns == 2'000'000u);
  CHECK_FALSE(a.latency.static_ns);
  REQUIRE(a.endpoints.size() == 2);
  CHECK(a.endpoints[0].method == "GET");
  CHECK(a.endpoints[0].path_template == "/healthz");
  CHECK(a.endpoints[0].latency.static_ns == 50'000'000u);
  CHECK(a.endpoints[1].method == "POST");
  CHECK(a.endpoints[1].path_template == "/users/{n}/orders/{n}");
  const auto& f = c.services[1];
  CHECK(f.role == Role::kFunction);
  CHECK(f.match.comms.size() == 2);
  CHECK(f.match.listen_ports == std::vector<std::uint16_t>{9002});
  CHECK(f.latency.static_ns == 200'000'000u);
  CHECK(f.errors_4xx);
  CHECK(c.profiler.interval_ns == 5'000'000'000u);
  CHECK(c.profiler.window_ns == 30'000'000'000u);
  CHECK(c.profiler.min_samples == 50u);
  CHECK(c.keep.traces == 65536u);
  CHECK(c.keep.spans_per_trace == 4u);
  CHECK(f.timeout_ns == 3'000'000'000u);
  CHECK(c.default_role == Role::kPlatform);
  CHECK(c.assembler.wait_ns == 500'000'000u);
  CHECK(c.assembler.max_traces == 1000u);
  CHECK(c.assembler.max_spans == 5000u);
  CHECK(c.exports == std::vector<std::string>{"console", "otlp-json:/tmp/spans.json"});
  CHECK(c.keep_query_values);
}

TEST_CASE("an empty file means all defaults", "[config]") {
  auto c = parse_config("", "empty.yaml");
  CHECK(c.services.empty());
  CHECK(c.keep.spans_per_trace == 8u);
  CHECK(c.default_role == Role::kFunction);
  CHECK_FALSE(c.keep_query_values);  // url.query values redacted
}

TEST_CASE("the median rule can be named explicitly; its floor is the default's unless given",
          "[config]") {
  auto c = parse_config(R"(
services:
  - name: a
    match: {comm: a}
    latency: {adaptive: {times_median: 5}}
  - name: b
    match: {comm: b}
    latency: {adaptive: {times_median: 8}, floor: 1ms}
    endpoints: {"GET /x": {latency: {adaptive: {quantile: 0.95, factor: 3}}}}
)",
                        "cfg.yaml");
  REQUIRE(c.services.size() == 2);
  const auto& a = c.services[0].latency;
  REQUIRE(a.times_median);
  CHECK(*a.times_median == Approx(kDefaultTimesMedian));
  CHECK(a.floor_ns == kDefaultFloorNs);
  CHECK_FALSE(a.quantile);
  CHECK(a.adaptive());
  const auto& b = c.services[1].latency;
  CHECK(*b.times_median == Approx(8));
  CHECK(b.floor_ns == 1'000'000u);
  // A quantile rule is as it was: no floor unless given.
  const auto& e = c.services[1].endpoints[0].latency;
  CHECK_FALSE(e.times_median);
  CHECK(*e.quantile == Approx(0.95));
  CHECK(e.factor == Approx(3));
  CHECK(e.floor_ns == 0u);
}

TEST_CASE("bad configs are refused with file, line and reason", "[config]") {
  struct Row {
    const char* yaml;
    const char* where;  // "cfg.yaml:LINE"
    const char* why;    // a part of the message
  };
  const Row rows[] = {
      {"servics: []\n", "cfg.yaml:1", "unknown key 'servics'"},
      {"services:\n  - name: a\n    match: {comm: a}\n    colour: red\n", "cfg.yaml:4",
       "unknown key 'colour' in services[0]"},
      {"services:\n  - name: a\n    match: {comm: a}\n    latency: -5ms\n", "cfg.yaml:4",
       "'-5ms' is not a duration"},
      {"services:\n  - name: a\n    match: {comm: a}\n    latency: fast\n", "cfg.yaml:4",
       "'fast' is not a duration"},
      {"services:\n  - name: a\n    match: {comm: a}\n    latency: 50\n", "cfg.yaml:4",
       "not a duration"},
      {"services:\n  - name: a\n    match: {comm: a}\n    endpoints: {\"/healthz\": {latency: 1s}}\n",
       "cfg.yaml:4", "must be 'METHOD /path'"},
      {"services:\n  - name: a\n    match: {comm: a}\n    endpoints: {\"FETCH /x\": {latency: 1s}}\n",
       "cfg.yaml:4", "unknown method 'FETCH'"},
      {"services:\n  - name: a\n    match: {comm: a}\n    endpoints: {\"GET x?y\": {latency: 1s}}\n",
       "cfg.yaml:4", "must start with '/'"},
      {"services:\n  - name: a\n    match: {comm: a}\n    endpoints: {\"GET /u/{user}\": {latency: 1s}}\n",
       "cfg.yaml:4", "only {n} and {id}"},
      {"services:\n  - name: a\n    match: {comm: a}\n    role: gateway\n", "cfg.yaml:4",
       "platform, function or function-filtered"},
      {"services:\n  - name: a\n    match: {comm: a}\n    latency: {adaptive: {quantile: 1.5}}\n",
       "cfg.yaml:4", "quantile must be a number"},
      {"services:\n  - name: a\n    match: {comm: a}\n    latency: {static: 1s, adaptive: {quantile: 0.9}}\n",
       "cfg.yaml:4", "either static or adaptive"},
      {"services:\n  - name: a\n    match: {comm: a}\n    latency: {adaptive: {times_median: 5, quantile: 0.9}}\n",
       "cfg.yaml:4", "either times_median or quantile"},
      {"services:\n  - name: a\n    match: {comm: a}\n    latency: {adaptive: {times_median: 1}}\n",
       "cfg.yaml:4", "times_median must be a number"},
      {"services:\n  - name: a\n    match: {comm: a}\n    latency: {adaptive: {factor: 2}}\n",
       "cfg.yaml:4", "needs a quantile or times_median"},
      {"services:\n  - name: a\n    match: {comm: a}\n    latency: {static: 1s, adaptive: {times_median: 5}}\n",
       "cfg.yaml:4", "either static or adaptive"},
      {"services:\n  - name: a\n    match: {comm: a}\n  - name: a\n    match: {comm: b}\n",
       "cfg.yaml:4", "defined twice"},
      {"services:\n  - name: a\n    match: {}\n", "cfg.yaml:3", "matches nothing"},
      {"services:\n  - name: a\n    match: {comm: this-name-is-far-too-long}\n", "cfg.yaml:3",
       "1 to 15 characters"},
      {"services:\n  - match: {comm: a}\n", "cfg.yaml:2", "needs a name"},
      {"keep: {traces: 0}\n", "cfg.yaml:1", "keep.traces must be a whole number"},
      {"profiler: {interval: 0s}\n", "cfg.yaml:1", "more than 0"},
      {"keep: {spans_per_trace: 16}\n", "cfg.yaml:1", "from 1 to 8"},
      {"default_role: gateway\n", "cfg.yaml:1", "platform, function or function-filtered"},
      {"\nquery_values: hide\n", "cfg.yaml:2", "query_values 'hide': redact (the default) or keep"},
      {"assembler: {wait: -1s}\n", "cfg.yaml:1", "assembler.wait"},
      {"services:\n  - name: a\n    match: {comm: a}\n    timeout: soon\n", "cfg.yaml:4",
       "timeout"},
      {"services: [\n  {name: a\n", "cfg.yaml:", ""},  // malformed YAML
  };
  for (const auto& row : rows) {
    INFO(row.yaml);
    try {
      parse_config(row.yaml, "cfg.yaml");
      FAIL("accepted");
    } catch (const ConfigError& e) {
      std::string msg = e.what();
      INFO(msg);
      CHECK(msg.rfind(row.where, 0) == 0);
      CHECK(msg.find(row.why) != std::string::npos);
    }
  }
}

TEST_CASE("a config file that cannot be read says so", "[config]") {
  CHECK_THROWS_WITH(load_config("/nonexistent/difftrace.yaml"),
                    Catch::Contains("/nonexistent/difftrace.yaml: cannot be read"));
}
