// HTTP/2's frame follower, host and kernel, in lockstep over every fixture capture: each
// connection's reassembled bytes go piece by piece (as replay and the kernel's h2_io walk an
// I/O) to the host's h2_feed and to the same function run in the kernel (bpf/http_test.bpf.c,
// on a state the kernel keeps, its streams in the kernel's stream map). Every step must return
// the same result, consume the same bytes, report the same header block fragment and finish
// the same stream; gaps (h2_lost) and closes (h2_close) too. The HPACK shadow's walk
// (h2s_block, traceparent included) on the shadow cases, host and kernel: the same result and
// the same table after every block.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "bpf_environment.h"
#include "common/cases/hpack_shadow_cases.h"
#include "fixture_captures.h"
#include "kernel_driver.h"
#include "protocols/http2/follow.h"
#include "replay/capture_replay.h"
#include "replay/stream_sink.h"

using namespace difftrace;
using namespace difftrace::testing;

namespace {

std::string describe(const h2_stream& s) {
  std::ostringstream o;
  o << "stream " << s.id << " bits " << int(s.bits) << " end " << int(s.end_reason) << " t "
    << s.start_ns << "/" << s.req_end_ns << "/" << s.end_ns << " bytes " << s.req_bytes << "/"
    << s.resp_bytes << " blocks " << int(s.resp_blocks);
  return o.str();
}

std::string describe(int res, const h2_out& out) {
  std::ostringstream o;
  o << "res " << res << " consumed " << out.consumed;
  if (res & H2_FEED_FRAGMENT)
    o << " fragment " << out.frag.off << "+" << out.frag.len << " stream " << out.frag.stream
      << " kind " << int(out.frag.kind) << " last " << int(out.frag.last) << " dir "
      << int(out.frag.dir);
  return o.str();
}

// Feeds each connection to both followers and notes the first difference.
class LockstepSink : public replay::StreamSink {
 public:
  explicit LockstepSink(KernelDriver& kernel) : kernel_(kernel) {}

  void on_open(const replay::ConnKey& key, uint64_t) override {
    Conn& c = conns_[key];
    c.host = std::make_unique<h2_conn>();
    c.key = next_key_++;
    c.host->key = c.key;
  }

  void on_data(const replay::ConnKey& key, replay::Direction dir, uint64_t ts,
               std::span<const uint8_t> bytes) override {
    Conn* c = find(key);
    if (!c) return;
    // The server's view, as replay takes it: what the client sent is read.
    const int d =
        dir == replay::Direction::client_to_server ? DT_DIR_INGRESS : DT_DIR_EGRESS;
    dt_window w{};
    std::size_t at = 0;
    int all = 0;
    while (at < bytes.size()) {
      const auto piece = bytes.subspan(at);
      dt_chunk ch{};
      ch.total_len = piece.size();
      ch.win_len = static_cast<__u32>(std::min<std::size_t>(piece.size(), DT_WIN));
      ch.dir = static_cast<__u8>(d);
      ch.ts_enter = ch.ts_exit = ts;
      std::memset(w.data, 0, sizeof w.data);
      std::memcpy(w.data, piece.data(), ch.win_len);
      const int res = step_feed(*c, w, ch);
      if (res < 0) return;
      all |= res;
      if (res & DT_FEED_INVALID) break;
      if (last_out_.consumed == 0 && !(res & DT_FEED_DONE)) break;
      at += last_out_.consumed;
    }
    // A GOAWAY's refused streams finish on empty pieces, as http2_feed_io does.
    while (c->host->goaway && !(all & DT_FEED_INVALID)) {
      dt_chunk ch{};
      ch.dir = static_cast<__u8>(d);
      const int res = step_feed(*c, w, ch);
      if (res < 0 || !(res & DT_FEED_DONE)) break;
    }
    if (c->host->state == H2_CONN_FOLLOWING) c->followed = true;
  }

  void on_gap(const replay::ConnKey& key, replay::Direction dir, uint64_t, uint64_t) override {
    Conn* c = find(key);
    if (!c) return;
    const int d =
        dir == replay::Direction::client_to_server ? DT_DIR_INGRESS : DT_DIR_EGRESS;
    const int host = ::h2_lost(c->host.get(), d);
    const int kern = kernel_.h2_lost(c->key, d);
    steps_++;
    if (host != kern) differ("h2_lost: host " + std::to_string(host) + ", kernel " +
                             std::to_string(kern));
  }

