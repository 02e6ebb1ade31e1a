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

ServiceRegistry::ServiceRegistry(const config::Config& config, const ProcessView& procs)
    : config_(config), procs_(procs) {
  assign_ids();
}

void ServiceRegistry::assign_ids() {
  id_of_index_.clear();
  index_of_id_.clear();
  for (std::size_t i = 0; i < config_.services.size(); i++) {
    const std::uint16_t id = ids_.assign(config_.services[i].name);
    id_of_index_.push_back(id);
    if (id) index_of_id_.try_emplace(id, i);
  }
}

dt_service ServiceRegistry::entry(std::size_t index) const {
  dt_service s{};
  s.id = id_of_index_.at(index);
  s.role = static_cast<__u8>(kernel_role(config_.services[index].role));
  s.errors_4xx = config_.services[index].errors_4xx;
  return s;
}

const ProcessView& ServiceRegistry::proc_view() {
  static const ProcProcessView view;
  return view;
}

const config::Service* ServiceRegistry::service(std::uint16_t id) const {
  auto it = index_of_id_.find(id);
  return it == index_of_id_.end() ? nullptr : &config_.services[it->second];
}

std::vector<std::uint16_t> ServiceRegistry::apply(FilterStore& store) {
  std::set<std::uint16_t> before;
  for (const auto& [id, index] : index_of_id_) before.insert(id);
  assign_ids();
  std::vector<std::uint16_t> removed;
  for (auto id : before)
    if (!index_of_id_.count(id)) removed.push_back(id);

  std::set<std::string> comms;
  std::set<std::uint16_t> ports;
  for (const auto& s : config_.services) {
    comms.insert(s.match.comms.begin(), s.match.comms.end());
    ports.insert(s.match.listen_ports.begin(), s.match.listen_ports.end());
  }
  for (auto it = published_comms_.begin(); it != published_comms_.end();) {
    if (comms.count(*it)) {
      ++it;
      continue;
    }
    store.remove_service_comm(*it);
    it = published_comms_.erase(it);
  }
  for (auto it = published_ports_.begin(); it != published_ports_.end();) {
    if (ports.count(*it)) {
      ++it;
      continue;
    }
    store.remove_service_pid(replay_pid_of_port(*it));
    it = published_ports_.erase(it);
  }
  for (auto it = published_.begin(); it != published_.end();) {
    auto next = std::next(it);
    if (!index_of_id_.count(it->second.service.id)) forget(store, it);
    it = next;
  }
  config_pids_bound_ = false;  // pids new to the config name the processes they have now
  return removed;
}

void ServiceRegistry::publish(FilterStore& store) {
  for (std::size_t i = 0; i < config_.services.size(); i++)
    for (const auto& comm : config_.services[i].match.comms) {
      store.set_service_comm(comm, entry(i));
      published_comms_.insert(comm);
    }
  rescan(store);
}

void ServiceRegistry::publish_ports(FilterStore& store) {
  // Later services do not override earlier ones, as with live matching.
  for (std::size_t i = config_.services.size(); i-- > 0;)
    for (auto port : config_.services[i].match.listen_ports) {
      store.set_service_pid(replay_pid_of_port(port), entry(i));
      published_ports_.insert(port);
    }
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
    // A comm names the process too, as it does a target (bpf/lib/targets.bpf.h): servers
    // name their threads (grpc-core's default-executor, the JVM's). By pid the kernel finds
    // the service whatever the thread's name; emit's comm (bpf/lib/emit.bpf.h) covers a
    // process started since the last rescan.
    hit |= !proc.comm.empty() &&
           std::find(m.comms.begin(), m.comms.end(), proc.comm) != m.comms.end();
    hit |= !proc.exe.empty() && std::any_of(m.exes.begin(), m.exes.end(), [&](const auto& e) {
      return e == proc.exe || e == fs::path(proc.exe).filename().string();
    });
    hit |= std::any_of(m.listen_ports.begin(), m.listen_ports.end(),
                       [&](auto p) { return proc.listen_ports.count(p) > 0; });
    hit |= m.k8s && k8s_match_ && k8s_match_(*m.k8s, proc.pid);
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
    want_list |= !s.match.comms.empty() || !s.match.exes.empty() || !s.match.listen_ports.empty() ||
                 (s.match.k8s && k8s_match_);
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
    if (it != published_.end() && it->second.service.id == e.id &&
        it->second.service.role == e.role && it->second.service.errors_4xx == e.errors_4xx)
      continue;
    store.set_service_pid(proc.pid, e);
    published_[proc.pid] = {proc.start_time, e};
  }
}

}  // namespace difftrace::filter
