// [pcap] packet decoding: every link type, IPv4/IPv6 variants, skipped packets, snaplen cuts.
#include <catch2/catch.hpp>

#include "replay/packet_decoder.h"
#include "test_pcap_support.h"

using namespace difftrace::replay;
using namespace difftrace::replay::test;

namespace {

TcpPacket v4_packet() {
  TcpPacket p;
  p.src = "192.0.2.10";
  p.dst = "198.51.100.20";
  p.sport = 43230;
  p.dport = 80;
  p.seq = 0xFFFFFF00;
  p.ack = 77;
  p.payload = "GET / HTTP/1.1\r\n\r\n";
  return p;
}

TcpPacket v6_packet() {
  TcpPacket p = v4_packet();
  p.src = "2001:db8::10";
  p.dst = "2001:db8::20";
  return p;
}

Bytes with_byte(Bytes b, size_t index, uint8_t value) {
  b.at(index) = value;
  return b;
}

Bytes first(const Bytes& b, size_t n) { return Bytes(b.begin(), b.begin() + static_cast<long>(n)); }

std::string payload_of(const TcpSegment& s) {
  return std::string(s.payload.begin(), s.payload.end());
}

struct DecodeCase {
  const char* name;
  LinkType link;
  Bytes frame;
  TcpPacket expected;
};

}  // namespace

TEST_CASE("every link type decodes to the same TCP segment", "[pcap]") {
  const TcpPacket p4 = v4_packet();
  const TcpPacket p6 = v6_packet();
  const Bytes ip4 = ipv4_bytes(p4);
  const Bytes ip6 = ipv6_bytes(p6);
  const std::vector<DecodeCase> cases = {
      {"ethernet ipv4", LinkType::ethernet, ethernet(ip4), p4},
      {"ethernet ipv6", LinkType::ethernet, ethernet(ip6), p6},
      {"ethernet 802.1Q ipv4", LinkType::ethernet, ethernet(ip4, {0x8100}), p4},
      {"ethernet QinQ 802.1ad+802.1Q ipv6", LinkType::ethernet, ethernet(ip6, {0x88A8, 0x8100}),
       p6},
      {"ethernet 0x9100 double tag ipv4", LinkType::ethernet, ethernet(ip4, {0x9100, 0x8100}), p4},
      {"linux sll ipv4", LinkType::linux_sll, linux_sll(ip4), p4},
      {"linux sll ipv6", LinkType::linux_sll, linux_sll(ip6), p6},
      {"linux sll2 ipv4", LinkType::linux_sll2, linux_sll2(ip4), p4},
      {"linux sll2 ipv6", LinkType::linux_sll2, linux_sll2(ip6), p6},
      {"raw ip v4", LinkType::raw_ip, ip4, p4},
      {"raw ip v6", LinkType::raw_ip, ip6, p6},
      {"linktype ipv4", LinkType::ipv4, ip4, p4},
      {"linktype ipv6", LinkType::ipv6, ip6, p6},
      {"bsd null little-endian AF_INET", LinkType::bsd_null, bsd_loopback(ip4, 2, false), p4},
      {"bsd null big-endian AF_INET", LinkType::bsd_null, bsd_loopback(ip4, 2, true), p4},
      {"bsd null AF_INET6 macOS 30", LinkType::bsd_null, bsd_loopback(ip6, 30, false), p6},
      {"bsd null AF_INET6 FreeBSD 28", LinkType::bsd_null, bsd_loopback(ip6, 28, false), p6},
      {"bsd null AF_INET6 OpenBSD 24 big-endian", LinkType::bsd_null,
       bsd_loopback(ip6, 24, true), p6},
      {"bsd loop AF_INET", LinkType::bsd_loop, bsd_loopback(ip4, 2, true), p4},
      {"bsd loop AF_INET6", LinkType::bsd_loop, bsd_loopback(ip6, 24, true), p6},
      {"ipv4 with options", LinkType::ethernet,
       ethernet(ipv4_bytes(p4, {.options = {0x01, 0x01, 0x07, 0x07, 3, 4, 0, 0}})), p4},
      {"ipv4 total length 0 (segmentation offload)", LinkType::ethernet,
       ethernet(ipv4_bytes(p4, {.total_length = 0})), p4},
      {"ipv6 hop-by-hop, routing, destination options", LinkType::ethernet,
       ethernet(ipv6_bytes(p6, {{0}, {43}, {60}})), p6},
      {"ipv6 atomic fragment", LinkType::raw_ip, ipv6_bytes(p6, {{44, 0}}), p6},
  };
  for (const DecodeCase& c : cases) {
    SECTION(c.name) {
      TcpSegment s;
      REQUIRE(decode_packet(c.link, 42, c.frame, static_cast<uint32_t>(c.frame.size()), s) ==
              DecodeResult::tcp);
      CHECK(s.ts_ns == 42);
      CHECK(to_string(s.src) == c.expected.src);
      CHECK(to_string(s.dst) == c.expected.dst);
      CHECK(s.src.family == (is_v6(c.expected.src) ? IpFamily::v6 : IpFamily::v4));
      CHECK(s.src_port == c.expected.sport);
      CHECK(s.dst_port == c.expected.dport);
      CHECK(s.seq == c.expected.seq);
      CHECK(s.ack == c.expected.ack);
      CHECK(s.flags == c.expected.flags);
      CHECK(payload_of(s) == c.expected.payload);
      CHECK(s.payload_wire_len == c.expected.payload.size());
      CHECK_FALSE(s.truncated);
    }
  }
}

