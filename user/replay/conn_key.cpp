#include "replay/conn_key.h"

namespace difftrace::replay {

namespace {

// FNV-1a over the address bytes, family and port.
size_t hash_endpoint(const Endpoint& endpoint, uint64_t h) {
  constexpr uint64_t kPrime = 1099511628211ull;
  for (uint8_t byte : endpoint.addr.bytes) h = (h ^ byte) * kPrime;
  h = (h ^ static_cast<uint8_t>(endpoint.addr.family)) * kPrime;
  h = (h ^ (endpoint.port & 0xFF)) * kPrime;
  h = (h ^ (endpoint.port >> 8)) * kPrime;
  return static_cast<size_t>(h);
}

constexpr uint64_t kOffsetBasis = 14695981039346656037ull;

}  // namespace

size_t EndpointHash::operator()(const Endpoint& endpoint) const noexcept {
  return hash_endpoint(endpoint, kOffsetBasis);
}

size_t ConnKeyHash::operator()(const ConnKey& key) const noexcept {
  return hash_endpoint(key.server, hash_endpoint(key.client, kOffsetBasis));
}

std::string to_string(const Endpoint& endpoint) {
  const std::string addr = to_string(endpoint.addr);
  const std::string port = std::to_string(endpoint.port);
  if (endpoint.addr.family == IpFamily::v6) return "[" + addr + "]:" + port;
  return addr + ":" + port;
}

std::string to_string(const ConnKey& key) {
  return to_string(key.client) + " -> " + to_string(key.server);
}

const char* to_string(Direction direction) {
  return direction == Direction::client_to_server ? "c2s" : "s2c";
}

}  // namespace difftrace::replay
