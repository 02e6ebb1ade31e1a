// Errors. Error is a failure the caller can recover from, or report and go on
// (returned in a Result<T>, result.h, or counted); FatalError ends a command,
// and main.cpp is the only place that turns it into an exit code and one line
// on stderr.
#pragma once

#include <stdexcept>
#include <string>

namespace difftrace {

enum class ExitCode : int {
  kOk = 0,
  kEnvironment = 1,  // not root, BPF or tracefs unavailable, load failed
  kUsage = 2,        // bad flags or input: unknown pid, unwritable path, bad config
};

// What failed, on what, why and what to do, as bpftrace's errors carry them, so a caller can
// count or word them without parsing a string.
struct Error {
  std::string operation;  // what was being done: "cannot read capture", "could not write"
  std::string object;     // on what: a file, a map, a flag
  int err = 0;            // errno (either sign), 0 when no system call said why
  std::string hint;       // the cause in words when there is no errno, else what to do

  // One line, as the messages were before there was a type for them:
  // "operation object: strerror(err) (hint)", or "operation object: hint" without an errno.
  std::string message() const;
};

class FatalError : public std::runtime_error {
 public:
  FatalError(ExitCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  // An Error that ends the command after all.
  FatalError(ExitCode code, const Error& error) : FatalError(code, error.message()) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// "what failed: strerror(err)"
std::string errno_message(const std::string& what, int err);

}  // namespace difftrace