TEST_CASE("TCP options and ethernet padding do not leak into the payload", "[pcap]") {
  TcpPacket p = v4_packet();
  p.payload = "";
  p.flags = tcp_flag::ack;
  Bytes frame = ethernet(ipv4_bytes(p));
  REQUIRE(frame.size() == 54);
  frame.resize(60, 0xEE);  // minimum Ethernet frame: padding after the IP packet
  TcpSegment s;
  REQUIRE(decode_packet(LinkType::ethernet, 1, frame, 64 /* with FCS */, s) == DecodeResult::tcp);
  CHECK(s.payload.empty());
  CHECK(s.payload_wire_len == 0);
  CHECK_FALSE(s.truncated);

  p.tcp_options = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};  // NOP NOP timestamps
  p.payload = "abc";
  const Bytes with_options = ethernet(ipv4_bytes(p));
  REQUIRE(decode_packet(LinkType::ethernet, 1, with_options, 0, s) == DecodeResult::tcp);
  CHECK(payload_of(s) == "abc");
}

TEST_CASE("packets that are not TCP segments are skipped with a reason", "[pcap]") {
  const TcpPacket p4 = v4_packet();
  const TcpPacket p6 = v6_packet();
  const Bytes eth4 = ethernet(ipv4_bytes(p4));
  struct SkipCase {
    const char* name;
    LinkType link;
    Bytes frame;
    uint32_t wire_len;  // 0: frame size
    DecodeResult expected;
  };
  Bytes nine_tags_frame = ethernet(ipv4_bytes(p4), std::vector<uint16_t>(9, 0x8100));
  const std::vector<SkipCase> cases = {
      {"ARP", LinkType::ethernet, ethernet(ipv4_bytes(p4), {}, 0x0806), 0, DecodeResult::non_ip},
      {"802.3 length field", LinkType::ethernet, ethernet(ipv4_bytes(p4), {}, 0x0040), 0,
       DecodeResult::non_ip},
      {"SLL ARP", LinkType::linux_sll, with_byte(linux_sll(ipv4_bytes(p4)), 15, 0x06), 0,
       DecodeResult::non_ip},
      {"BSD null unknown family", LinkType::bsd_null, bsd_loopback(ipv4_bytes(p4), 99, false), 0,
       DecodeResult::non_ip},
      {"UDP over IPv4", LinkType::ethernet, ethernet(ipv4_bytes(p4, {.protocol = 17})), 0,
       DecodeResult::non_tcp},
      {"UDP over IPv6", LinkType::raw_ip, ipv6_bytes(p6, {}, 17), 0, DecodeResult::non_tcp},
      {"ESP over IPv6", LinkType::raw_ip, ipv6_bytes(p6, {}, 50), 0, DecodeResult::non_tcp},
      {"IPv4 first fragment (MF)", LinkType::ethernet,
       ethernet(ipv4_bytes(p4, {.flags_fragment = 0x2000})), 0, DecodeResult::ipv4_fragment},
      {"IPv4 later fragment (offset)", LinkType::ethernet,
       ethernet(ipv4_bytes(p4, {.flags_fragment = 0x0010})), 0, DecodeResult::ipv4_fragment},
      {"IPv6 first fragment", LinkType::raw_ip, ipv6_bytes(p6, {{0}, {44, 0x0001}}), 0,
       DecodeResult::ipv6_fragment},
      {"IPv6 later fragment", LinkType::raw_ip, ipv6_bytes(p6, {{44, 185 << 3}}), 0,
       DecodeResult::ipv6_fragment},
      {"ethernet header cut by snaplen", LinkType::ethernet, first(eth4, 10), 100,
       DecodeResult::truncated_header},
      {"ethernet frame too short", LinkType::ethernet, first(eth4, 10), 0, DecodeResult::malformed},
      {"IPv4 header cut by snaplen", LinkType::ethernet, first(eth4, 14 + 12),
       static_cast<uint32_t>(eth4.size()), DecodeResult::truncated_header},
      {"TCP header cut by snaplen", LinkType::ethernet, first(eth4, 14 + 20 + 10),
       static_cast<uint32_t>(eth4.size()), DecodeResult::truncated_header},
      {"IPv6 extension header cut by snaplen", LinkType::raw_ip,
       first(ipv6_bytes(p6, {{0}}), 41), 200, DecodeResult::truncated_header},
      // Found by the fuzzer: the extension header is whole but ends past the captured bytes.
      {"IPv6 extension header ends past the snaplen", LinkType::raw_ip,
       first(ipv6_bytes(p6, {{0}}), 44), 200, DecodeResult::truncated_header},
      {"IPv4 IHL below 5", LinkType::ethernet, with_byte(eth4, 14, 0x44), 0,
       DecodeResult::malformed},
      {"IPv4 total length beyond the frame", LinkType::ethernet,
       ethernet(ipv4_bytes(p4, {.total_length = 1500})), 0, DecodeResult::malformed},
      {"TCP data offset below 5", LinkType::ethernet, with_byte(eth4, 14 + 20 + 12, 0x40), 0,
       DecodeResult::malformed},
      {"TCP data offset beyond the packet", LinkType::ethernet,
       with_byte(eth4, 14 + 20 + 12, 0xF0), 0, DecodeResult::malformed},
      {"raw IP version 5", LinkType::raw_ip, with_byte(ipv4_bytes(p4), 0, 0x55), 0,
       DecodeResult::malformed},
      {"IPv6 inside an IPv4 ethertype", LinkType::ethernet,
       ethernet(ipv6_bytes(p6), {}, 0x0800), 0, DecodeResult::malformed},
      {"nine VLAN tags", LinkType::ethernet, nine_tags_frame, 0, DecodeResult::malformed},
      {"empty raw packet", LinkType::raw_ip, Bytes{}, 0, DecodeResult::malformed},
  };
  for (const SkipCase& c : cases) {
    SECTION(c.name) {
      TcpSegment s;
      const uint32_t wire = c.wire_len != 0 ? c.wire_len : static_cast<uint32_t>(c.frame.size());
      const DecodeResult got = decode_packet(c.link, 1, c.frame, wire, s);
      INFO("got " << to_string(got) << ", expected " << to_string(c.expected));
      CHECK(got == c.expected);
      DecodeCounters counters;
      count(counters, got);
      const uint64_t skipped = counters.non_ip + counters.non_tcp + counters.ipv4_fragments +
                               counters.ipv6_fragments + counters.truncated_headers +
                               counters.malformed;
      CHECK(skipped == 1);
      CHECK(counters.tcp_segments == 0);
    }
  }
}

