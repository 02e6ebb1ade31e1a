// The Prometheus text format writer (user/metrics/exposition.h) and the label bound
// (user/metrics/bounded_labels.h).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "metrics/bounded_labels.h"
#include "metrics/exposition.h"

using namespace difftrace::metrics;

TEST_CASE("issue18: a family is HELP, TYPE, then its samples; a counter's name ends in _total",
          "[metrics][issue18]") {
  Exposition e;
  e.counter("difftrace_spans_seen", "Spans the kernel closed");
  e.sample(std::uint64_t{42});
  e.gauge("difftrace_queue", "Spans waiting");
  e.sample(std::uint64_t{3}, {{"exporter", "otlp-http"}});
  e.sample(std::uint64_t{0}, {{"exporter", "zipkin"}});
  e.counter("difftrace_retries_total", "Already named _total");  // not doubled
  e.sample(1.5);
  CHECK(e.text() ==
        "# HELP difftrace_spans_seen_total Spans the kernel closed\n"
        "# TYPE difftrace_spans_seen_total counter\n"
        "difftrace_spans_seen_total 42\n"
        "# HELP difftrace_queue Spans waiting\n"
        "# TYPE difftrace_queue gauge\n"
        "difftrace_queue{exporter=\"otlp-http\"} 3\n"
        "difftrace_queue{exporter=\"zipkin\"} 0\n"
        "# HELP difftrace_retries_total Already named _total\n"
        "# TYPE difftrace_retries_total counter\n"
        "difftrace_retries_total 1.5\n");
}

TEST_CASE("issue18: a family started again gathers its samples under one HELP and TYPE",
          "[metrics][issue18]") {
  Exposition e;
  e.counter("a", "first");
  e.sample(std::uint64_t{1}, {{"k", "x"}});
  e.gauge("b", "other");
  e.sample(std::uint64_t{2});
  e.counter("a", "first");
  e.sample(std::uint64_t{3}, {{"k", "y"}});
  CHECK(e.text() ==
        "# HELP a_total first\n# TYPE a_total counter\na_total{k=\"x\"} 1\na_total{k=\"y\"} 3\n"
        "# HELP b other\n# TYPE b gauge\nb 2\n");
  CHECK_THROWS_AS(e.gauge("a_total", "same name, other type"), std::invalid_argument);
}

TEST_CASE("issue18: label values escape backslash, quote and newline; HELP escapes backslash "
          "and newline only",
          "[metrics][issue18]") {
  CHECK(escape_label_value(R"(C:\dir "x")" "\nnext") == R"(C:\\dir \"x\"\nnext)");
  CHECK(escape_help("a \\ \"b\"\nc") == "a \\\\ \"b\"\\nc");
  Exposition e;
  e.gauge("g", "line one\nline two");
  e.sample(std::uint64_t{1}, {{"path", "/a\"b\\c\n"}, {"service", "ünïcode"}});
  CHECK(e.text() ==
        "# HELP g line one\\nline two\n# TYPE g gauge\n"
        "g{path=\"/a\\\"b\\\\c\\n\",service=\"ünïcode\"} 1\n");
}

TEST_CASE("issue18: names outside the format are refused, values are written exactly",
          "[metrics][issue18]") {
  Exposition e;
  CHECK_THROWS_AS(e.counter("9lives", ""), std::invalid_argument);
  CHECK_THROWS_AS(e.gauge("has-dash", ""), std::invalid_argument);
  CHECK_THROWS_AS(e.gauge("", ""), std::invalid_argument);
  CHECK_THROWS_AS(e.sample(1.0), std::logic_error);  // no family yet
  e.gauge("ns:ok_1", "colons are allowed in metric names");
  CHECK_THROWS_AS(e.sample(1.0, {{"a:b", "v"}}), std::invalid_argument);
  CHECK_THROWS_AS(e.sample(1.0, {{"__reserved", "v"}}), std::invalid_argument);
  CHECK_THROWS_AS(e.sample(1.0, {{"1st", "v"}}), std::invalid_argument);
  e.sample(std::uint64_t{18446744073709551615ull});
  CHECK(e.text().find("ns:ok_1 18446744073709551615\n") != std::string::npos);
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::nan("")) == "NaN");
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(3.0) == "3");
  CHECK(format_value(1e21) == "1e+21");
}

TEST_CASE("issue18: bounded labels keep the first values seen, the rest go to other, and a "
          "value never changes series",
          "[metrics][issue18]") {
  BoundedLabels bound(2);
  auto first = bound.fold({{"b", 5}, {"a", 1}});
  CHECK(first == std::map<std::string, std::uint64_t>{{"a", 1}, {"b", 5}});
  auto second = bound.fold({{"a", 2}, {"b", 6}, {"c", 7}, {"d", 1}});
  CHECK(second == std::map<std::string, std::uint64_t>{{"a", 2}, {"b", 6}, {"other", 8}});
  // A value once in "other" stays there, though an admitted one is gone.
  auto third = bound.fold({{"b", 6}, {"c", 9}});
  CHECK(third == std::map<std::string, std::uint64_t>{{"b", 6}, {"other", 9}});
}
