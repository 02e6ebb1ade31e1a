// ConnSelector: which connections replay looks at (--port, --host), by their server endpoint.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "replay/conn_key.h"

namespace difftrace::replay {

struct ConnSelector {
  std::vector<uint16_t> server_ports;  // empty: any port
  std::vector<IpAddr> server_hosts;    // empty: any address

  // The server is the side reassembly chose (the SYN's receiver, or the side that was sent an
  // HTTP request line): a port or host names where requests went, as `trace --pid` names who
  // answered them.
  bool selects(const ConnKey& key) const;
};

// "10.0.0.1" or "2001:db8::1" (no brackets, no port); nullopt when it is neither.
std::optional<IpAddr> parse_ip_addr(const std::string& text);

}  // namespace difftrace::replay
