// The analysis as JSON (the contract of issue 19: traces[], routes[], plus a
// summary) streamed trace by trace, or as a text table for the terminal (per
// route, then the worst traces with their critical path).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "analyze/analyzer.h"

namespace difftrace::analyze {

nlohmann::json trace_json(const TraceResult& t);
nlohmann::json route_json(const RouteResult& r);
nlohmann::json summary_json(const AnalyzeSummary& s);

// {"traces": [...], "routes": [...], "summary": {...}}, each trace written as it comes.
class JsonReport {
 public:
  explicit JsonReport(std::FILE* out) : out_(out) {}
  void begin();
  void trace(const TraceResult& t);
  void end(const std::vector<RouteResult>& routes, const AnalyzeSummary& summary);

 private:
  std::FILE* out_;
  bool first_ = true;
};

// Keeps the `worst` longest traces; writes everything at the end.
class TextReport {
 public:
  TextReport(std::FILE* out, std::size_t worst) : out_(out), worst_(worst) {}
  void trace(const TraceResult& t);
  void end(const std::vector<RouteResult>& routes, const AnalyzeSummary& summary);

 private:
  std::FILE* out_;
  std::size_t worst_;
  std::vector<TraceResult> kept_;  // a min-heap on duration, at most worst_
};

// "1.234ms", "12.3s", "850us", "0"
std::string human_ns(std::uint64_t ns);

}  // namespace difftrace::analyze
