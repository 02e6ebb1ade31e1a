#include "config/service_map.h"

#include <algorithm>
#include <filesystem>

namespace difftrace::config {

const std::string& ServiceMap::exe_of(std::uint32_t pid) {
  auto it = exes_.find(pid);
  if (it != exes_.end()) return it->second;
  if (exes_.size() >= 4096) exes_.clear();
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  return exes_.emplace(pid, ec ? std::string() : exe.string()).first->second;
}

const Service* ServiceMap::find(const capture::Span& span) {
  auto has = [](const auto& list, const auto& v) {
    return std::find(list.begin(), list.end(), v) != list.end();
  };
  for (const auto& s : config_.services) {
    const Match& m = s.match;
    if (has(m.comms, span.comm) || has(m.pids, static_cast<pid_t>(span.pid)) ||
        (span.kind == capture::SpanKind::kServer && has(m.listen_ports, span.local.port)))
      return &s;
    if (!m.exes.empty() && span.pid) {
      const std::string& exe = exe_of(span.pid);
      if (!exe.empty() && (has(m.exes, exe) ||
                           has(m.exes, std::filesystem::path(exe).filename().string())))
        return &s;
    }
  }
  return nullptr;
}

targets::TargetSet targets_of(const Config& config) {
  std::vector<pid_t> pids;
  std::vector<std::string> comms;
  std::vector<std::string> cgroups;
  for (const auto& s : config.services) {
    pids.insert(pids.end(), s.match.pids.begin(), s.match.pids.end());
    comms.insert(comms.end(), s.match.comms.begin(), s.match.comms.end());
    cgroups.insert(cgroups.end(), s.match.cgroups.begin(), s.match.cgroups.end());
  }
  return targets::resolve(pids, comms, cgroups, false);
}

}  // namespace difftrace::config
