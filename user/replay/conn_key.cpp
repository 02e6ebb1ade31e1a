#include "replay/conn_key.h"

#include <cstring>

namespace difftrace::replay {

namespace {

// A word at a time (this runs twice per captured segment): the address as two 64-bit words,
// then family and port, each mixed in by a multiply and a rotate; the result is finished with
// a final avalanche (the mixer of splitmix64).
uint64_t mix(uint64_t h, uint64_t word) {
  constexpr uint64_t kPrime = 0x9e3779b97f4a7c15ull;
  h = (h ^ word) * kPrime;
  return (h << 31) | (h >> 33);
}

uint64_t finish(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

uint64_t hash_endpoint(const Endpoint& endpoint, uint64_t h) {
  uint64_t lo = 0, hi = 0;
  std::memcpy(&lo, endpoint.addr.bytes.data(), 8);
  std::memcpy(&hi, endpoint.addr.bytes.data() + 8, 8);
  h = mix(h, lo);
  h = mix(h, hi);
  return mix(h, static_cast<uint64_t>(endpoint.addr.family) << 16 | endpoint.port);
}

constexpr uint64_t kOffsetBasis = 14695981039346656037ull;

}  // namespace

size_t EndpointHash::operator()(const Endpoint& endpoint) const noexcept {
  return static_cast<size_t>(finish(hash_endpoint(endpoint, kOffsetBasis)));
}

size_t ConnKeyHash::operator()(const ConnKey& key) const noexcept {
  return static_cast<size_t>(finish(hash_endpoint(key.server, hash_endpoint(key.client, kOffsetBasis))));
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
