// Packet decoding: link layer -> IPv4/IPv6 -> TCP, from the bytes of one captured packet.
// Pure functions over spans, so tests and the fuzzer call them without a capture file.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "replay/tcp_segment.h"

namespace difftrace::replay {

// The link layers replay understands. Raw values are libpcap DLT_* numbers (pcap_datalink()).
enum class LinkType {
  ethernet,    // DLT_EN10MB, with any number of 802.1Q / 802.1ad (QinQ) tags
  linux_sll,   // DLT_LINUX_SLL, Linux cooked v1 (tcpdump -i any, older)
  linux_sll2,  // DLT_LINUX_SLL2, Linux cooked v2
  raw_ip,      // DLT_RAW (LINKTYPE_RAW): IPv4 or IPv6 by the version nibble
  ipv4,        // DLT_IPV4
  ipv6,        // DLT_IPV6
  bsd_null,    // DLT_NULL: 4-byte address family in the capturing host's byte order
  bsd_loop,    // DLT_LOOP: 4-byte address family in network byte order
};

// nullopt for a link type replay does not decode.
std::optional<LinkType> link_type_from_dlt(int dlt);

// "147 (USER0, User 0)" / "1 (EN10MB, Ethernet)": the number and libpcap's names, for messages.
std::string describe_dlt(int dlt);

// Why a packet produced no segment; `tcp` when it did.
enum class DecodeResult {
  tcp,
  non_ip,            // ARP, LLC, LLDP, ... (link payload is neither IPv4 nor IPv6)
  non_tcp,           // UDP, ICMP, ESP, ... (IP payload is not TCP)
  ipv4_fragment,     // any IPv4 fragment (MF set or offset != 0): not reassembled
  ipv6_fragment,     // IPv6 Fragment header other than an atomic fragment: not reassembled
  truncated_header,  // the capture ends inside a link, IP or TCP header (snaplen too small)
  malformed,         // header fields contradict each other or the frame length
};

const char* to_string(DecodeResult result);

// Counts of decoded segments and of skipped packets by reason.
struct DecodeCounters {
  uint64_t tcp_segments = 0;
  uint64_t snaplen_cut_segments = 0;  // payload incomplete (TcpSegment::truncated)
  uint64_t non_ip = 0;
  uint64_t non_tcp = 0;
  uint64_t ipv4_fragments = 0;
  uint64_t ipv6_fragments = 0;
  uint64_t truncated_headers = 0;
  uint64_t malformed = 0;
};

void count(DecodeCounters& counters, DecodeResult result);

// Decodes one packet. `captured` is what the capture holds (caplen bytes), `wire_len` the
// packet's length on the wire (len; values below captured.size() are treated as captured.size()).
// On DecodeResult::tcp, `out` is filled and out.payload points into `captured`.
// IP and TCP checksums are not verified: captures taken on the sending host carry unfinished
// checksums (offload).
DecodeResult decode_packet(LinkType link, uint64_t ts_ns, std::span<const uint8_t> captured,
                           uint32_t wire_len, TcpSegment& out);

}  // namespace difftrace::replay
