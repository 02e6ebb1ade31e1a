// What tests of service matching (filter::ServiceRegistry) share: a process table the test
// writes, and the service the filter gives a process's span.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "filter/host_filter_store.h"
#include "filter/process_view.h"
#include "unit/span_event_samples.h"

namespace difftrace::testing {

class FakeProcessView : public filter::ProcessView {
 public:
  void run(std::uint32_t pid, std::uint64_t start_time, std::string exe,
           std::set<std::uint16_t> ports = {}, std::string comm = {}) {
    procs_[pid] = {pid, start_time, std::move(exe), std::move(ports), std::move(comm)};
  }
  void exit(std::uint32_t pid) { procs_.erase(pid); }

  std::optional<std::uint64_t> start_time(std::uint32_t pid) const override {
    auto it = procs_.find(pid);
    if (it == procs_.end()) return std::nullopt;
    return it->second.start_time;
  }
  std::vector<filter::ProcessInfo> processes(bool want_ports) const override {
    std::vector<filter::ProcessInfo> out;
    for (const auto& [pid, p] : procs_) {
      out.push_back(p);
      if (!want_ports) out.back().listen_ports.clear();
    }
    return out;
  }

 private:
  std::map<std::uint32_t, filter::ProcessInfo> procs_;
};

// The service id the filter gives a span of pid (0: none), from its comm-less event.
inline std::uint16_t service_of(filter::HostFilterStore& store, std::uint32_t pid) {
  dt_span_event e = server_event("anything", "/", 1'000'000, 200, nullptr, pid);
  store.filter(e);
  return e.service;
}

}  // namespace difftrace::testing
