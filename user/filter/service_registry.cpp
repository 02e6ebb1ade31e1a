#include "filter/service_registry.h"

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

void ServiceRegistry::rescan(FilterStore& store) {
  bool want_exe = false, want_ports = false;
  for (std::size_t i = 0; i < config_.services.size(); i++) {
    const auto& m = config_.services[i].match;
    for (pid_t pid : m.pids)
      if (published_.insert({static_cast<std::uint32_t>(pid), entry(i).id}).second)
        store.set_service_pid(static_cast<std::uint32_t>(pid), entry(i));
    want_exe |= !m.exes.empty();
    want_ports |= !m.listen_ports.empty();
  }
  if (!want_exe && !want_ports) return;
  for (const auto& proc : procs_.processes(want_ports)) {
    const std::string& exe = proc.exe;
    for (std::size_t i = 0; i < config_.services.size(); i++) {
      const auto& m = config_.services[i].match;
      bool hit = !exe.empty() && std::any_of(m.exes.begin(), m.exes.end(), [&](const auto& e) {
        return e == exe || e == fs::path(exe).filename().string();
      });
      hit |= std::any_of(m.listen_ports.begin(), m.listen_ports.end(),
                         [&](auto p) { return proc.listen_ports.count(p) > 0; });
      if (!hit) continue;
      auto id = proc.pid;
      if (published_.insert({id, entry(i).id}).second) store.set_service_pid(id, entry(i));
      break;  // the first service that matches names the process
    }
  }
}

}  // namespace difftrace::filter
