#include "filter/service_registry.h"

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace difftrace::filter {
namespace fs = std::filesystem;

namespace {

// Inodes of listening TCP sockets by local port, from /proc/net/tcp{,6}.
std::map<std::uint64_t, std::uint16_t> listening_inodes() {
  std::map<std::uint64_t, std::uint16_t> out;
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout;
      std::uint64_t inode = 0;
      f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
      if (state != "0A" || !inode) continue;  // TCP_LISTEN
      auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      out[inode] = static_cast<std::uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
    }
  }
  return out;
}

// Ports pid listens on, among the listening inodes.
std::set<std::uint16_t> ports_of(const std::string& pid,
                                 const std::map<std::uint64_t, std::uint16_t>& inodes) {
  std::set<std::uint16_t> ports;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + pid + "/fd", ec)) {
    auto target = fs::read_symlink(fd.path(), ec).string();
    unsigned long long inode = 0;
    if (ec || std::sscanf(target.c_str(), "socket:[%llu]", &inode) != 1) continue;
    auto it = inodes.find(inode);
    if (it != inodes.end()) ports.insert(it->second);
  }
  return ports;
}

}  // namespace

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
  const auto inodes = want_ports ? listening_inodes() : std::map<std::uint64_t, std::uint16_t>{};
  std::error_code ec;
  for (const auto& proc : fs::directory_iterator("/proc", ec)) {
    const std::string pid = proc.path().filename().string();
    if (pid.empty() || !std::all_of(pid.begin(), pid.end(), ::isdigit)) continue;
    std::string exe = fs::read_symlink(proc.path() / "exe", ec).string();
    std::set<std::uint16_t> ports;
    if (want_ports) ports = ports_of(pid, inodes);
    for (std::size_t i = 0; i < config_.services.size(); i++) {
      const auto& m = config_.services[i].match;
      bool hit = !exe.empty() && std::any_of(m.exes.begin(), m.exes.end(), [&](const auto& e) {
        return e == exe || e == fs::path(exe).filename().string();
      });
      hit |= std::any_of(m.listen_ports.begin(), m.listen_ports.end(),
                         [&](auto p) { return ports.count(p) > 0; });
      if (!hit) continue;
      auto id = static_cast<std::uint32_t>(std::stoul(pid));
      if (published_.insert({id, entry(i).id}).second) store.set_service_pid(id, entry(i));
      break;  // the first service that matches names the process
    }
  }
}

}  // namespace difftrace::filter
