#include "replay/packet_decoder.h"

#include <pcap/pcap.h>

#include <algorithm>

namespace difftrace::replay {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86DD;
constexpr int kMaxVlanTags = 8;
constexpr int kMaxIpv6ExtHeaders = 16;
constexpr uint8_t kIpProtoTcp = 6;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
uint32_t le32(const uint8_t* p) {
  return uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | uint32_t{p[0]};
}

bool is_vlan_tpid(uint16_t ethertype) {
  return ethertype == 0x8100 || ethertype == 0x88A8 || ethertype == 0x9100 ||
         ethertype == 0x9200;
}

// The part of a packet from some header on: what was captured, and its length on the wire.
struct Layer {
  std::span<const uint8_t> cap;
  uint64_t wire = 0;  // >= cap.size()

  // The layer after the first n bytes (n <= wire). Past the captured bytes it is empty, so the
  // next decoder reports a header cut by the snaplen instead of reading beyond the capture.
  Layer after(size_t n) const {
    return {n <= cap.size() ? cap.subspan(n) : cap.last(0), wire - n};
  }
};

// A header of `need` bytes is missing: truncated by the snaplen, or the packet itself too short.
DecodeResult short_header(const Layer& layer, size_t need) {
  return layer.wire >= need ? DecodeResult::truncated_header : DecodeResult::malformed;
}

// `l4` is limited to the IP packet's extent: l4.wire is the TCP length from the IP header.
DecodeResult decode_tcp(const Layer& l4, TcpSegment& out) {
  if (l4.cap.size() < 20) return short_header(l4, 20);
  const uint8_t* p = l4.cap.data();
  const size_t header_len = size_t{static_cast<uint8_t>(p[12] >> 4)} * 4;
  if (header_len < 20 || header_len > l4.wire) return DecodeResult::malformed;
  if (header_len > l4.cap.size()) return DecodeResult::truncated_header;
  out.src_port = be16(p);
  out.dst_port = be16(p + 2);
  out.seq = be32(p + 4);
  out.ack = be32(p + 8);
  out.flags = p[13];
  out.payload = l4.cap.subspan(header_len);
  out.payload_wire_len = static_cast<uint32_t>(l4.wire - header_len);
  out.truncated = out.payload.size() < out.payload_wire_len;
  return DecodeResult::tcp;
}

// Limits `layer` to an IP packet of `total` bytes (total <= layer.wire), trimming link padding.
Layer ip_extent(const Layer& layer, uint64_t total) {
  return {layer.cap.first(std::min<uint64_t>(layer.cap.size(), total)), total};
}

DecodeResult decode_ipv4(const Layer& l3, TcpSegment& out) {
  if (l3.cap.size() < 20) return short_header(l3, 20);
  const uint8_t* p = l3.cap.data();
  if (p[0] >> 4 != 4) return DecodeResult::malformed;
  const size_t header_len = size_t{static_cast<uint8_t>(p[0] & 0x0F)} * 4;
  uint64_t total = be16(p + 2);
  if (total == 0) total = l3.wire;  // segmentation offload on the capturing host
  if (header_len < 20 || total < header_len || total > l3.wire) return DecodeResult::malformed;
  if (header_len > l3.cap.size()) return DecodeResult::truncated_header;
  if ((be16(p + 6) & 0x3FFF) != 0) return DecodeResult::ipv4_fragment;  // MF or offset
  if (p[9] != kIpProtoTcp) return DecodeResult::non_tcp;
  out.src = make_ipv4(std::span<const uint8_t, 4>(p + 12, 4));
  out.dst = make_ipv4(std::span<const uint8_t, 4>(p + 16, 4));
  return decode_tcp(ip_extent(l3, total).after(header_len), out);
}

DecodeResult decode_ipv6(const Layer& l3, TcpSegment& out) {
  if (l3.cap.size() < 40) return short_header(l3, 40);
  const uint8_t* p = l3.cap.data();
  if (p[0] >> 4 != 6) return DecodeResult::malformed;
  const uint16_t payload_len = be16(p + 4);
  // Payload length 0 is a jumbogram (RFC 2675): its length is the frame's.
  const uint64_t total = payload_len != 0 ? 40u + payload_len : l3.wire;
  if (total > l3.wire) return DecodeResult::malformed;
  const Layer packet = ip_extent(l3, total);
  uint8_t next = p[6];
  size_t off = 40;
  for (int i = 0; i <= kMaxIpv6ExtHeaders; ++i) {
    if (next == kIpProtoTcp) {
      out.src = make_ipv6(std::span<const uint8_t, 16>(p + 8, 16));
      out.dst = make_ipv6(std::span<const uint8_t, 16>(p + 24, 16));
      return decode_tcp(packet.after(off), out);
    }
    const bool generic = next == 0 || next == 43 || next == 60;  // hop-by-hop, routing, dest-opts
    const bool auth = next == 51;
    const bool fragment = next == 44;
    if (!generic && !auth && !fragment) return DecodeResult::non_tcp;
    const size_t need = fragment ? 8 : 2;
    if (off + need > packet.wire) return DecodeResult::malformed;
    if (off + need > packet.cap.size()) return DecodeResult::truncated_header;
    const uint8_t* ext = p + off;
    size_t ext_len = 8;
    if (generic) ext_len = (size_t{ext[1]} + 1) * 8;
    if (auth) ext_len = (size_t{ext[1]} + 2) * 4;
    if (fragment) {
      const uint16_t offset_and_more = be16(ext + 2);
      // An atomic fragment (offset 0, no more fragments, RFC 6946) is a whole packet.
      if ((offset_and_more & 0xFFF9) != 0) return DecodeResult::ipv6_fragment;
    }
    next = ext[0];
    off += ext_len;
    if (off > packet.wire) return DecodeResult::malformed;
  }
  return DecodeResult::malformed;  // more extension headers than any real packet carries
}

DecodeResult decode_ip_version(const Layer& l3, TcpSegment& out) {
  if (l3.cap.empty()) return short_header(l3, 1);
  switch (l3.cap[0] >> 4) {
    case 4: return decode_ipv4(l3, out);
    case 6: return decode_ipv6(l3, out);
    default: return DecodeResult::malformed;
  }
}

// `ethertype` was read just before `rest`; follows VLAN tags (each 4 bytes: TCI, next type).
DecodeResult decode_ethertype(uint16_t ethertype, Layer rest, TcpSegment& out) {
  for (int tags = 0; is_vlan_tpid(ethertype); ++tags) {
    if (tags == kMaxVlanTags) return DecodeResult::malformed;
    if (rest.cap.size() < 4) return short_header(rest, 4);
    ethertype = be16(rest.cap.data() + 2);
    rest = rest.after(4);
  }
  if (ethertype == kEtherIpv4) return decode_ipv4(rest, out);
  if (ethertype == kEtherIpv6) return decode_ipv6(rest, out);
  return DecodeResult::non_ip;
}

// BSD loopback address families: AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD, OpenBSD),
// 28 (FreeBSD), 30 (macOS), 10 (Linux).
DecodeResult decode_address_family(uint32_t af, const Layer& l3, TcpSegment& out) {
  if (af == 2) return decode_ipv4(l3, out);
  if (af == 24 || af == 28 || af == 30 || af == 10) return decode_ipv6(l3, out);
  return DecodeResult::non_ip;
}

}  // namespace

