// The --config file of a command, shared by trace, replay and analyze.
#pragma once

#include <string>

#include "config/config.h"

namespace difftrace::cli {

// The config at path, or the defaults when path is empty. A bad file is a usage error
// (FatalError kUsage, "FILE:LINE: reason"), reported before anything else is done.
config::Config load_command_config(const std::string& path);

}  // namespace difftrace::cli
