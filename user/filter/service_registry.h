// The config's services as the kernel filter knows them: each by its id
// (ServiceIds: by name, kept across apply(); 0 is "none matched"), with its
// role and 4xx rule, written into the filter's service maps by comm and by
// pid. Comm (the process's own name, for threads named otherwise), pid, exe and
// listen_port matches are resolved from /proc to pids, again at
// every rescan, so processes started later are found too, and a process that
// is gone, or whose pid is another process's now (told apart by start time),
// loses its entry: service_pids holds no exited process past one rescan.
// cgroup matches are not resolved in the kernel yet: their spans are named in
// user space but filtered with the default role. k8s matches are resolved at every rescan by
// the K8sMatch given (k8s/pod_selector.h); without one they select nothing.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "filter/filter_store.h"
#include "filter/process_view.h"
#include "filter/service_ids.h"

namespace difftrace::filter {

dt_role kernel_role(config::Role role);

class ServiceRegistry {
 public:
  // Processes are read from procs, /proc by default.
  explicit ServiceRegistry(const config::Config& config, const ProcessView& procs = proc_view());
  // Writes comm matches, then what rescan() writes.
  void publish(FilterStore& store);
  // Writes the pids that pid, exe and listen_port matches select now, and
  // removes those written for a process that is gone or was replaced. A
  // config pid names the process it had at the first rescan: not running
  // then, it names none; gone later, its pid's next process is not it.
  void rescan(FilterStore& store);
  // For replay, where there are no processes: a span's pid is its server
  // port (replay_pid_of_port), and listen_port matches name the services.
  void publish_ports(FilterStore& store);
  static std::uint32_t replay_pid_of_port(std::uint16_t port) { return 0x40000000u | port; }
  // Whether a process (by pid) is in a pod a k8s match selects.
  using K8sMatch = std::function<bool(const config::K8sSelector&, std::uint32_t pid)>;
  void set_k8s_match(K8sMatch match) { k8s_match_ = std::move(match); }
  // The service with this id, nullptr for 0 or an unknown id.
  const config::Service* service(std::uint16_t id) const;
  // The id of the config's service at index.
  std::uint16_t id_of(std::size_t index) const { return id_of_index_.at(index); }

  // The config (the same object) was given new contents: ids are assigned to new names, and
  // what was written for services, comms and ports no longer configured is removed. Returns the
  // ids of the removed services. Writing the new entries is publish()'s or publish_ports()'s.
  // A process a kept service's new match no longer selects keeps its entry until it exits.
  std::vector<std::uint16_t> apply(FilterStore& store);

 private:
  struct Published {
    std::uint64_t start_time;  // of the process the entry was written for
    dt_service service;
  };

  static const ProcessView& proc_view();
  void assign_ids();
  dt_service entry(std::size_t index) const;
  void bind_config_pids();
  // The index of the first service whose match selects proc.
  std::optional<std::size_t> match(const ProcessInfo& proc) const;
  void forget(FilterStore& store, std::map<std::uint32_t, Published>::iterator it);

  const config::Config& config_;
  const ProcessView& procs_;
  K8sMatch k8s_match_;
  ServiceIds ids_;
  std::vector<std::uint16_t> id_of_index_;            // config index -> id
  std::map<std::uint16_t, std::size_t> index_of_id_;  // id -> config index
  std::set<std::string> published_comms_;             // written into service_comms
  std::set<std::uint16_t> published_ports_;           // replay: written into service_pids
  bool config_pids_bound_ = false;
  std::map<std::uint32_t, std::uint64_t> config_pid_starts_;  // config pid -> its process's start
  std::map<std::uint32_t, Published> published_;              // pid -> written into service_pids
};

}  // namespace difftrace::filter