  void on_close(const replay::ConnKey& key, uint64_t ts, replay::CloseReason) override {
    Conn* c = find(key);
    if (!c) return;
    for (int i = 0; i < 2 * H2_MAX_STREAMS + 2; i++) {
      h2_stream hd{}, kd{};
      const int host = ::h2_close(c->host.get(), ts, &hd);
      const int kern = kernel_.h2_close(c->key, ts, kd);
      steps_++;
      if (host != kern || ((host & DT_FEED_DONE) && describe(hd) != describe(kd))) {
        differ("h2_close: host " + std::to_string(host) + " " + describe(hd) + ", kernel " +
               std::to_string(kern) + " " + describe(kd));
        break;
      }
      if (host & DT_FEED_DONE) streams_++;
      else break;
    }
    if (c->followed) followed_++;
    conns_.erase(key);
  }

  std::string first_difference;
  std::size_t steps_ = 0, streams_ = 0, followed_ = 0;

 private:
  struct Conn {
    std::unique_ptr<h2_conn> host;
    std::uint64_t key = 0;
    bool followed = false;
  };

  Conn* find(const replay::ConnKey& key) {
    if (!first_difference.empty()) return nullptr;  // one difference is enough
    auto it = conns_.find(key);
    return it == conns_.end() ? nullptr : &it->second;
  }

  // One h2_feed on both sides; the result, or -1 after a difference.
  int step_feed(Conn& c, dt_window& w, dt_chunk& ch) {
    h2_stream hd{}, kd{};
    h2_out ho{}, ko{};
    dt_window hw = w;
    dt_chunk hch = ch;
    const int host = ::h2_feed(c.host.get(), &hw, &hch, &hd, &ho);
    const int kern = kernel_.h2_feed(c.key, w, ch, kd, ko);
    steps_++;
    const std::string h = describe(host, ho) + ((host & DT_FEED_DONE) ? " " + describe(hd) : "");
    const std::string k = describe(kern, ko) + ((kern & DT_FEED_DONE) ? " " + describe(kd) : "");
    if (h != k) {
      differ("h2_feed: host " + h + "; kernel " + k);
      return -1;
    }
    if (host & DT_FEED_DONE) streams_++;
    last_out_ = ho;
    return host;
  }

  void differ(const std::string& what) {
    if (first_difference.empty())
      first_difference = what + " (step " + std::to_string(steps_) + ")";
  }

  KernelDriver& kernel_;
  std::unordered_map<replay::ConnKey, Conn, replay::ConnKeyHash> conns_;
  std::uint64_t next_key_ = 1;
  h2_out last_out_{};
};

}  // namespace

TEST_CASE("kernel and host follow HTTP/2 frames alike over every fixture capture",
          "[bpf][http2]") {
  require_bpf_environment();
  KernelDriver kernel;
  std::size_t followed = 0, streams = 0;
  for (const auto& path : fixture_captures()) {
    INFO(path);
    LockstepSink sink(kernel);
    REQUIRE(replay::replay_file(path, sink));
    CHECK(sink.first_difference == "");
    followed += sink.followed_;
    streams += sink.streams_;
  }
  // The harness's footing: every HTTP/2 capture is followed, with its streams (DeepFlow's 8
  // connections, 9 streams; lo_h2c_nghttpd 3 and 63; lo_grpc_calls 1 and 30).
  CHECK(followed >= 12);
  CHECK(streams >= 100);
}

TEST_CASE("kernel and host HPACK shadows agree, traceparent and :path raw and Huffman-coded",
          "[bpf][http2]") {
  require_bpf_environment();
  KernelDriver kernel;
  std::size_t found = 0, unread = 0, paths = 0, paths_unresolved = 0;
  for (const auto& c : hpack_shadow_cases()) {
    INFO(c.name);
    h2s_table host{}, kern{};
    int i = 0;
    for (const auto& b : c.blocks) {
      INFO("block " << i++);
      dt_window w{};
      std::memcpy(w.data, b.bytes.data(), b.bytes.size());
      h2s_result hr{};
      h2s_block(&host, &w, 0, static_cast<__u32>(b.bytes.size()), b.request, &hr);
      const h2s_result kr = kernel.h2s_block(kern, b.bytes, b.request);
      CHECK(std::memcmp(&hr, &kr, sizeof hr) == 0);
      CHECK(std::memcmp(&host, &kern, sizeof host) == 0);
      CHECK(bool(kr.trace.found) == !b.traceparent.empty());
      found += kr.trace.found;
      unread += kr.trace.unread;
      paths += kr.path.state == H2S_PATH_FOUND;
      paths_unresolved += kr.path.state == H2S_PATH_UNRESOLVED;
      if (b.path_state != ShadowBlock::kPathUnchecked) {
        CHECK(int(kr.path.state) == b.path_state);
        CHECK(std::string(kr.path.text, kr.path.len) == b.path);
      }
    }
  }
  // the footing: the cases read 71 traceparents and leave 4 unread
  CHECK(found >= 70);
  CHECK(unread >= 4);
  // and 256 + 79 :paths (every Huffman symbol among them), 2 unresolved
  CHECK(paths >= 300);
  CHECK(paths_unresolved >= 2);
}
