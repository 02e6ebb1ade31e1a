// Service ids by service name, for a whole session: the filter's maps are keyed by them
// (service_pids, service_comms, thresholds, hists), so a reload that reorders, adds or removes
// services must not give a kept service another id. A new name gets a fresh id; a removed name's
// id is not given to another name (histograms and spans still in flight carry it). 0 is "no
// service".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace difftrace::filter {

class ServiceIds {
 public:
  // name's id, assigned on first use; 0 once all 65,535 were given out (the service's spans
  // then carry no service id: not named by it, profiled with the unnamed).
  std::uint16_t assign(const std::string& name);
  std::optional<std::uint16_t> find(const std::string& name) const;

 private:
  std::map<std::string, std::uint16_t> ids_;
  std::uint32_t next_ = 1;
};

}  // namespace difftrace::filter
