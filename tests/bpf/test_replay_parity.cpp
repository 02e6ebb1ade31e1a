// Every capture in tests/fixtures/pcap replayed twice: once with the host's
// boundary code, once with every segment run through the loaded kernel test
// entry. The kernel's decisions must give the very same spans and counters.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "bpf_environment.h"
#include "fixture_captures.h"
#include "kernel_driver.h"
#include "replay/capture_replay.h"
#include "replay/http_replay.h"

using namespace difftrace;
using namespace difftrace::testing;

namespace {

struct Outcome {
  std::vector<std::string> spans;  // every field that does not come from a random id
  replay::HttpReplayCounters counters;
};

Outcome replay_with(const std::string& path, replay::BoundaryEngine* engine) {
  Outcome out;
  replay::HttpReplay sink(
      replay::ConnSelector{},
      [&](capture::Span&& s) {
        out.spans.push_back(s.method + " " + s.path + " " + std::to_string(s.status) + " " +
                            std::to_string(s.start_unix_ns) + ".." + std::to_string(s.end_unix_ns) +
                            " req=" + std::to_string(s.request_bytes) +
                            " resp=" + std::to_string(s.response_bytes) + " " + s.local.address +
                            ":" + std::to_string(s.local.port) + " end=" +
                            std::to_string(s.end_reason) + " flags=" + std::to_string(s.flags));
      },
      engine);
  auto r = replay::replay_file(path, sink);
  REQUIRE(r);
  out.counters = sink.counters();
  return out;
}

}  // namespace

TEST_CASE("kernel and host make the same spans from every fixture capture", "[bpf][replay]") {
  require_bpf_environment();
  KernelEngine kernel;
  auto files = fixture_captures();
  REQUIRE(files.size() >= 8);
  std::size_t spans = 0;
  for (const auto& f : files) {
    INFO(f);
    auto host = replay_with(f, nullptr);
    auto k = replay_with(f, &kernel);
    CHECK(k.spans == host.spans);
    CHECK(k.counters.spans_seen == host.counters.spans_seen);
    CHECK(k.counters.non_http_data == host.counters.non_http_data);
    CHECK(k.counters.io_calls == host.counters.io_calls);
    spans += host.spans.size();
  }
  CHECK(spans >= 31);  // the comparison saw real exchanges (31: 20 in lo_pipelined.pcap)
}
