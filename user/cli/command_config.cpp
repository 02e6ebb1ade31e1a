#include "cli/command_config.h"

#include "error.h"

namespace difftrace::cli {

config::Config load_command_config(const std::string& path) {
  if (path.empty()) return {};
  try {
    return config::load_config(path);
  } catch (const config::ConfigError& e) {
    throw FatalError(ExitCode::kUsage, e.what());
  }
}

}  // namespace difftrace::cli
