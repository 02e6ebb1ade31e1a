#include "replay/conn_selector.h"

#include <arpa/inet.h>

#include <algorithm>

namespace difftrace::replay {

bool ConnSelector::selects(const ConnKey& key) const {
  const auto& server = key.server;
  if (!server_ports.empty() &&
      std::find(server_ports.begin(), server_ports.end(), server.port) == server_ports.end())
    return false;
  if (!server_hosts.empty() &&
      std::find(server_hosts.begin(), server_hosts.end(), server.addr) == server_hosts.end())
    return false;
  return true;
}

std::optional<IpAddr> parse_ip_addr(const std::string& text) {
  uint8_t buf[16] = {};
  if (inet_pton(AF_INET, text.c_str(), buf) == 1)
    return make_ipv4(std::span<const uint8_t, 4>(buf, 4));
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1)
    return make_ipv6(std::span<const uint8_t, 16>(buf, 16));
  return std::nullopt;
}

}  // namespace difftrace::replay