std::optional<LinkType> link_type_from_dlt(int dlt) {
  // DLT_RAW and DLT_LOOP differ between platforms (pcap/dlt.h); 101 is LINKTYPE_RAW.
  if (dlt == DLT_EN10MB) return LinkType::ethernet;
  if (dlt == DLT_LINUX_SLL) return LinkType::linux_sll;
  if (dlt == DLT_LINUX_SLL2) return LinkType::linux_sll2;
  if (dlt == DLT_RAW || dlt == 101) return LinkType::raw_ip;
  if (dlt == DLT_IPV4) return LinkType::ipv4;
  if (dlt == DLT_IPV6) return LinkType::ipv6;
  if (dlt == DLT_NULL) return LinkType::bsd_null;
  if (dlt == DLT_LOOP) return LinkType::bsd_loop;
  return std::nullopt;
}

std::string describe_dlt(int dlt) {
  std::string text = std::to_string(dlt);
  const char* name = pcap_datalink_val_to_name(dlt);
  const char* description = pcap_datalink_val_to_description(dlt);
  if (name != nullptr) {
    text += " (";
    text += name;
    if (description != nullptr) {
      text += ", ";
      text += description;
    }
    text += ")";
  }
  return text;
}

const char* to_string(DecodeResult result) {
  switch (result) {
    case DecodeResult::tcp: return "tcp";
    case DecodeResult::non_ip: return "non_ip";
    case DecodeResult::non_tcp: return "non_tcp";
    case DecodeResult::ipv4_fragment: return "ipv4_fragment";
    case DecodeResult::ipv6_fragment: return "ipv6_fragment";
    case DecodeResult::truncated_header: return "truncated_header";
    case DecodeResult::malformed: return "malformed";
  }
  return "?";
}

void count(DecodeCounters& counters, DecodeResult result) {
  switch (result) {
    case DecodeResult::tcp: ++counters.tcp_segments; break;
    case DecodeResult::non_ip: ++counters.non_ip; break;
    case DecodeResult::non_tcp: ++counters.non_tcp; break;
    case DecodeResult::ipv4_fragment: ++counters.ipv4_fragments; break;
    case DecodeResult::ipv6_fragment: ++counters.ipv6_fragments; break;
    case DecodeResult::truncated_header: ++counters.truncated_headers; break;
    case DecodeResult::malformed: ++counters.malformed; break;
  }
}

DecodeResult decode_packet(LinkType link, uint64_t ts_ns, std::span<const uint8_t> captured,
                           uint32_t wire_len, TcpSegment& out) {
  out = TcpSegment{};
  out.ts_ns = ts_ns;
  const Layer frame{captured, std::max<uint64_t>(wire_len, captured.size())};
  const uint8_t* p = captured.data();
  switch (link) {
    case LinkType::ethernet:
      if (captured.size() < 14) return short_header(frame, 14);
      return decode_ethertype(be16(p + 12), frame.after(14), out);
    case LinkType::linux_sll:
      if (captured.size() < 16) return short_header(frame, 16);
      return decode_ethertype(be16(p + 14), frame.after(16), out);
    case LinkType::linux_sll2:
      if (captured.size() < 20) return short_header(frame, 20);
      return decode_ethertype(be16(p), frame.after(20), out);
    case LinkType::raw_ip: return decode_ip_version(frame, out);
    case LinkType::ipv4: return decode_ipv4(frame, out);
    case LinkType::ipv6: return decode_ipv6(frame, out);
    case LinkType::bsd_null: {
      if (captured.size() < 4) return short_header(frame, 4);
      // Host byte order of the capturing machine: the reading that gives a small number wins.
      const uint32_t le = le32(p);
      return decode_address_family(le <= 0xFFFF ? le : be32(p), frame.after(4), out);
    }
    case LinkType::bsd_loop:
      if (captured.size() < 4) return short_header(frame, 4);
      return decode_address_family(be32(p), frame.after(4), out);
  }
  return DecodeResult::malformed;
}

}  // namespace difftrace::replay
