#include "filter/service_registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

namespace difftrace::filter {
namespace fs = std::filesystem;

dt_role kernel_role(config::Role role) {
  switch (role) {
    case config::Role::kPlatform: return DT_ROLE_PLATFORM;
    case config::Role::kFunction: return DT_ROLE_FUNCTION;
    case config::Role::kFunctionFiltered: return DT_ROLE_FUNCTION_FILTERED;
  }
  return DT_ROLE_FUNCTION;
}

dt_service ServiceRegistry::entry(std::size_t index) const {
  dt_service s{};
  s.id = static_cast<__u16>(index + 1);
  s.role = static_cast<__u8>(kernel_role(config_.services[index].role));
  s.errors_4xx = config_.services[index].errors_4xx;
  return s;
}

const ProcessView& ServiceRegistry::proc_view() {
  static const ProcProcessView view;
  return view;
}

const config::Service* ServiceRegistry::service(std::uint16_t id) const {
  if (id == 0 || id > config_.services.size()) return nullptr;
  return &config_.services[id - 1];
}

void ServiceRegistry::publish(FilterStore& store) {
  for (std::size_t i = 0; i < config_.services.size(); i++)
    for (const auto& comm : config_.services[i].match.comms) store.set_service_comm(comm, entry(i));
  rescan(store);
}

void ServiceRegistry::publish_ports(FilterStore& store) {
  // Later services do not override earlier ones, as with live matching.
  for (std::size_t i = config_.services.size(); i-- > 0;)
    for (auto port : config_.services[i].match.listen_ports)
      store.set_service_pid(replay_pid_of_port(port), entry(i));
}

void ServiceRegistry::bind_config_pids() {
  config_pids_bound_ = true;
  for (const auto& s : config_.services)
    for (pid_t pid : s.match.pids) {
      auto p = static_cast<std::uint32_t>(pid);
      if (config_pid_starts_.count(p)) continue;
      if (auto start = procs_.start_time(p))
        config_pid_starts_[p] = *start;
      else
        spdlog::warn("service {}: pid {} is not running, so it names no process (a later "
                     "process with this pid is another one)",
                     s.name, pid);
    }
}

std::optional<std::size_t> ServiceRegistry::match(const ProcessInfo& proc) const {
  auto named_pid = [&](pid_t pid) {
    auto it = config_pid_starts_.find(static_cast<std::uint32_t>(pid));
    return static_cast<std::uint32_t>(pid) == proc.pid && it != config_pid_starts_.end() &&
           it->second == proc.start_time;
  };
  for (std::size_t i = 0; i < config_.services.size(); i++) {
    const auto& m = config_.services[i].match;
    bool hit = std::any_of(m.pids.begin(), m.pids.end(), named_pid);
    hit |= !proc.exe.empty() && std::any_of(m.exes.begin(), m.exes.end(), [&](const auto& e) {
      return e == proc.exe || e == fs::path(proc.exe).filename().string();
    });
    hit |= std::any_of(m.listen_ports.begin(), m.listen_ports.end(),
                       [&](auto p) { return proc.listen_ports.count(p) > 0; });
    if (hit) return i;  // the first service that matches names the process
  }
  return std::nullopt;
}

void ServiceRegistry::forget(FilterStore& store,
                             std::map<std::uint32_t, Published>::iterator it) {
  store.remove_service_pid(it->first);
  published_.erase(it);
}

void ServiceRegistry::rescan(FilterStore& store) {
  if (!config_pids_bound_) bind_config_pids();

  // Entries of processes that are gone or replaced go; a replacing process is
  // matched below like any new one.
  for (auto it = published_.begin(); it != published_.end();) {
    auto next = std::next(it);
    auto start = procs_.start_time(it->first);
    if (!start || *start != it->second.start_time) forget(store, it);
    it = next;
  }

  bool want_list = false, want_ports = false;
  for (const auto& s : config_.services) {
    want_list |= !s.match.exes.empty() || !s.match.listen_ports.empty();
    want_ports |= !s.match.listen_ports.empty();
  }
  std::vector<ProcessInfo> procs;
  if (want_list) {
    procs = procs_.processes(want_ports);
  } else {
    for (const auto& [pid, bound] : config_pid_starts_)
      if (auto start = procs_.start_time(pid)) procs.push_back({pid, *start, {}, {}});
  }

  for (const auto& proc : procs) {
    auto it = published_.find(proc.pid);
    if (it != published_.end() && it->second.start_time != proc.start_time) {
      forget(store, it);  // replaced since the check above
      it = published_.end();
    }
    auto index = match(proc);
    // A process no match selects now keeps the entry it has: the same
    // process, between two listeners, say.
    if (!index) continue;
    const dt_service e = entry(*index);
    if (it != published_.end() && it->second.id == e.id) continue;
    store.set_service_pid(proc.pid, e);
    published_[proc.pid] = {proc.start_time, e.id};
  }
}

}  // namespace difftrace::filter
