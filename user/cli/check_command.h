// `difftrace check`: what a platform engineer runs on a node before deploying.
// Probes the kernel, the filesystems and privileges difftrace needs, loads
// every capture program on its own and reports its verification cost.
#pragma once

namespace CLI {
class App;
}

namespace difftrace::cli {

struct CheckOptions {
  bool json = false;
};

void add_check_command(CLI::App& app, CheckOptions& opts);
// Prints the report; returns the exit code (non-zero when anything required is
// missing, a program is refused or over its budget).
int run_check(const CheckOptions& opts);

}  // namespace difftrace::cli
