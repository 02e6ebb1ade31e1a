// TcpSegment: one TCP segment decoded from a captured packet, the unit the reassembler consumes.
#pragma once

#include <cstdint>
#include <span>

#include "replay/ip_addr.h"

namespace difftrace::replay {

namespace tcp_flag {
inline constexpr uint8_t fin = 0x01;
inline constexpr uint8_t syn = 0x02;
inline constexpr uint8_t rst = 0x04;
inline constexpr uint8_t psh = 0x08;
inline constexpr uint8_t ack = 0x10;
inline constexpr uint8_t urg = 0x20;
}  // namespace tcp_flag

struct TcpSegment {
  uint64_t ts_ns = 0;  // capture timestamp, nanoseconds since the epoch
  IpAddr src;
  IpAddr dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;  // tcp_flag bits
  // The captured payload bytes. Points into the reader's buffer: valid until its next read.
  std::span<const uint8_t> payload;
  // Payload bytes the segment carried on the wire (from the IP length): >= payload.size().
  uint32_t payload_wire_len = 0;
  // Snaplen cut: payload.size() < payload_wire_len. The missing tail is unknown, and
  // reassembly reports it as a gap, never as data.
  bool truncated = false;
};

}  // namespace difftrace::replay
