#include "agent/config_reloader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "error.h"

namespace difftrace::agent {
namespace {

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ConfigReloader::ConfigReloader(std::string path, Apply apply)
    : path_(std::move(path)), apply_(std::move(apply)) {
  try {
    last_text_ = config::read_config_text(path_);
  } catch (const config::ConfigError&) {
    // Gone since it was loaded: the next text there is a change.
  }
  status_.in_force_since_unix = now_unix();
}

ConfigReloader::Outcome ConfigReloader::reload(bool forced) {
  std::lock_guard one_at_a_time(reload_mutex_);
  std::string error;
  std::vector<std::string> restart_only;
  try {
    std::string text = config::read_config_text(path_);
    if (!forced && text == last_text_) return Outcome::kUnchanged;
    last_text_ = text;
    restart_only = apply_(config::parse_config(text, path_));
  } catch (const config::ConfigError& e) {
    error = e.what();  // FILE:LINE: reason
  } catch (const FatalError& e) {
    // A target that does not resolve or an export that cannot be made: named by the flag
    // it would be ("--pid 12: no such process").
    error = path_ + ": " + e.what();
  }
  std::lock_guard lock(status_mutex_);
  if (!error.empty()) {
    status_.failed++;
    status_.last_error = error;
    spdlog::error("config reload refused, the previous config stays in force: {}", error);
    return Outcome::kRefused;
  }
  status_.ok++;
  status_.last_error.clear();
  status_.in_force_since_unix = now_unix();
  spdlog::info("config reloaded from {}", path_);
  if (!restart_only.empty())
    spdlog::warn("{}: {} changed, which only a restart applies; the running values stay", path_,
                 fmt::join(restart_only, ", "));
  return Outcome::kApplied;
}

ReloadStatus ConfigReloader::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

}  // namespace difftrace::agent
