// [pcap] reading capture files: pcap and pcapng, every link type, timestamps, and broken files.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>

#include "replay/capture_replay.h"
#include "replay/pcap_source.h"
#include "test_pcap_support.h"

using namespace difftrace::replay;
using namespace difftrace::replay::test;

namespace {

TcpPacket packet(const std::string& src, const std::string& dst, const std::string& payload) {
  TcpPacket p;
  p.src = src;
  p.dst = dst;
  p.payload = payload;
  return p;
}

const TcpPacket kV4 = packet("10.1.1.1", "10.1.1.2", "hello v4");
const TcpPacket kV6 = packet("fd00::1", "fd00::2", "hello v6");

struct ReadAll {
  std::vector<TcpSegment> segments;
  std::vector<std::string> payloads;
  PcapSource::Next last = PcapSource::Next::end;
};

ReadAll read_all(PcapSource& source) {
  ReadAll all;
  TcpSegment s;
  while ((all.last = source.next(s)) == PcapSource::Next::segment) {
    all.segments.push_back(s);
    all.payloads.emplace_back(s.payload.begin(), s.payload.end());
  }
  return all;
}

struct LinkCase {
  const char* name;
  int dlt;
  Bytes (*frame)(const Bytes& l3);
  bool v4;
  bool v6;
};

Bytes frame_ethernet(const Bytes& l3) { return ethernet(l3); }
Bytes frame_vlan(const Bytes& l3) { return ethernet(l3, {0x88A8, 0x8100}); }
Bytes frame_raw(const Bytes& l3) { return l3; }
Bytes frame_null(const Bytes& l3) {
  return bsd_loopback(l3, l3[0] >> 4 == 4 ? 2 : 30, /*big_endian=*/false);
}
Bytes frame_loop(const Bytes& l3) { return bsd_loopback(l3, l3[0] >> 4 == 4 ? 2 : 24, true); }

const std::vector<LinkCase> kLinkCases = {
    {"EN10MB", DLT_EN10MB, frame_ethernet, true, true},
    {"EN10MB QinQ", DLT_EN10MB, frame_vlan, true, true},
    {"LINUX_SLL", DLT_LINUX_SLL, linux_sll, true, true},
    {"LINUX_SLL2", DLT_LINUX_SLL2, linux_sll2, true, true},
    {"RAW", DLT_RAW, frame_raw, true, true},
    {"IPV4", DLT_IPV4, frame_raw, true, false},
    {"IPV6", DLT_IPV6, frame_raw, false, true},
    {"NULL", DLT_NULL, frame_null, true, true},
    {"LOOP", DLT_LOOP, frame_loop, true, true},
};

std::vector<Record> records_for(const LinkCase& c) {
  std::vector<Record> records;
  if (c.v4) records.push_back({1'700'000'000'123'456'789ull, c.frame(ipv4_bytes(kV4)), 0});
  if (c.v6) records.push_back({1'700'000'001'000'000'001ull, c.frame(ipv6_bytes(kV6)), 0});
  return records;
}

void check_read(PcapSource& source, const LinkCase& c, bool nanosecond) {
  const ReadAll all = read_all(source);
  CHECK(all.last == PcapSource::Next::end);
  CHECK(source.error().empty());
  const std::vector<Record> records = records_for(c);
  REQUIRE(all.segments.size() == records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const uint64_t expected_ts = nanosecond ? records[i].ts_ns : records[i].ts_ns / 1000 * 1000;
    CHECK(all.segments[i].ts_ns == expected_ts);
  }
  size_t i = 0;
  if (c.v4) {
    CHECK(all.payloads[i] == "hello v4");
    CHECK(to_string(all.segments[i].src) == "10.1.1.1");
    ++i;
  }
  if (c.v6) {
    CHECK(all.payloads[i] == "hello v6");
    CHECK(to_string(all.segments[i].dst) == "fd00::2");
  }
  CHECK(source.read_counters().records == records.size());
  CHECK(source.decode_counters().tcp_segments == records.size());
}

// pcap file header (24 bytes) then per record a 16-byte header: ts_sec, ts_frac, caplen, len.
constexpr size_t kFileHeader = 24;
constexpr size_t kRecordHeader = 16;

void put_le32_at(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.at(at + i) = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

TEST_CASE("pcap files of every supported link type are read", "[pcap]") {
  TempDir dir;
  for (const LinkCase& c : kLinkCases) {
    SECTION(c.name) {
      for (const bool nanosecond : {true, false}) {
        const std::string path = dir.file(std::string(c.name) + (nanosecond ? ".ns" : ".us"));
        write_pcap(path, c.dlt, records_for(c), nanosecond);
        auto source = PcapSource::open(path);
        REQUIRE(source.ok());
        CHECK(source->dlt() == c.dlt);
        check_read(source.value(), c, nanosecond);
      }
    }
  }
}

TEST_CASE("pcapng files are read, with nanosecond and microsecond resolution", "[pcap]") {
  TempDir dir;
  for (const LinkCase& c : kLinkCases) {
    if (c.dlt == DLT_RAW || c.dlt == DLT_LOOP) continue;  // their LINKTYPE_ differs from DLT_
    SECTION(c.name) {
      for (const int tsresol : {9, 6}) {
        const std::string path = dir.file(std::string(c.name) + ".pcapng");
        write_file(path, pcapng_bytes(static_cast<uint16_t>(c.dlt), records_for(c), tsresol));
        auto source = PcapSource::open(path);
        REQUIRE(source.ok());
        check_read(source.value(), c, tsresol == 9);
      }
    }
  }
  SECTION("LINKTYPE_RAW (101) and LINKTYPE_LOOP (108)") {
    const std::string path = dir.file("raw.pcapng");
    write_file(path, pcapng_bytes(101, records_for(kLinkCases[4]), 9));
    auto raw = PcapSource::open(path);
    REQUIRE(raw.ok());
    CHECK(raw->link_type() == LinkType::raw_ip);
    check_read(raw.value(), kLinkCases[4], true);
    write_file(path, pcapng_bytes(108, records_for(kLinkCases[8]), 9));
    auto loop = PcapSource::open(path);
    REQUIRE(loop.ok());
    CHECK(loop->link_type() == LinkType::bsd_loop);
    check_read(loop.value(), kLinkCases[8], true);
  }
}

TEST_CASE("files that cannot be replayed fail to open with a clear message", "[pcap]") {
  TempDir dir;
  SECTION("unknown link type names it") {
    const std::string path = dir.file("user0.pcap");
    write_pcap(path, DLT_USER0, {{1, to_bytes("anything"), 0}});
    auto source = PcapSource::open(path);
    REQUIRE_FALSE(source.ok());
    INFO(source.error().message());
    CHECK(source.error().message().find(path) != std::string::npos);
    CHECK(source.error().message().find("unsupported link type 147") != std::string::npos);
  }
  SECTION("802.11 is not decoded either") {
    const std::string path = dir.file("wifi.pcap");
    write_pcap(path, DLT_IEEE802_11, {});
    auto source = PcapSource::open(path);
    REQUIRE_FALSE(source.ok());
    CHECK(source.error().message().find("IEEE802_11") != std::string::npos);
  }
  SECTION("missing file") {
    auto source = PcapSource::open(dir.file("nope.pcap"));
    REQUIRE_FALSE(source.ok());
    CHECK(source.error().message().find("nope.pcap") != std::string::npos);
    CHECK(source.error().message().find("No such file") != std::string::npos);
  }
  SECTION("not a capture") {
    const std::string path = dir.file("text.pcap");
    write_file(path, to_bytes("GET / HTTP/1.1\r\nHost: example\r\n\r\nmore than a header's worth"));
    auto source = PcapSource::open(path);
    REQUIRE_FALSE(source.ok());
    CHECK(source.error().message().find("text.pcap") != std::string::npos);
  }
  SECTION("empty file") {
    const std::string path = dir.file("empty.pcap");
    write_file(path, {});
    CHECK_FALSE(PcapSource::open(path).ok());
  }
}

TEST_CASE("a truncated or corrupt file stops with a message and keeps what came before",
          "[pcap]") {
  TempDir dir;
  const std::string path = dir.file("three.pcap");
  const Bytes frame = ethernet(ipv4_bytes(kV4));
  write_pcap(path, DLT_EN10MB, {{1000, frame, 0}, {2000, frame, 0}, {3000, frame, 0}});
  const Bytes good = read_file(path);
  const size_t record = kRecordHeader + frame.size();
  REQUIRE(good.size() == kFileHeader + 3 * record);
  const size_t third = kFileHeader + 2 * record;

  struct BrokenCase {
    const char* name;
    Bytes file;
    const char* message_part;
  };
  Bytes cut_in_data(good.begin(), good.begin() + static_cast<long>(third + kRecordHeader + 10));
  Bytes cut_in_header(good.begin(), good.begin() + static_cast<long>(third + 5));
  Bytes huge_caplen = good;
  put_le32_at(huge_caplen, third + 8, 0x7FFFFFF0);
  Bytes caplen_over_len = good;
  put_le32_at(caplen_over_len, third + 12, 20);  // len 20 < caplen
  const std::vector<BrokenCase> cases = {
      {"truncated inside a record's data", cut_in_data, "truncated"},
      {"truncated inside a record header", cut_in_header, "truncated"},
      {"record with an impossible captured length", huge_caplen, "capture length"},
      {"record whose captured length exceeds its length", caplen_over_len, "exceeds"},
  };
  for (const BrokenCase& c : cases) {
    SECTION(c.name) {
      write_file(path, c.file);
      auto source = PcapSource::open(path);
      REQUIRE(source.ok());
      const ReadAll all = read_all(source.value());
      CHECK(all.last == PcapSource::Next::error);
      CHECK(all.segments.size() == 2);
      INFO(source->error());
      CHECK(source->error().find(path + ": record 3: ") == 0);
      CHECK(source->error().find(c.message_part) != std::string::npos);
      CHECK(source->error().find("keeping the 2 records") != std::string::npos);
      CHECK(source->read_counters().records == 2);
      CHECK(source->read_counters().corrupt_records == 1);
      TcpSegment s;
      CHECK(source->next(s) == PcapSource::Next::error);  // stays stopped

      RecordingSink sink;
      auto summary = replay_file(path, sink);
      REQUIRE(summary.ok());
      CHECK(summary->stopped_early == source->error());
      CHECK(summary->tcp.bytes_delivered == kV4.payload.size());  // the two copies overlap
    }
  }
}

TEST_CASE("skipped packets are counted by reason", "[pcap]") {
  TempDir dir;
  const std::string path = dir.file("mixed.pcap");
  TcpPacket big = kV4;
  big.payload = std::string(200, 'b');
  const Bytes big_frame = ethernet(ipv4_bytes(big));
  write_pcap(path, DLT_EN10MB,
             {
                 {1, ethernet(ipv4_bytes(kV4), {}, 0x0806), 0},                        // ARP
                 {2, ethernet(ipv4_bytes(kV4, {.protocol = 17})), 0},                 // UDP
                 {3, ethernet(ipv4_bytes(kV4, {.flags_fragment = 0x2000})), 0},       // fragment
                 {4, ethernet(ipv6_bytes(kV6, {{44, 0x0001}})), 0},                   // fragment
                 {5, Bytes(big_frame.begin(), big_frame.begin() + 30), 0},            // malformed
                 {6, Bytes(big_frame.begin(), big_frame.begin() + 30),
                  static_cast<uint32_t>(big_frame.size())},  // IPv4 header cut by snaplen
                 {7, Bytes(big_frame.begin(), big_frame.begin() + 100),
                  static_cast<uint32_t>(big_frame.size())},  // payload cut by snaplen
                 {8, ethernet(ipv4_bytes(kV4)), 0},
             },
             true, 100);
  auto source = PcapSource::open(path);
  REQUIRE(source.ok());
  const ReadAll all = read_all(source.value());
  CHECK(all.last == PcapSource::Next::end);
  REQUIRE(all.segments.size() == 2);
  CHECK(all.segments[0].truncated);
  CHECK(all.segments[0].payload.size() == 100 - 54);
  CHECK(all.segments[0].payload_wire_len == 200);
  CHECK_FALSE(all.segments[1].truncated);
  const DecodeCounters& d = source->decode_counters();
  CHECK(d.non_ip == 1);
  CHECK(d.non_tcp == 1);
  CHECK(d.ipv4_fragments == 1);
  CHECK(d.ipv6_fragments == 1);
  CHECK(d.malformed == 1);
  CHECK(d.truncated_headers == 1);
  CHECK(d.tcp_segments == 2);
  CHECK(d.snaplen_cut_segments == 1);
  CHECK(source->read_counters().records == 8);
  CHECK(source->read_counters().snaplen_cut_records == 2);
}

TEST_CASE("a capture is read from a memory stream", "[pcap]") {
  Bytes file = pcapng_bytes(DLT_EN10MB, {{5, ethernet(ipv6_bytes(kV6)), 0}});
  FILE* stream = fmemopen(file.data(), file.size(), "rb");
  REQUIRE(stream != nullptr);
  auto source = PcapSource::open_stream(stream, "memory");
  REQUIRE(source.ok());
  CHECK(source->name() == "memory");
  const ReadAll all = read_all(source.value());
  REQUIRE(all.payloads.size() == 1);
  CHECK(all.payloads[0] == "hello v6");

  Bytes junk = to_bytes("definitely not a capture file, not at all");
  auto bad = PcapSource::open_stream(fmemopen(junk.data(), junk.size(), "rb"), "junk");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message().find("junk") != std::string::npos);
}
