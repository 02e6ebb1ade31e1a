// The analysis as JSON (the contract of issue 19: traces[], routes[], plus
// intervals[] and a summary) streamed trace by trace, or as a text table for
// the terminal (per route, then the worst traces with their critical path).
// The HTML page is in html_report.h.
#pragma once

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "analyze/analyzer.h"

namespace difftrace::analyze {

nlohmann::json trace_json(const TraceResult& t);
// The same object written straight into out (the JSON report's hot path: no document).
void append_trace_json(fmt::memory_buffer& out, const TraceResult& t);
nlohmann::json route_json(const RouteResult& r);
nlohmann::json summary_json(const AnalyzeSummary& s);
nlohmann::json interval_json(const IntervalResult& r);
// Each category's share of duration: {"platform": 0.3, ...; "estimated": ...}.
nlohmann::json shares_json(const Breakdown& b, std::uint64_t duration);

// The `n` longest traces seen, in bounded memory (a min-heap on duration).
class WorstTraces {
 public:
  explicit WorstTraces(std::size_t n) : n_(n) {}
  void offer(const TraceResult& t);
  std::vector<TraceResult> longest_first() const;

 private:
  std::size_t n_;
  std::vector<TraceResult> heap_;
};

// {"traces": [...], "routes": [...], "summary": {...}}, each trace written as it comes.
class JsonReport {
 public:
  explicit JsonReport(std::FILE* out) : out_(out) {}
  void begin();
  void trace(const TraceResult& t);
  void end(const std::vector<RouteResult>& routes, const std::vector<IntervalResult>& intervals,
           const AnalyzeSummary& summary);

 private:
  std::FILE* out_;
  bool first_ = true;
  fmt::memory_buffer buf_;
};

// Keeps the `worst` longest traces; writes everything at the end. It names the culprits of
// those only (Analyzer::run_without_culprits, then name_culprit at the end).
class TextReport {
 public:
  TextReport(std::FILE* out, std::size_t worst) : out_(out), worst_(worst) {}
  void trace(const TraceResult& t) { worst_.offer(t); }
  void end(const std::vector<RouteResult>& routes, const AnalyzeSummary& summary,
           const std::function<void(TraceResult&)>& name_culprit);

 private:
  std::FILE* out_;
  WorstTraces worst_;
};

// Writes s to out as it is.
void write_all(std::FILE* out, const std::string& s);

// "1.234ms", "12.3s", "850us", "0"
std::string human_ns(std::uint64_t ns);

}  // namespace difftrace::analyze
