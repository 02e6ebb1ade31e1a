#include "cli/analyze_command.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <unordered_map>

#include "analyze/analyzer.h"
#include "analyze/html_report.h"
#include "analyze/report.h"
#include "cli/command_config.h"
#include "config/config.h"
#include "error.h"

namespace difftrace::cli {

void add_analyze_command(CLI::App& app, AnalyzeOptions& opts) {
  auto* cmd = app.add_subcommand(
      "analyze", "Critical path and latency breakdown of traces in OTLP or Zipkin JSON files (no root)");
  cmd->add_option("FILE", opts.files, "OTLP JSON (one ExportTraceServiceRequest per line) or Zipkin v2 JSON arrays")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--format", opts.format,
                  "text (default), json, or html (one self-contained page with charts)")
      ->check(CLI::IsMember({"text", "json", "html"}));
  cmd->add_option("--out", opts.out, "Write here instead of stdout");
  cmd->add_option("--interval", opts.interval,
                  "Width of the per-interval aggregates (500ms, 10s, 1m, 1h; default: the run's "
                  "time span in at most 60 round intervals)");
  cmd->add_option("--config", opts.config_file,
                  "YAML as for trace: the services' roles (platform or function)");
  cmd->add_option("--worst", opts.worst,
                  "Text and html: how many of the longest traces to show");
  cmd->add_option("--window", opts.window_s,
                  "Seconds (of span time) without a new span after which a trace is complete")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-spans", opts.max_spans,
                  "Spans held at most while traces wait for late spans (the memory bound)")
      ->check(CLI::PositiveNumber);
}

std::uint64_t parse_interval(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) != 0))
    digits++;
  const std::string unit = text.substr(digits);
  static const std::unordered_map<std::string, std::uint64_t> kUnits = {
      {"ms", 1'000'000ull}, {"s", 1'000'000'000ull}, {"m", 60'000'000'000ull},
      {"h", 3'600'000'000'000ull}};
  auto it = kUnits.find(unit);
  if (digits == 0 || digits > 9 || it == kUnits.end())
    throw FatalError(ExitCode::kUsage, "--interval " + text +
                                           ": a whole number and a unit (ms, s, m, h), e.g. 10s");
  const std::uint64_t ns = std::stoull(text.substr(0, digits)) * it->second;
  if (ns < 1'000'000)
    throw FatalError(ExitCode::kUsage, "--interval " + text + ": at least 1ms");
  return ns;
}

int run_analyze(const AnalyzeOptions& opts) {
  config::Config cfg = load_command_config(opts.config_file);
  std::unordered_map<std::string, bool> platform;
  for (const auto& s : cfg.services) platform.emplace(s.name, s.role == config::Role::kPlatform);
  const bool default_platform = cfg.default_role == config::Role::kPlatform;

  analyze::AnalyzeOptions a;
  a.files = opts.files;
  a.limits.window_ns = static_cast<std::uint64_t>(opts.window_s * 1e9);
  a.limits.max_spans = opts.max_spans;
  a.interval_ns = opts.interval.empty() ? 0 : parse_interval(opts.interval);
  a.keep_spans = opts.format == "html";
  a.is_platform = [platform = std::move(platform), default_platform](const std::string& service) {
    auto it = platform.find(service);
    return it == platform.end() ? default_platform : it->second;
  };

  std::FILE* out = stdout;
  if (!opts.out.empty()) {
    out = std::fopen(opts.out.c_str(), "w");
    if (!out) throw FatalError(ExitCode::kUsage, errno_message("--out " + opts.out, errno));
  }
  analyze::Analyzer analyzer(std::move(a));
  if (opts.format == "json") {
    analyze::JsonReport report(out);
    report.begin();
    auto routes = analyzer.run([&](const analyze::TraceResult& t) { report.trace(t); });
    report.end(routes, analyzer.intervals(), analyzer.summary());
  } else if (opts.format == "html") {
    analyze::HtmlReport report(out, opts.worst, opts.files);
    auto routes = analyzer.run([&](const analyze::TraceResult& t) { report.trace(t); });
    report.end(routes, analyzer.intervals(), analyzer.summary());
  } else {
    analyze::TextReport report(out, opts.worst);
    auto routes = analyzer.run([&](const analyze::TraceResult& t) { report.trace(t); });
    report.end(routes, analyzer.summary());
  }
  bool write_failed = std::ferror(out) != 0;
  write_failed |= (out != stdout ? std::fclose(out) : std::fflush(out)) != 0;
  if (write_failed)
    throw FatalError(ExitCode::kUsage, opts.out.empty() ? "could not write the report"
                                                        : "could not write --out " + opts.out);
  const auto& s = analyzer.summary();
  if (s.read.bad_lines)
    spdlog::warn("{} lines (or values over many lines) were neither OTLP "
                 "ExportTraceServiceRequest nor Zipkin v2 JSON and were skipped (the first: {})",
                 s.read.bad_lines, s.read.first_bad_line);
  if (s.builder.evicted_by_cap)
    spdlog::warn("{} traces were complete early (over --max-spans); a span of theirs that came "
                 "later was analyzed as a trace of its own ({} such)",
                 s.builder.evicted_by_cap, s.builder.traces_split);
  if (s.interval_widened)
    spdlog::warn("--interval {} would make more than {} intervals: {} s ones instead", opts.interval,
                 analyze::kMaxIntervals, s.interval_ns / 1'000'000'000ull);
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace difftrace::cli
