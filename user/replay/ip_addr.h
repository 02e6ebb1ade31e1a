// IpAddr: an IPv4 or IPv6 address as 16 bytes plus its family, as decoded from a capture.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>

namespace difftrace::replay {

enum class IpFamily : uint8_t { v4 = 4, v6 = 6 };

// Network byte order. An IPv4 address fills bytes[0..3] and leaves bytes[4..15] zero
// (not the ::ffff:a.b.c.d mapped form), so equal addresses compare equal byte for byte.
struct IpAddr {
  std::array<uint8_t, 16> bytes{};
  IpFamily family = IpFamily::v4;

  friend bool operator==(const IpAddr&, const IpAddr&) = default;
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

IpAddr make_ipv4(std::span<const uint8_t, 4> bytes);
IpAddr make_ipv6(std::span<const uint8_t, 16> bytes);

// "10.1.6.93" or "2001:db8::1" (inet_ntop's form).
std::string to_string(const IpAddr& addr);

}  // namespace difftrace::replay
