// Errors that end a command. main.cpp is the only place that turns them into
// an exit code and one line on stderr.
#pragma once

#include <stdexcept>
#include <string>

namespace difftrace {

enum class ExitCode : int {
  kOk = 0,
  kEnvironment = 1,  // not root, BPF or tracefs unavailable, load failed
  kUsage = 2,        // bad flags or input: unknown pid, unwritable path, bad config
};

class FatalError : public std::runtime_error {
 public:
  FatalError(ExitCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// "what failed: strerror(err)"
std::string errno_message(const std::string& what, int err);

}  // namespace difftrace
