#include "replay/ip_addr.h"

#include <arpa/inet.h>

#include <algorithm>

namespace difftrace::replay {

IpAddr make_ipv4(std::span<const uint8_t, 4> bytes) {
  IpAddr addr;
  addr.family = IpFamily::v4;
  std::copy(bytes.begin(), bytes.end(), addr.bytes.begin());
  return addr;
}

IpAddr make_ipv6(std::span<const uint8_t, 16> bytes) {
  IpAddr addr;
  addr.family = IpFamily::v6;
  std::copy(bytes.begin(), bytes.end(), addr.bytes.begin());
  return addr;
}

std::string to_string(const IpAddr& addr) {
  char text[INET6_ADDRSTRLEN] = {};
  const int af = addr.family == IpFamily::v4 ? AF_INET : AF_INET6;
  if (inet_ntop(af, addr.bytes.data(), text, sizeof(text)) == nullptr) return "?";
  return text;
}

}  // namespace difftrace::replay