TEST_CASE("a snaplen-cut payload is marked truncated with its wire length", "[pcap]") {
  TcpPacket p = v4_packet();
  p.payload = std::string(100, 'x');
  for (const bool v6 : {false, true}) {
    if (v6) {
      p.src = "2001:db8::1";
      p.dst = "2001:db8::2";
    }
    const Bytes full = ethernet(ip_bytes(p));
    const size_t headers = full.size() - 100;
    TcpSegment s;
    REQUIRE(decode_packet(LinkType::ethernet, 1, first(full, headers + 30),
                          static_cast<uint32_t>(full.size()), s) == DecodeResult::tcp);
    CHECK(s.truncated);
    CHECK(s.payload.size() == 30);
    CHECK(s.payload_wire_len == 100);

    // Cut after the payload (only the Ethernet FCS missing): complete.
    REQUIRE(decode_packet(LinkType::ethernet, 1, full, static_cast<uint32_t>(full.size() + 4), s) ==
            DecodeResult::tcp);
    CHECK_FALSE(s.truncated);
    CHECK(s.payload.size() == 100);
  }
}

TEST_CASE("link types map from libpcap DLT values", "[pcap]") {
  CHECK(link_type_from_dlt(DLT_EN10MB) == LinkType::ethernet);
  CHECK(link_type_from_dlt(DLT_LINUX_SLL) == LinkType::linux_sll);
  CHECK(link_type_from_dlt(DLT_LINUX_SLL2) == LinkType::linux_sll2);
  CHECK(link_type_from_dlt(DLT_RAW) == LinkType::raw_ip);
  CHECK(link_type_from_dlt(101) == LinkType::raw_ip);  // LINKTYPE_RAW
  CHECK(link_type_from_dlt(DLT_IPV4) == LinkType::ipv4);
  CHECK(link_type_from_dlt(DLT_IPV6) == LinkType::ipv6);
  CHECK(link_type_from_dlt(DLT_NULL) == LinkType::bsd_null);
  CHECK(link_type_from_dlt(DLT_LOOP) == LinkType::bsd_loop);
  CHECK_FALSE(link_type_from_dlt(DLT_USER0).has_value());
  CHECK_FALSE(link_type_from_dlt(DLT_IEEE802_11).has_value());
  CHECK(describe_dlt(DLT_IEEE802_11).find("105 (IEEE802_11") == 0);
  CHECK(describe_dlt(DLT_USER0).find("147") == 0);
  CHECK(describe_dlt(9999) == "9999");
}
