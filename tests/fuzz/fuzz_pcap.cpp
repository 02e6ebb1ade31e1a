// Build: clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Iuser tests/fuzz/fuzz_pcap.cpp user/replay/*.cpp user/capture/span_decoder.cpp user/capture/trace_context.cpp -lpcap -o build/fuzz_pcap && build/fuzz_pcap -max_total_time=60 -seed_inputs=tests/fixtures/pcap/lo_http11_keepalive.pcap
//
// libFuzzer target: arbitrary bytes as a pcap/pcapng file (fmemopen + pcap_fopen_offline),
// through decoding and TCP reassembly with small limits so eviction, timeouts and buffer limits
// are reached too; the reassembled streams go on into HttpReplay, so the HTTP/1.x boundary code
// (include/protocols/http1/) and the HTTP/2 follower see them. The same bytes also drive the
// HTTP/2 follower and HPACK decoding directly (fuzz_http2: pcap framing would keep most inputs
// from reaching them), as I/Os and gaps of either direction on one connection, and the kernel's
// HPACK shadow (fuzz_hpack_shadow) over the same bytes. The first input byte also picks a link type for a direct decode_packet() call
// over the rest, so every link layer decoder sees arbitrary bytes, not only the file's link type.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "protocols/http2/hpack_shadow.h"

#include "replay/capture_replay.h"
#include "replay/hpack_decoder.h"
#include "replay/http2_session.h"
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

// The kernel's HPACK shadow (include/protocols/http2/hpack_shadow.h) over the input as two
// request blocks on one table (its halves): its :path (Huffman decoder, path store) and
// traceparent walks must keep their bounds on any bytes.
void fuzz_hpack_shadow(const uint8_t* data, size_t size) {
  static dt_window w;
  h2s_table t{};
  const size_t half = size / 2;
  for (const auto& [off, n] : {std::pair<size_t, size_t>{0, half}, {half, size - half}}) {
    const size_t len = n < DT_WIN ? n : DT_WIN;
    std::memset(&w, 0, sizeof w);
    std::memcpy(w.data, data + off, len);
    h2s_result r{};
    h2s_block(&t, &w, 0, static_cast<__u32>(len), 1, &r);
    if (r.path.len > H2S_PATH_MAX || r.path.state > H2S_PATH_UNRESOLVED) __builtin_trap();
    if (r.path.state != H2S_PATH_FOUND && r.path.len) __builtin_trap();
  }
}

// Bytes as I/Os on one HTTP/2 connection: each control byte says the direction (bit 7), a gap
// (0x7f in the low bits) or the length of the I/O that follows (low 7 bits). Every exchange's
// record must keep the follower's own bounds; HPACK sees every header block. tests/fuzz/seeds
// holds two such inputs (a gRPC call; streams with CONTINUATION, padding, RST, GOAWAY, a gap).
void fuzz_http2(const uint8_t* data, size_t size) {
  uint64_t ts = 1;
  Http2Session session([](const Http2Exchange& x) {
    if (x.stream.id == 0 || x.stream.end_reason > H2_END_GOAWAY) __builtin_trap();
    if (x.stream.req_end_ns < x.stream.start_ns) __builtin_trap();
  });
  size_t at = 0;
  while (at < size) {
    const uint8_t control = data[at++];
    const int dir = control >> 7 ? DT_DIR_EGRESS : DT_DIR_INGRESS;
    const size_t n = control & 0x7f;
    ts += 1000;
    if (n == 0x7f) {
      if (!session.on_gap(dir)) return;
      continue;
    }
    const size_t len = n < size - at ? n : size - at;
    if (!session.on_data(dir, ts, {data + at, len})) return;
    at += len;
  }
  if (session.open_streams() > H2_MAX_STREAMS) __builtin_trap();
  session.on_close(ts + 1);
  if (session.open_streams() != 0) __builtin_trap();
  HpackDecoder hpack;  // the whole input as one header block too
  hpack.decode({data, size});
  fuzz_hpack_shadow(data, size);
}

constexpr LinkType kLinkTypes[] = {LinkType::ethernet, LinkType::linux_sll, LinkType::linux_sll2,
                                   LinkType::raw_ip,   LinkType::ipv4,      LinkType::ipv6,
                                   LinkType::bsd_null, LinkType::bsd_loop};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_http2(data, size);
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
