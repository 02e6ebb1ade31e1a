// The config's services as the kernel filter knows them: service i of the
// config is id i + 1 (0 is "none matched"), with its role and 4xx rule,
// written into the filter's service maps by comm and by pid. Pid, exe and
// listen_port matches are resolved from /proc, again at every rescan, so
// processes started later are found too. cgroup matches are not resolved in
// the kernel yet: their spans are named in user space but filtered with the
// default role.
#pragma once

#include <set>
#include <string>

#include "config/config.h"
#include "filter/filter_store.h"
#include "filter/process_view.h"

namespace difftrace::filter {

dt_role kernel_role(config::Role role);

class ServiceRegistry {
 public:
  // Processes are read from procs, /proc by default.
  explicit ServiceRegistry(const config::Config& config, const ProcessView& procs = proc_view())
      : config_(config), procs_(procs) {}
  // Writes comm matches, then what rescan() writes.
  void publish(FilterStore& store);
  // Writes the pids that pid, exe and listen_port matches select now.
  void rescan(FilterStore& store);
  // For replay, where there are no processes: a span's pid is its server
  // port (replay_pid_of_port), and listen_port matches name the services.
  void publish_ports(FilterStore& store);
  static std::uint32_t replay_pid_of_port(std::uint16_t port) { return 0x40000000u | port; }
  // The service with this id, nullptr for 0 or an unknown id.
  const config::Service* service(std::uint16_t id) const;

 private:
  static const ProcessView& proc_view();
  dt_service entry(std::size_t index) const;

  const config::Config& config_;
  const ProcessView& procs_;
  std::set<std::pair<std::uint32_t, std::uint16_t>> published_;  // (pid, id) written
};

}  // namespace difftrace::filter
