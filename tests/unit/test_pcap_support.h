// Helpers for the [pcap] and [tcp] tests: packet builders, capture file writers, a temp dir and
// a StreamSink that records what reassembly delivered.
#pragma once

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replay/stream_sink.h"
#include "replay/tcp_segment.h"

namespace difftrace::replay::test {

using Bytes = std::vector<uint8_t>;

inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
inline void put32le(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

inline bool is_v6(const std::string& addr) { return addr.find(':') != std::string::npos; }

inline IpAddr parse_ip(const std::string& text) {
  uint8_t buf[16] = {};
  if (is_v6(text)) {
    if (inet_pton(AF_INET6, text.c_str(), buf) != 1) throw std::invalid_argument(text);
    return make_ipv6(std::span<const uint8_t, 16>(buf, 16));
  }
  if (inet_pton(AF_INET, text.c_str(), buf) != 1) throw std::invalid_argument(text);
  return make_ipv4(std::span<const uint8_t, 4>(buf, 4));
}

// One TCP segment to build into packet bytes; IPv6 when the addresses contain ':'.
struct TcpPacket {
  std::string src = "10.0.0.1";
  std::string dst = "10.0.0.2";
  uint16_t sport = 40000;
  uint16_t dport = 80;
  uint32_t seq = 1000;
  uint32_t ack = 5000;
  uint8_t flags = tcp_flag::ack | tcp_flag::psh;
  std::string payload;
  Bytes tcp_options;  // a multiple of 4 bytes
};

inline Bytes tcp_bytes(const TcpPacket& p) {
  Bytes b;
  put16(b, p.sport);
  put16(b, p.dport);
  put32(b, p.seq);
  put32(b, p.ack);
  b.push_back(static_cast<uint8_t>((5 + p.tcp_options.size() / 4) << 4));
  b.push_back(p.flags);
  put16(b, 65535);  // window
  put16(b, 0);      // checksum (not verified)
  put16(b, 0);      // urgent pointer
  b.insert(b.end(), p.tcp_options.begin(), p.tcp_options.end());
  b.insert(b.end(), p.payload.begin(), p.payload.end());
  return b;
}

struct Ipv4Options {
  Bytes options{};                 // a multiple of 4 bytes
  uint16_t flags_fragment = 0x4000;  // DF
  uint8_t protocol = 6;
  int total_length = -1;           // -1: the real length
};

inline Bytes ipv4_bytes(const TcpPacket& p, const Ipv4Options& o = {}) {
  const Bytes l4 = tcp_bytes(p);
  Bytes b;
  b.push_back(static_cast<uint8_t>(0x40 | (5 + o.options.size() / 4)));
  b.push_back(0);
  const size_t total = 20 + o.options.size() + l4.size();
  put16(b, static_cast<uint16_t>(o.total_length >= 0 ? o.total_length : total));
  put16(b, 0x1234);  // id
  put16(b, o.flags_fragment);
  b.push_back(64);
  b.push_back(o.protocol);
  put16(b, 0);
  const IpAddr src = parse_ip(p.src);
  const IpAddr dst = parse_ip(p.dst);
  b.insert(b.end(), src.bytes.begin(), src.bytes.begin() + 4);
  b.insert(b.end(), dst.bytes.begin(), dst.bytes.begin() + 4);
  b.insert(b.end(), o.options.begin(), o.options.end());
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

// An IPv6 extension header: its type and body after the 2-byte (next header, length) prefix.
struct Ipv6Ext {
  uint8_t type;  // 0 hop-by-hop, 43 routing, 60 destination options, 44 fragment
  uint16_t fragment_offset_and_flags = 0;  // fragment only: offset << 3 | M
};

inline Bytes ipv6_bytes(const TcpPacket& p, const std::vector<Ipv6Ext>& exts = {},
                        uint8_t upper_protocol = 6) {
  Bytes ext_bytes;
  for (size_t i = 0; i < exts.size(); ++i) {
    const uint8_t next = i + 1 < exts.size() ? exts[i + 1].type : upper_protocol;
    ext_bytes.push_back(next);
    if (exts[i].type == 44) {
      ext_bytes.push_back(0);
      put16(ext_bytes, exts[i].fragment_offset_and_flags);
      put32(ext_bytes, 0xABCD);
    } else {
      ext_bytes.push_back(1);  // (1 + 1) * 8 = 16 bytes: PadN filler
      ext_bytes.push_back(1);
      ext_bytes.push_back(12);
      ext_bytes.insert(ext_bytes.end(), 12, 0);
    }
  }
  const Bytes l4 = tcp_bytes(p);
  Bytes b;
  put32(b, 0x60000000);
  put16(b, static_cast<uint16_t>(ext_bytes.size() + l4.size()));
  b.push_back(exts.empty() ? upper_protocol : exts[0].type);
  b.push_back(64);
  const IpAddr src = parse_ip(p.src);
  const IpAddr dst = parse_ip(p.dst);
  b.insert(b.end(), src.bytes.begin(), src.bytes.end());
  b.insert(b.end(), dst.bytes.begin(), dst.bytes.end());
  b.insert(b.end(), ext_bytes.begin(), ext_bytes.end());
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

inline Bytes ip_bytes(const TcpPacket& p) { return is_v6(p.src) ? ipv6_bytes(p) : ipv4_bytes(p); }

inline uint16_t ethertype_of(const Bytes& l3) {
  return !l3.empty() && l3[0] >> 4 == 6 ? 0x86DD : 0x0800;
}

// Ethernet II; each entry of `vlan_tpids` adds a tag (outermost first), e.g. {0x88A8, 0x8100}.
inline Bytes ethernet(const Bytes& l3, const std::vector<uint16_t>& vlan_tpids = {},
                      int ethertype = -1) {
  Bytes b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  for (size_t i = 0; i < vlan_tpids.size(); ++i) {
    put16(b, vlan_tpids[i]);
    put16(b, static_cast<uint16_t>(100 + i));  // TCI: VLAN id
  }
  put16(b, static_cast<uint16_t>(ethertype >= 0 ? ethertype : ethertype_of(l3)));
  b.insert(b.end(), l3.begin(), l3.end());
  return b;
}

inline Bytes linux_sll(const Bytes& l3) {
  Bytes b;
  put16(b, 0);  // packet type: to us
  put16(b, 772);  // ARPHRD_LOOPBACK
  put16(b, 6);
  b.insert(b.end(), 8, 0);
  put16(b, ethertype_of(l3));
  b.insert(b.end(), l3.begin(), l3.end());
  return b;
}

inline Bytes linux_sll2(const Bytes& l3) {
  Bytes b;
  put16(b, ethertype_of(l3));
  put16(b, 0);   // reserved
  put32(b, 1);   // interface index
  put16(b, 1);   // ARPHRD_ETHER
  b.push_back(4);  // outgoing
  b.push_back(6);
  b.insert(b.end(), 8, 0);
  b.insert(b.end(), l3.begin(), l3.end());
  return b;
}

// BSD loopback header: the address family in little- or big-endian order.
inline Bytes bsd_loopback(const Bytes& l3, uint32_t af, bool big_endian) {
  Bytes b;
  if (big_endian) {
    put32(b, af);
  } else {
    put32le(b, af);
  }
  b.insert(b.end(), l3.begin(), l3.end());
  return b;
}

struct Record {
  uint64_t ts_ns = 0;
  Bytes data;          // captured bytes
  uint32_t wire_len = 0;  // 0: data.size()
};

// Writes a classic pcap file with libpcap (pcap_dump), nanosecond or microsecond timestamps.
inline void write_pcap(const std::string& path, int dlt, const std::vector<Record>& records,
                       bool nanosecond = true, int snaplen = 262144) {
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(
      dlt, snaplen, nanosecond ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
  if (dead == nullptr) throw std::runtime_error("pcap_open_dead failed");
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  if (dumper == nullptr) {
    const std::string error = pcap_geterr(dead);
    pcap_close(dead);
    throw std::runtime_error("pcap_dump_open " + path + ": " + error);
  }
  for (const Record& r : records) {
    pcap_pkthdr header{};
    header.ts.tv_sec = static_cast<time_t>(r.ts_ns / 1'000'000'000);
    const uint64_t frac = r.ts_ns % 1'000'000'000;
    header.ts.tv_usec = static_cast<suseconds_t>(nanosecond ? frac : frac / 1000);
    header.caplen = static_cast<uint32_t>(r.data.size());
    header.len = r.wire_len != 0 ? r.wire_len : static_cast<uint32_t>(r.data.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, r.data.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
}

// A pcapng file (libpcap cannot write one): section header, one interface with `linktype`
// (if_tsresol 10^-tsresol s), and an enhanced packet block per record. Little-endian.
inline Bytes pcapng_bytes(uint16_t linktype, const std::vector<Record>& records, int tsresol = 9) {
  Bytes out;
  auto block = [&out](uint32_t type, const Bytes& body) {
    Bytes padded = body;
    while (padded.size() % 4 != 0) padded.push_back(0);
    const uint32_t total = static_cast<uint32_t>(12 + padded.size());
    put32le(out, type);
    put32le(out, total);
    out.insert(out.end(), padded.begin(), padded.end());
    put32le(out, total);
  };
  Bytes shb;
  put32le(shb, 0x1A2B3C4D);
  shb.push_back(1);  // major 1, minor 0 (little-endian 16-bit)
  shb.push_back(0);
  shb.push_back(0);
  shb.push_back(0);
  put32le(shb, 0xFFFFFFFF);  // section length unknown
  put32le(shb, 0xFFFFFFFF);
  block(0x0A0D0D0A, shb);
  Bytes idb;
  idb.push_back(static_cast<uint8_t>(linktype));
  idb.push_back(static_cast<uint8_t>(linktype >> 8));
  idb.push_back(0);
  idb.push_back(0);
  put32le(idb, 262144);
  if (tsresol != 6) {
    idb.push_back(9);  // if_tsresol
    idb.push_back(0);
    idb.push_back(1);
    idb.push_back(0);
    idb.push_back(static_cast<uint8_t>(tsresol));
    idb.insert(idb.end(), 3, 0);
    put32le(idb, 0);  // opt_endofopt
  }
  block(1, idb);
  for (const Record& r : records) {
    uint64_t units = r.ts_ns;
    for (int i = tsresol; i < 9; ++i) units /= 10;
    Bytes epb;
    put32le(epb, 0);  // interface 0
    put32le(epb, static_cast<uint32_t>(units >> 32));
    put32le(epb, static_cast<uint32_t>(units));
    put32le(epb, static_cast<uint32_t>(r.data.size()));
    put32le(epb, r.wire_len != 0 ? r.wire_len : static_cast<uint32_t>(r.data.size()));
    epb.insert(epb.end(), r.data.begin(), r.data.end());
    block(6, epb);
  }
  return out;
}

inline void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "difftrace-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Where tests/fixtures/pcap is: next to this source file, DIFFTRACE_FIXTURES/pcap, or
// tests/fixtures/pcap under the working directory or one of its parents (the repository root).
inline std::string fixture(const std::string& name) {
  namespace fs = std::filesystem;
  std::vector<fs::path> roots;
  roots.push_back(fs::path(__FILE__).parent_path() / ".." / "fixtures" / "pcap");
  if (const char* env = std::getenv("DIFFTRACE_FIXTURES")) roots.push_back(fs::path(env) / "pcap");
  std::error_code ec;
  for (fs::path dir = fs::current_path(ec); !dir.empty(); dir = dir.parent_path()) {
    roots.push_back(dir / "tests" / "fixtures" / "pcap");
    if (dir == dir.parent_path()) break;
  }
  for (const fs::path& root : roots) {
    if (fs::exists(root / name, ec)) return (root / name).string();
  }
  return (fs::path("tests") / "fixtures" / "pcap" / name).string();
}

// Records every event, and each connection's two streams with gaps written as "[gap N]".
class RecordingSink : public StreamSink {
 public:
  struct Conn {
    ConnKey key;
    uint64_t open_ts = 0;
    uint64_t close_ts = 0;
    bool closed = false;
    CloseReason reason = CloseReason::fin;
    std::string c2s;
    std::string s2c;
    uint64_t c2s_data_bytes = 0;
    uint64_t s2c_data_bytes = 0;
    uint64_t c2s_gap_bytes = 0;
    uint64_t s2c_gap_bytes = 0;
    std::vector<uint64_t> c2s_data_ts;
    std::vector<uint64_t> s2c_data_ts;
  };

  void on_open(const ConnKey& key, uint64_t ts_ns) override {
    events.push_back("open " + to_string(key));
    Conn c;
    c.key = key;
    c.open_ts = ts_ns;
    conns.push_back(c);
  }
  void on_data(const ConnKey& key, Direction dir, uint64_t ts_ns,
               std::span<const uint8_t> bytes) override {
    events.push_back(std::string("data ") + to_string(dir) + " " + std::to_string(bytes.size()));
    Conn& c = current(key);
    (dir == Direction::client_to_server ? c.c2s : c.s2c).append(bytes.begin(), bytes.end());
    (dir == Direction::client_to_server ? c.c2s_data_ts : c.s2c_data_ts).push_back(ts_ns);
    (dir == Direction::client_to_server ? c.c2s_data_bytes : c.s2c_data_bytes) += bytes.size();
  }
  void on_gap(const ConnKey& key, Direction dir, uint64_t, uint64_t bytes) override {
    events.push_back(std::string("gap ") + to_string(dir) + " " + std::to_string(bytes));
    Conn& c = current(key);
    (dir == Direction::client_to_server ? c.c2s : c.s2c) += "[gap " + std::to_string(bytes) + "]";
    (dir == Direction::client_to_server ? c.c2s_gap_bytes : c.s2c_gap_bytes) += bytes;
  }
  void on_close(const ConnKey& key, uint64_t ts_ns, CloseReason reason) override {
    events.push_back(std::string("close ") + to_string(reason));
    Conn& c = current(key);
    c.closed = true;
    c.close_ts = ts_ns;
    c.reason = reason;
  }

  // The latest connection with this key that is still open (events must come in order).
  Conn& current(const ConnKey& key) {
    for (auto it = conns.rbegin(); it != conns.rend(); ++it) {
      if (it->key == key && !it->closed) return *it;
    }
    throw std::logic_error("event for a connection that is not open: " + to_string(key));
  }

  std::vector<std::string> events;
  std::vector<Conn> conns;
};

}  // namespace difftrace::replay::test
