// ConnKey: a TCP connection's two endpoints, oriented client -> server.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>

#include "replay/ip_addr.h"

namespace difftrace::replay {

struct Endpoint {
  IpAddr addr;
  uint16_t port = 0;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

struct ConnKey {
  Endpoint client;
  Endpoint server;

  friend bool operator==(const ConnKey&, const ConnKey&) = default;
};

enum class Direction : uint8_t { client_to_server, server_to_client };

struct EndpointHash {
  size_t operator()(const Endpoint& endpoint) const noexcept;
};

struct ConnKeyHash {
  size_t operator()(const ConnKey& key) const noexcept;
};

// "10.1.6.93:43230" / "[2001:db8::1]:80"
std::string to_string(const Endpoint& endpoint);
// "10.1.6.93:43230 -> 10.1.6.92:80"
std::string to_string(const ConnKey& key);
// "c2s" / "s2c"
const char* to_string(Direction direction);

}  // namespace difftrace::replay
