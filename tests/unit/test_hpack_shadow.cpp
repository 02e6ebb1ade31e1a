// [http2] The kernel's bounded HPACK shadow (include/protocols/http2/hpack_shadow.h), run on the
// host: by hand on the fields the filter needs, and against replay's HpackDecoder (libnghttp2)
// on every header block of the DeepFlow captures without gaps: the same unresolved counts, and
// the same :status and grpc-status wherever the shadow gives one; a request's traceparent
// (raw or Huffman-coded) on the shadow cases (tests/common/cases/hpack_shadow_cases.cpp).
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "common/cases/hpack_shadow_cases.h"
#include "common/cases/http2_cases.h"
#include "replay/capture_replay.h"
#include "replay/hpack_decoder.h"
#include "replay/http2_io.h"
#include "test_pcap_support.h"

using namespace difftrace;
using namespace difftrace::replay;

namespace {

h2s_result shadow_block(h2s_table& t, const std::string& block, bool request = false) {
  dt_window w{};
  REQUIRE(block.size() <= DT_WIN);
  std::memcpy(w.data, block.data(), block.size());
  h2s_result r{};
  h2s_block(&t, &w, 0, static_cast<__u32>(block.size()), request, &r);
  return r;
}

std::string str(const std::string& s) { return std::string(1, static_cast<char>(s.size())) + s; }

// The shadow's :path against libnghttp2's decoding of the same request block: the same text
// (its first H2S_PATH_MAX bytes) when the shadow read one, and never a path missed silently.
void check_path_against_decoder(const h2s_result& r, const HeaderBlock& want) {
  const std::string* path = want.find(":path");
  if (r.path.state == H2S_PATH_FOUND) {
    REQUIRE(path);
    CHECK(std::string(r.path.text, r.path.len) == path->substr(0, H2S_PATH_MAX));
    CHECK(bool(r.path.truncated) == (path->size() > H2S_PATH_MAX));
  } else if (path) {
    CHECK(r.path.state == H2S_PATH_UNRESOLVED);
  }
}

}  // namespace

TEST_CASE("hpack shadow: status, grpc-status, and what it cannot know", "[http2]") {
  h2s_table t{};
  SECTION("the literal name id of grpc-status is its hash") {
    dt_window w{};
    std::memcpy(w.data, "\x0bgrpc-status", 12);
    CHECK((h2s_hash(&w, 0, 12) | H2S_LITERAL) == H2S_GRPC_STATUS_NAME);
    // Huffman-coded (RFC 7541 appendix B), as grpc-go's encoder sends it
    std::memcpy(w.data, "\x88\x9a\xca\xc8\xb2\x12\x34\xda\x8f", 9);
    CHECK((h2s_hash(&w, 0, 9) | H2S_LITERAL) == H2S_GRPC_STATUS_HUFF);
  }
  SECTION("a Huffman-coded grpc-status name with a plain value (grpc-go's trailers)") {
    // literal with incremental indexing, new name: Huffman "grpc-status", plain "5"
    const h2s_result r =
        shadow_block(t, std::string("\x40\x88\x9a\xca\xc8\xb2\x12\x34\xda\x8f") + str("5"));
    CHECK(r.has_grpc_status);
    CHECK(r.grpc_status == 5);
    const h2s_result again = shadow_block(t, "\xbe");  // 62: the entry it added
    CHECK(again.has_grpc_status);
    CHECK(again.grpc_status == 5);
  }
  SECTION("static :status, literal grpc-status, content-type") {
    const h2s_result r = shadow_block(
        t, "\x8d" + std::string(1, '\0') + str("grpc-status") + str("14") + "\x5f\x10" "application/grpc");
    CHECK(r.status == 404);
    CHECK(r.has_grpc_status);
    CHECK(r.grpc_status == 14);
    CHECK(r.content_type);
    CHECK(r.unresolved == 0);
  }
  SECTION("entries it added are certain; older ones unresolved") {
    shadow_block(t, "\x40" + str("grpc-status") + str("3") + "\x48" + str("503"));
    const h2s_result r = shadow_block(t, "\xbf\xbe\xc6");  // 63, 62, 70
    CHECK(r.status == 503);  // 62: the newest, ":status: 503"
    CHECK(r.grpc_status == 3);
    CHECK(r.unresolved == 1);  // 70: before us
  }
  SECTION("a Huffman-coded status is not read: no status rather than a guessed one") {
    const h2s_result r = shadow_block(t, "\x08\x82\x10\x1f");  // :status, Huffman "200"
    CHECK(r.status == 0);
    CHECK(r.unresolved == 0);
  }
  SECTION("garbage: malformed, and unresolved after") {
    CHECK(shadow_block(t, "\x80").malformed);
    CHECK(shadow_block(t, "\x88").malformed);
  }
}

