#include "cli/k8s_pods_command.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/k8s_options.h"
#include "session/stop_flag.h"

namespace difftrace::cli {

void add_k8s_pods_command(CLI::App& app, K8sPodsOptions& opts) {
  auto* cmd = app.add_subcommand(
      "k8s-pods", "Print this node's pods as the agent sees them (list + watch), a JSON line per change");
  add_k8s_options(*cmd, opts.k8s);
  cmd->add_option("--duration", opts.duration_s, "Stop after S seconds (default: until SIGINT)")
      ->check(CLI::NonNegativeNumber);
}

int run_k8s_pods(const K8sPodsOptions& opts) {
  k8s::K8sMetadata meta(opts.k8s);
  session::StopFlag stop;
  stop.stop_on_signals();
  meta.start();
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(opts.duration_s));
  std::string last;
  while (!stop.stop_requested() && (opts.duration_s == 0 || std::chrono::steady_clock::now() < end)) {
    auto j = meta.store().to_json();
    j["watch"] = meta.watcher().counters_json();
    // A line when the pods or the counters change.
    std::string line = j.dump();
    if (line != last) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
      last = std::move(line);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  meta.stop();
  return 0;
}

}  // namespace difftrace::cli
