#include "config/duration.h"

#include <cmath>
#include <cstdlib>

namespace difftrace::config {

std::optional<std::uint64_t> parse_duration(const std::string& text) {
  const char* s = text.c_str();
  char* end = nullptr;
  if (text.empty() || text[0] == '-' || text[0] == '+' || std::isspace(static_cast<unsigned char>(text[0])))
    return std::nullopt;
  double v = std::strtod(s, &end);
  if (end == s || !std::isfinite(v) || v < 0) return std::nullopt;
  std::string unit(end);
  double scale;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us" || unit == "µs")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  else if (unit == "m")
    scale = 60e9;
  else
    return std::nullopt;
  double ns = v * scale;
  if (ns > 1.8e19) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(ns));
}

}  // namespace difftrace::config
