// A 64-bit hash of bytes, a word at a time, for analyze's tables of ids, names and endpoint
// keys: they are hashed once or more per span, and std::hash of a string (murmur, a call
// into libstdc++) showed in the profile. Ids are random hex and names come from the
// input's few services: nothing to defend against, so a multiply-xorshift mix is enough.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace difftrace::analyze {

inline std::uint64_t hash_mix(std::uint64_t h) {
  h *= 0xFF51AFD7ED558CCDull;
  return h ^ (h >> 32);
}

inline std::uint64_t hash_bytes(const char* p, std::size_t n) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t x;
    std::memcpy(&x, p, 8);
    h = hash_mix(h ^ x);
  }
  std::uint64_t x = 0;
  std::memcpy(&x, p, n);
  return hash_mix(h ^ x);
}

// For unordered containers keyed by std::string (looked up by string or string_view).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return hash_bytes(s.data(), s.size()); }
  std::size_t operator()(const std::string& s) const { return hash_bytes(s.data(), s.size()); }
};

}  // namespace difftrace::analyze
