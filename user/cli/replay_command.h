// `difftrace replay FILE`: spans from a packet capture (pcap/pcapng), through the same HTTP/1.x
// boundary code the kernel runs. Unprivileged: no BPF.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace difftrace::cli {

struct ReplayOptions {
  std::string file;
  std::vector<std::string> exports;
  std::string stats_json;
  std::vector<int> ports;          // server ports to keep (empty: all)
  std::vector<std::string> hosts;  // server addresses to keep (empty: all)
  std::string config_file;
  bool no_filter = false;
};

void add_replay_command(CLI::App& app, ReplayOptions& opts);
// Returns the process exit code; throws FatalError on failure. A capture that ends early
// (truncated or corrupt record) keeps what was read before: exit 0 with a warning when that gave
// spans, otherwise FatalError(kUsage).
int run_replay(const ReplayOptions& opts);

}  // namespace difftrace::cli
