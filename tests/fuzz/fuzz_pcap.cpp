// Build: clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Iuser tests/fuzz/fuzz_pcap.cpp user/replay/*.cpp user/capture/span_decoder.cpp user/capture/trace_context.cpp -lpcap -o build/fuzz_pcap && build/fuzz_pcap -max_total_time=60 -seed_inputs=tests/fixtures/pcap/lo_http11_keepalive.pcap
//
// libFuzzer target: arbitrary bytes as a pcap/pcapng file (fmemopen + pcap_fopen_offline),
// through decoding and TCP reassembly with small limits so eviction, timeouts and buffer limits
// are reached too; the reassembled streams go on into HttpReplay, so the HTTP/1.x boundary code
// (include/protocols/http1/) and the HTTP/2 detection see them. The first input byte also picks a link type for a direct decode_packet() call
// over the rest, so every link layer decoder sees arbitrary bytes, not only the file's link type.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "replay/capture_replay.h"
#include "replay/http_replay.h"
#include "replay/packet_decoder.h"
#include "replay/pcap_source.h"
#include "replay/tcp_reassembly.h"

namespace {

using namespace difftrace::replay;

// Checks the sink contract (events only between open and close, gaps and data non-empty), then
// hands every event on to HttpReplay.
class CheckingSink : public StreamSink {
 public:
  void on_open(const ConnKey& key, uint64_t ts) override {
    ++open_;
    http_.on_open(key, ts);
  }
  void on_data(const ConnKey& key, Direction dir, uint64_t ts,
               std::span<const uint8_t> bytes) override {
    if (open_ == 0 || bytes.empty()) __builtin_trap();
    for (uint8_t b : bytes) checksum_ += b;  // touch every byte (ASan checks the span)
    http_.on_data(key, dir, ts, bytes);
  }
  void on_gap(const ConnKey& key, Direction dir, uint64_t ts, uint64_t bytes) override {
    if (open_ == 0 || bytes == 0) __builtin_trap();
    http_.on_gap(key, dir, ts, bytes);
  }
  void on_close(const ConnKey& key, uint64_t ts, CloseReason reason) override {
    if (open_ == 0) __builtin_trap();
    --open_;
    http_.on_close(key, ts, reason);
  }
  int64_t open_ = 0;
  uint64_t checksum_ = 0;
  HttpReplay http_{{}, [](difftrace::capture::Span&& span) {
                     if (span.path.size() >= HTTP_PATH_MAX) __builtin_trap();
                   }};
};

constexpr LinkType kLinkTypes[] = {LinkType::ethernet, LinkType::linux_sll, LinkType::linux_sll2,
                                   LinkType::raw_ip,   LinkType::ipv4,      LinkType::ipv6,
                                   LinkType::bsd_null, LinkType::bsd_loop};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 0) {
    TcpSegment segment;
    const LinkType link = kLinkTypes[data[0] % std::size(kLinkTypes)];
    const std::span<const uint8_t> rest(data + 1, size - 1);
    if (decode_packet(link, 0, rest, static_cast<uint32_t>(rest.size()) + data[0] % 3 * 50,
                      segment) == DecodeResult::tcp) {
      if (segment.payload.size() > segment.payload_wire_len) __builtin_trap();
      if (segment.payload.data() < rest.data() ||
          segment.payload.data() + segment.payload.size() > rest.data() + rest.size()) {
        __builtin_trap();
      }
    }
  }

  std::vector<uint8_t> copy(data, data + size);  // fmemopen needs a writable buffer
  FILE* stream = fmemopen(copy.data(), copy.size(), "rb");
  if (stream == nullptr) return 0;
  auto source = PcapSource::open_stream(stream, "fuzz");
  if (!source.ok()) return 0;
  CheckingSink sink;
  ReassemblyLimits limits;
  limits.max_connections = 8;
  limits.max_buffered_bytes_per_conn = 4096;
  limits.max_buffered_bytes_total = 8192;
  limits.idle_timeout_ns = 1'000'000'000;
  limits.closed_linger_ns = 100'000'000;
  TcpReassembler reassembler(sink, limits);
  replay_capture(source.value(), reassembler);
  if (sink.open_ != 0 || reassembler.connection_count() != 0 || reassembler.buffered_bytes() != 0) {
    __builtin_trap();
  }
  return 0;
}
