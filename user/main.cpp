// difftrace: kernel-level span capture and filtering for serverless tracing.
// The only place that turns errors into exit codes.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "cli/agent_command.h"
#include "cli/analyze_command.h"
#include "cli/check_command.h"
#include "cli/k8s_pods_command.h"
#include "cli/replay_command.h"
#include "cli/trace_command.h"
#include "env/environment.h"
#include "error.h"

#ifndef DIFFTRACE_VERSION
#define DIFFTRACE_VERSION "0.1.0"
#endif

int main(int argc, char** argv) {
  using difftrace::ExitCode;
  auto log = spdlog::stderr_color_mt("difftrace");
  log->set_pattern("difftrace: %^%l%$: %v");
  spdlog::set_default_logger(log);
  spdlog::set_level(spdlog::level::info);

  CLI::App app{"difftrace: capture HTTP spans with eBPF and keep only the ones that matter"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Debug logging (libbpf and verifier messages too)");
  difftrace::cli::TraceOptions trace;
  difftrace::cli::add_trace_command(app, trace);
  difftrace::cli::ReplayOptions replay;
  difftrace::cli::add_replay_command(app, replay);
  difftrace::cli::CheckOptions check;
  difftrace::cli::add_check_command(app, check);
  difftrace::cli::AnalyzeOptions analyze;
  difftrace::cli::add_analyze_command(app, analyze);
  difftrace::cli::K8sPodsOptions k8s_pods;
  difftrace::cli::add_k8s_pods_command(app, k8s_pods);
  difftrace::cli::AgentOptions agent;
  difftrace::cli::add_agent_command(app, agent);
  auto* version = app.add_subcommand("version", "Print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "difftrace: error: %s (see --help)\n", e.what());
    return static_cast<int>(ExitCode::kUsage);
  }
  if (verbose) spdlog::set_level(spdlog::level::trace);
  difftrace::env::route_libbpf_logs();

  try {
    if (version->parsed()) {
      std::printf("difftrace %s\n", DIFFTRACE_VERSION);
      return 0;
    }
    if (app.got_subcommand("replay")) return difftrace::cli::run_replay(replay);
    if (app.got_subcommand("check")) return difftrace::cli::run_check(check);
    if (app.got_subcommand("analyze")) return difftrace::cli::run_analyze(analyze);
    if (app.got_subcommand("k8s-pods")) return difftrace::cli::run_k8s_pods(k8s_pods);
    if (app.got_subcommand("agent")) return difftrace::cli::run_agent(agent);
    return difftrace::cli::run_trace(trace);
  } catch (const difftrace::FatalError& e) {
    // One error line per line of the message: a refusal may name several
    // missing features, each on its own line.
    std::istringstream message(e.what());
    for (std::string line; std::getline(message, line);) spdlog::error("{}", line);
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    spdlog::error("unexpected: {}", e.what());
    return static_cast<int>(ExitCode::kEnvironment);
  }
}
