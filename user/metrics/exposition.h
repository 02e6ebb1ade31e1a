// The Prometheus text exposition format (version 0.0.4), written by hand: Debian has no
// prometheus-cpp, and what an agent exposes is a page of families. A family has one HELP and
// one TYPE line, then its samples; a counter's name ends in _total (added here, so a caller
// cannot forget it); label values and HELP text are escaped as the format says.
// https://prometheus.io/docs/instrumenting/exposition_formats/
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace difftrace::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

class Exposition {
 public:
  // Starts a family. Names must match [a-zA-Z_:][a-zA-Z0-9_:]* (std::invalid_argument
  // otherwise: a name is the program's, never input's). counter("x_spans") is family
  // x_spans_total; a second start of a family already written adds to it.
  void counter(const std::string& name, const std::string& help);
  void gauge(const std::string& name, const std::string& help);
  // A sample of the family started last. Label names are checked like family names (no
  // colon, no leading "__"); values may hold anything.
  void sample(double value, const Labels& labels = {});
  void sample(std::uint64_t value, const Labels& labels = {});

  // The page: families in the order they were started.
  std::string text() const;

 private:
  struct Family {
    std::string name, help, type;
    std::vector<std::string> samples;  // "{labels} value" after the name
  };
  void start(std::string name, const std::string& help, const char* type);
  void add(const std::string& value, const Labels& labels);

  std::vector<Family> families_;
  std::size_t current_ = 0;
};

// A label value or HELP text as the format wants it: \ as \\, newline as \n, and (label
// values only) " as \".
std::string escape_label_value(const std::string& v);
std::string escape_help(const std::string& v);
// A sample value: integers exactly, +Inf, -Inf, NaN, otherwise the shortest round trip.
std::string format_value(double v);

}  // namespace difftrace::metrics