TEST_CASE("hpack shadow agrees with the HPACK decoder on the DeepFlow captures", "[http2]") {
  const auto name = GENERATE(as<std::string>{}, "grpc-service-name.pcap", "h2c_ascii.pcap",
                             "grpc-unknown.pcap", "http2-multi.pcap", "httpv2-stream-id.pcap",
                             "grpc-unary.pcap");
  INFO(name);
  test::RecordingSink rec;
  REQUIRE(replay_file(test::fixture("deepflow/" + name), rec).ok());
  REQUIRE(rec.conns.size() == 1);
  const auto& c = rec.conns[0];
  REQUIRE(c.c2s_gap_bytes + c.s2c_gap_bytes == 0);
  h2_conn conn{};
  HpackDecoder decoder[2];
  h2s_table shadow[2]{};
  std::string open[2];
  int blocks = 0, paths = 0;
  Http2Callbacks cb;
  cb.on_fragment = [&](const h2_fragment& f, std::span<const std::uint8_t> b) {
    std::string& block = open[f.dir & 1];
    block.append(reinterpret_cast<const char*>(b.data()), b.size());
    if (!f.last) return;
    const HeaderBlock want = decoder[f.dir & 1].decode(
        {reinterpret_cast<const std::uint8_t*>(block.data()), block.size()});
    const bool request = f.dir == DT_DIR_INGRESS;  // c2s is fed as ingress
    const h2s_result got = shadow_block(shadow[f.dir & 1], block, request);
    blocks++;
    if (request) check_path_against_decoder(got, want);
    if (request && got.path.state == H2S_PATH_FOUND) paths++;
    CHECK(got.unresolved == want.unresolved);
    CHECK_FALSE(got.malformed);
    if (got.status) CHECK(want.find(":status"));
    if (got.status) CHECK(std::to_string(got.status) == *want.find(":status"));
    if (got.has_grpc_status) CHECK(std::to_string(got.grpc_status) == *want.find("grpc-status"));
    block.clear();
  };
  auto feed = [&](int dir, const std::string& s) {
    http2_feed_io(conn, dir, 1, 1, {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}, cb);
  };
  feed(DT_DIR_INGRESS, c.c2s);
  feed(DT_DIR_EGRESS, c.s2c);
  CHECK(blocks > 0);
  if (name == "h2c_ascii.pcap" || name == "grpc-unary.pcap") CHECK(paths > 0);
}

TEST_CASE("hpack shadow: the literal name ids of traceparent", "[http2]") {
  dt_window w{};
  std::memcpy(w.data, "\x0btraceparent", 12);
  CHECK((h2s_hash(&w, 0, 12) | H2S_LITERAL) == H2S_TRACEPARENT_NAME);
  std::memcpy(w.data, "\x88\x4d\x83\x21\x6b\x1d\x85\xa9\x3f", 9);
  CHECK((h2s_hash(&w, 0, 9) | H2S_LITERAL) == H2S_TRACEPARENT_HUFF);
  // as libnghttp2's encoder writes the name (literal with indexing, new name): the same bytes
  const auto& first = testing::hpack_shadow_cases()[0].blocks[0].bytes;
  CHECK(first.find("\x40\x88\x4d\x83\x21\x6b\x1d\x85\xa9\x3f") != std::string::npos);
}

TEST_CASE("hpack shadow: the literal name ids of :path", "[http2]") {
  dt_window w{};
  std::memcpy(w.data, "\x05:path", 6);
  CHECK((h2s_hash(&w, 0, 6) | H2S_LITERAL) == H2S_PATH_NAME);
  std::memcpy(w.data, "\x84\xb9\x58\xd3\x3f", 5);
  CHECK((h2s_hash(&w, 0, 5) | H2S_LITERAL) == H2S_PATH_HUFF);
  // libnghttp2's encoder always names :path by its static index, so the Huffman-coded literal
  // name is checked with its decoder
  HpackDecoder decoder;
  const std::string b = std::string("\0\x84\xb9\x58\xd3\x3f", 6) + str("/a");
  const HeaderBlock got = decoder.decode({reinterpret_cast<const std::uint8_t*>(b.data()), b.size()});
  REQUIRE(got.find(":path"));
  CHECK(*got.find(":path") == "/a");
}

TEST_CASE("hpack shadow: the Huffman decoder's groups give every symbol its code", "[http2]") {
  // the canonical code rebuilt from the groups: each symbol once, codes consecutive
  int seen[257] = {};
  for (int g = 0; g < H2_HUFF_GROUPS; g++) {
    const int next_off = g + 1 < H2_HUFF_GROUPS ? h2_huff_groups[g + 1].off : 257;
    const std::uint64_t last = h2_huff_groups[g].first + (next_off - h2_huff_groups[g].off);
    CHECK(h2_huff_groups[g].limit == last << (32 - h2_huff_groups[g].len));
    for (int i = h2_huff_groups[g].off; i < next_off; i++) seen[i < 256 ? h2_huff_syms[i] : 256]++;
  }
  for (int s = 0; s < 257; s++) CHECK(seen[s] == 1);
}

TEST_CASE("hpack shadow reads a request's traceparent and :path, raw or Huffman-coded", "[http2]") {
  for (const auto& c : testing::hpack_shadow_cases()) {
    INFO(c.name);
    h2s_table t{};
    HpackDecoder decoder;
    int i = 0;
    for (const auto& b : c.blocks) {
      INFO("block " << i++);
      const h2s_result r = shadow_block(t, b.bytes, b.request);
      const HeaderBlock want =
          decoder.decode({reinterpret_cast<const std::uint8_t*>(b.bytes.data()), b.bytes.size()});
      CHECK_FALSE(r.malformed);
      if (b.request) check_path_against_decoder(r, want);
      if (b.path_state != testing::ShadowBlock::kPathUnchecked) {
        CHECK(int(r.path.state) == b.path_state);
        CHECK(std::string(r.path.text, r.path.len) == b.path);
      }
      CHECK(r.trace.unread == b.unread);
      CHECK(bool(r.trace.found) == !b.traceparent.empty());
      if (r.trace.found) {
        const std::string got = "00-" + std::string(r.trace.trace_id, 32) + "-" +
                                std::string(r.trace.parent_id, 16) + "-" +
                                std::string(r.trace.flags, 2);
        CHECK(got == b.traceparent);
        // libnghttp2's decoder reads the same text
        REQUIRE(want.find("traceparent"));
        CHECK(*want.find("traceparent") == got);
      } else if (b.request && want.find("traceparent")) {
        CHECK(r.trace.unread > 0);  // never missed silently
      }
    }
  }
}
