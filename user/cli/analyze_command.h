// `difftrace analyze FILE...`: the critical path and latency breakdown of the traces in OTLP
// JSON files (our otlp-json output, the Collector's file exporter). Unprivileged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace difftrace::cli {

struct AnalyzeOptions {
  std::vector<std::string> files;
  std::string format = "text";  // text | json | html
  std::string out;              // empty: stdout
  std::string config_file;      // service roles: platform vs function
  std::size_t worst = 10;       // text: the longest traces shown with their path
  double window_s = 30;         // a trace is complete after this long without a span
  std::size_t max_spans = 1'000'000;
  std::string interval;         // per-interval aggregates: "10s", "1m", ...; empty: auto
};

// "500ms", "10s", "1m", "2h" in ns; throws FatalError(kUsage) for anything else or under 1 ms.
std::uint64_t parse_interval(const std::string& text);

void add_analyze_command(CLI::App& app, AnalyzeOptions& opts);
// Returns the exit code; throws FatalError(kUsage) for a file or config it cannot read.
int run_analyze(const AnalyzeOptions& opts);

}  // namespace difftrace::cli
