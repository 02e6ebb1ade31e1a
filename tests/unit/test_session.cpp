// Session (user/session/): one run fed by a SpanSource, here a fixture pcap's replay read a few
// TCP segments per poll (no root), looked at mid-run through snapshot().
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "session/replay_source.h"
#include "session/session.h"
#include "test_pcap_support.h"

using namespace difftrace;
using nlohmann::json;

namespace {

// A path for the session's otlp-json exporter (console output would fill the test log).
std::string export_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("difftrace-test-session-" + std::to_string(::getpid()) + "-" + name + ".json"))
      .string();
}

session::SessionOptions options(const std::string& name) {
  session::SessionOptions o;
  o.exports = {"otlp-json:" + export_path(name)};
  return o;
}

// A whole replay of the fixture through a session, in one go.
json replay_at_once(const std::string& pcap, const config::Config& cfg) {
  session::ReplaySource source(replay::test::fixture(pcap), {});
  session::Session run(cfg, options("once"), source);
  run.run(session::StopFlag{});
  std::filesystem::remove(export_path("once"));
  return run.snapshot();
}

}  // namespace

TEST_CASE("issue12: a session's snapshot counts mid-run, and ends as a run at once does",
          "[session][issue12]") {
  const std::string pcap = "lo_pipelined.pcap";
  config::Config cfg;
  session::ReplaySource source(replay::test::fixture(pcap), {}, /*segments_per_poll=*/4);
  session::Session run(cfg, options("steps"), source);

  const json before = run.snapshot();
  CHECK(before["spans_seen"] == 0);
  CHECK(before["capture_stopped_early"] == "");
  CHECK(before.contains("filter_store_update_failed"));

  run.start();
  REQUIRE(run.step());
  const json first = run.snapshot();
  CHECK(first["tcp_segments"] == 4);

  std::uint64_t polls = 1, last_seen = 0;
  bool seen_mid_run = false;
  while (run.step()) {
    polls++;
    const json mid = run.snapshot();
    const std::uint64_t seen = mid["spans_seen"];
    CHECK(seen >= last_seen);  // counters only grow
    CHECK(mid["tcp_segments"] == 4 * polls);
    seen_mid_run |= seen > 0;
    last_seen = seen;
  }
  run.finish();
  CHECK(polls > 2);
  CHECK(seen_mid_run);  // spans were counted before the end of the file
  std::filesystem::remove(export_path("steps"));

  // Read in steps or at once, the run counts the same (capture records, spans, endpoints).
  json stepped = run.snapshot();
  json once = replay_at_once(pcap, cfg);
  CHECK(stepped["spans_seen"] == 20);
  CHECK(stepped["capture_records"] == once["capture_records"]);
  CHECK(stepped == once);
}

TEST_CASE("issue12: a stopped session drains what it read", "[session][issue12]") {
  config::Config cfg;
  session::ReplaySource source(replay::test::fixture("lo_pipelined.pcap"), {}, 4);
  session::Session run(cfg, options("stopped"), source);
  session::StopFlag stop;
  stop.request_stop();
  run.run(stop);  // started, then stopped before the first poll
  std::filesystem::remove(export_path("stopped"));
  const json s = run.snapshot();
  CHECK(s["tcp_segments"] == 0);
  CHECK(s["spans_seen"] == 0);
  CHECK(s["capture_stopped_early"] == "");
}

TEST_CASE("issue12: apply() keeps the run's load-time settings", "[session][issue12]") {
  config::Config cfg;
  config::Service api;
  api.name = "api";
  api.match.listen_ports = {8080};
  cfg.services.push_back(api);
  session::ReplaySource source(replay::test::fixture("lo_pipelined.pcap"), {});
  session::Session run(cfg, options("apply"), source);
  run.start();

  config::Config next = cfg;
  next.services[0].role = config::Role::kFunction;
  next.keep.traces = 16;
  next.profiler.interval_ns = 1;
  CHECK(run.apply(next) == std::vector<std::string>{"keep", "profiler"});
  CHECK(run.config().services[0].role == config::Role::kFunction);
  CHECK(run.config().keep.traces == cfg.keep.traces);
  CHECK(run.config().profiler.interval_ns == cfg.profiler.interval_ns);
  while (run.step()) {
  }
  run.finish();
  std::filesystem::remove(export_path("apply"));
}

TEST_CASE("issue18: apply() replaces the config's exports mid-run; an export in both lists "
          "keeps its exporter, the old exporters' counts stay",
          "[session][issue18]") {
  const std::string a = export_path("exp-a"), b = export_path("exp-b");
  config::Config cfg;
  cfg.exports = {"otlp-json:" + a};
  session::ReplaySource source(replay::test::fixture("lo_statuses_chunked_large.pcap"), {}, 1);
  session::Session run(cfg, {}, source);  // no --export: the config's exports are in force
  run.start();
  REQUIRE(run.step());
  // Nothing exported yet (the assembler's wait), so a's exporter has not written: a marker
  // written into its file survives unless the file is opened again (which truncates it).
  REQUIRE(run.snapshot()["spans_exported"] == 0);
  std::ofstream(a, std::ios::app) << "marker\n";

  config::Config bad = cfg;
  bad.exports = {"otlp-json:" + b, "carrier-pigeon:x"};
  CHECK_THROWS_WITH(run.apply(bad), Catch::Contains("unknown exporter"));
  CHECK(run.config().exports == cfg.exports);  // refused whole

  config::Config both = cfg;
  both.exports = {"otlp-json:" + b, "otlp-json:" + a};
  run.apply(both);
  CHECK(std::filesystem::file_size(a) == 7);  // the same exporter: not reopened
  REQUIRE(run.step());
  config::Config only_b = cfg;
  only_b.exports = {"otlp-json:" + b};
  run.apply(only_b);
  CHECK(run.config().exports == only_b.exports);
  while (run.step()) {
  }
  run.finish();
  const json s = run.snapshot();
  const json whole = replay_at_once("lo_statuses_chunked_large.pcap", config::Config{});
  CHECK(s["spans_exported"] == whole["spans_exported"]);
  CHECK(s["exporters"]["otlp-json"]["in_use"] == true);
  CHECK(std::filesystem::file_size(b) > 0);
  std::filesystem::remove(a);
  std::filesystem::remove(b);
}
