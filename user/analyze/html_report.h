// `difftrace analyze --format html`: one self-contained page (inline CSS, JS
// and SVG; nothing fetched) with a stacked breakdown per route, the breakdown
// over time (per interval) and a waterfall of the longest traces with their
// critical path highlighted. The C++ side writes the data as JSON into the
// page; the page's script (html_page.cpp) draws the charts from it.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "analyze/analyzer.h"
#include "analyze/report.h"

namespace difftrace::analyze {

class HtmlReport {
 public:
  HtmlReport(std::FILE* out, std::size_t worst, std::vector<std::string> files)
      : out_(out), worst_(worst), files_(std::move(files)) {}
  void trace(const TraceResult& t) { worst_.offer(t); }
  void end(const std::vector<RouteResult>& routes, const std::vector<IntervalResult>& intervals,
           const AnalyzeSummary& summary);

 private:
  std::FILE* out_;
  WorstTraces worst_;
  std::vector<std::string> files_;
};

// The page around the data: html_page_before_data() + JSON + html_page_after_data().
const char* html_page_before_data();
const char* html_page_after_data();

// JSON made safe inside <script>: every '<' written as \u003c (it only occurs in strings).
std::string json_for_script(const std::string& json_text);

}  // namespace difftrace::analyze
