// The agent's live configuration: re-reads its config file and puts the new config in force
// through an apply step (Session::apply). A file that fails to parse or to apply is refused
// whole with "FILE:LINE: reason" (logged, counted, kept for /readyz); the config in force
// stays. A file whose text has not changed since the last attempt is left alone unless the
// reload is forced (SIGHUP), so that a refused file is not retried at every inotify event.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"

namespace difftrace::agent {

struct ReloadStatus {
  std::uint64_t ok = 0;      // reloads applied (the first load not counted)
  std::uint64_t failed = 0;  // reloads refused
  // Why the last reload was refused; empty when the file on disk is the config in force.
  std::string last_error;
  std::int64_t in_force_since_unix = 0;  // when the config in force was loaded
};

class ConfigReloader {
 public:
  // Applies a config; returns the settings it left as they were (restart-only); throws
  // FatalError when the config cannot be put in force (nothing changed then).
  using Apply = std::function<std::vector<std::string>(const config::Config&)>;
  enum class Outcome { kApplied, kRefused, kUnchanged };

  // path: the file the config in force was loaded from, whose text is read now as the
  // baseline.
  ConfigReloader(std::string path, Apply apply);

  // Thread-safe; one reload at a time.
  Outcome reload(bool forced);
  ReloadStatus status() const;

 private:
  const std::string path_;
  const Apply apply_;
  std::mutex reload_mutex_;  // one reload at a time
  std::string last_text_;    // guarded by reload_mutex_: the text last tried
  mutable std::mutex status_mutex_;
  ReloadStatus status_;
};

}  // namespace difftrace::agent
