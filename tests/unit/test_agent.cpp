// The agent's parts that need no kernel (user/agent/): /metrics from a snapshot, /readyz's
// reasons, the config reloader's refusals, the config watch (a ConfigMap's symlink swap) and
// --listen's parsing.
#include <catch2/catch.hpp>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/agent_metrics.h"
#include "agent/config_reloader.h"
#include "agent/config_watch.h"
#include "agent/http_endpoint.h"
#include "agent/readiness.h"
#include "error.h"

using namespace difftrace;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json snapshot() {
  return {
      {"spans_seen", 100},
      {"spans_kept", 60},
      {"spans_dropped", 70},
      {"spans_dropped_no_trace_id", 10},
      {"spans_recovered_exact", 4},
      {"spans_estimated", 2},
      {"ringbuf_lost", 0},
      {"anomalies_lost", 0},
      {"reported_latency", 3},
      {"reported_status", 5},
      {"probes_attached", 7},
      {"programs", {{{"name", "sys_exit"}, {"attached", true}, {"verified_insns", 1234}}}},
      {"exporters",
       {{"otlp-http",
         {{"counters", {{"spans_sent", 20}, {"dropped_queue_full", 1}, {"spans_exported", 20}}},
          {"in_use", true},
          {"queued_spans", 9},
          {"failure", ""}}}}},
      {"profile",
       {{{"service", "activator"}, {"count", 50}},
        {{"service", "activator"}, {"count", 5}},
        {{"service", ""}, {"count", 1}}}},
      {"endpoints", {{{"service", "activator"}, {"count", 8}}}},
  };
}

std::string render(const json& snap, const agent::ReloadStatus& reload = {}) {
  metrics::BoundedLabels bound(agent::kMaxServiceLabels);
  metrics::ProcessUsage usage{4096, 1.25, 12};
  return agent::render_metrics(snap, reload, usage, bound);
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

std::string temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() /
           ("difftrace-test-agent-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

const char* kGood = "services:\n  - name: api\n    match: {comm: api}\n    latency: 50ms\n";
const char* kBad = "services:\n  - name: api\n    match: {comm: api}\n    latency: fast\n";

}  // namespace

TEST_CASE("issue18: /metrics names the snapshot's counters difftrace_*_total with HELP and TYPE",
          "[agent][issue18]") {
  const std::string t = render(snapshot());
  CHECK(has_line(t, "# TYPE difftrace_spans_seen_total counter"));
  CHECK(has_line(t, "difftrace_spans_seen_total 100"));
  CHECK(has_line(t, "difftrace_spans_kept_total 60"));
  CHECK(has_line(t, "difftrace_spans_recovered_total 4"));
  CHECK(has_line(t, "difftrace_spans_estimated_total 2"));
  CHECK(has_line(t, "difftrace_spans_reported_total{reason=\"latency\"} 3"));
  CHECK(has_line(t, "difftrace_spans_reported_total{reason=\"status\"} 5"));
  CHECK(has_line(t, "difftrace_spans_dropped_total{reason=\"no_trace_id\"} 10"));
  CHECK(has_line(t, "difftrace_exporter_spans_sent_total{exporter=\"otlp-http\"} 20"));
  CHECK(has_line(t, "difftrace_exporter_spans_dropped_total{exporter=\"otlp-http\",reason=\"queue_full\"} 1"));
  CHECK(has_line(t, "difftrace_exporter_queued_spans{exporter=\"otlp-http\"} 9"));
  CHECK(has_line(t, "difftrace_exporter_failing{exporter=\"otlp-http\"} 0"));
  CHECK(has_line(t, "difftrace_bpf_programs_loaded 1"));
  CHECK(has_line(t, "difftrace_bpf_probes_attached 7"));
  CHECK(has_line(t, "difftrace_bpf_program_verified_insns{program=\"sys_exit\"} 1234"));
  CHECK(has_line(t, "difftrace_service_spans_seen_total{service=\"activator\"} 55"));
  CHECK(has_line(t, "difftrace_service_spans_seen_total{service=\"unnamed\"} 1"));
  CHECK(has_line(t, "difftrace_service_spans_exported_total{service=\"activator\"} 8"));
  CHECK(has_line(t, "difftrace_process_resident_memory_bytes 4096"));
  CHECK(has_line(t, "difftrace_process_cpu_seconds_total 1.25"));
  CHECK(has_line(t, "difftrace_config_reloads_total{result=\"ok\"} 0"));
  CHECK(has_line(t, "difftrace_config_last_reload_successful 1"));
  // Every sample's family has its HELP and TYPE before it, once.
  std::istringstream lines(t);
  std::map<std::string, int> typed;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      CHECK(++typed[line.substr(7, line.find(' ', 7) - 7)] == 1);
    } else if (line[0] != '#') {
      const std::string name = line.substr(0, line.find_first_of("{ "));
      CHECK(typed.count(name) == 1);
      CHECK(name.rfind("difftrace_", 0) == 0);
    }
  }
}

TEST_CASE("issue18: per-service series are capped, the rest summed under other",
          "[agent][issue18]") {
  json snap = snapshot();
  snap["profile"] = json::array();
  for (std::size_t i = 0; i < agent::kMaxServiceLabels + 10; i++)
    snap["profile"].push_back({{"service", "fn-" + std::to_string(1000 + i)}, {"count", 1}});
  const std::string t = render(snap);
  std::size_t series = 0;
  for (std::size_t at = 0; (at = t.find("\ndifftrace_service_spans_seen_total{", at)) !=
                           std::string::npos;
       at++)
    series++;
  CHECK(series == agent::kMaxServiceLabels + 1);
  CHECK(has_line(t, "difftrace_service_spans_seen_total{service=\"other\"} 10"));
}

TEST_CASE("issue18: /readyz says why the agent is not ready", "[agent][issue18]") {
  agent::ReloadStatus ok;
  CHECK(agent::readiness(snapshot(), ok).ready);

  json no_probes = snapshot();
  no_probes["probes_attached"] = 0;
  CHECK_FALSE(agent::readiness(no_probes, ok).ready);
  CHECK_THAT(agent::readiness(no_probes, ok).reason, Catch::Contains("no probe attached"));

  agent::ReloadStatus refused;
  refused.failed = 1;
  refused.last_error = "/etc/difftrace/agent.yaml:4: bad latency";
  const auto r = agent::readiness(snapshot(), refused);
  CHECK_FALSE(r.ready);
  CHECK_THAT(r.reason, Catch::Contains("/etc/difftrace/agent.yaml:4: bad latency"));
  CHECK_THAT(r.reason, Catch::Contains("previous config stays in force"));

  json failing = snapshot();
  failing["exporters"]["otlp-http"]["failure"] = "otlp-http http://x:4318/v1/traces: refused";
  CHECK_THAT(agent::readiness(failing, ok).reason, Catch::Contains("exporter failing"));
  CHECK(has_line(render(failing), "difftrace_exporter_failing{exporter=\"otlp-http\"} 1"));
  failing["exporters"]["otlp-http"]["in_use"] = false;  // replaced by a reload
  CHECK(agent::readiness(failing, ok).ready);
}

TEST_CASE("issue18: a reload applies a changed file, refuses a bad one with FILE:LINE and keeps "
          "the config in force",
          "[agent][issue18]") {
  const std::string dir = temp_dir("reload");
  const std::string path = dir + "/agent.yaml";
  write(path, kGood);
  std::vector<config::Config> applied;
  agent::ConfigReloader reloader(path, [&](const config::Config& c) {
    applied.push_back(c);
    return std::vector<std::string>{};
  });
  using O = agent::ConfigReloader::Outcome;

  CHECK(reloader.reload(false) == O::kUnchanged);  // the text loaded at the start
  CHECK(reloader.reload(true) == O::kApplied);     // SIGHUP: always
  REQUIRE(applied.size() == 1);
  CHECK(applied[0].services[0].latency.static_ns == 50'000'000u);

  write(path, kBad);
  CHECK(reloader.reload(false) == O::kRefused);
  CHECK(applied.size() == 1);  // nothing applied
  auto st = reloader.status();
  CHECK(st.ok == 1);
  CHECK(st.failed == 1);
  CHECK_THAT(st.last_error, Catch::StartsWith(path + ":4: "));
  CHECK(reloader.reload(false) == O::kUnchanged);  // the same bad text is not tried again
  CHECK(reloader.status().failed == 1);

  write(path, std::string(kGood) + "    timeout: 2s\n");
  CHECK(reloader.reload(false) == O::kApplied);
  st = reloader.status();
  CHECK(st.ok == 2);
  CHECK(st.last_error.empty());
  fs::remove_all(dir);
}

TEST_CASE("issue18: a config the session cannot apply is refused, named by the file",
          "[agent][issue18]") {
  const std::string dir = temp_dir("refuse");
  const std::string path = dir + "/agent.yaml";
  write(path, kGood);
  agent::ConfigReloader reloader(path, [](const config::Config&) -> std::vector<std::string> {
    throw FatalError(ExitCode::kUsage, "--pid 99999999: no such process");
  });
  CHECK(reloader.reload(true) == agent::ConfigReloader::Outcome::kRefused);
  CHECK(reloader.status().last_error == path + ": --pid 99999999: no such process");
  fs::remove(path);
  CHECK(reloader.reload(true) == agent::ConfigReloader::Outcome::kRefused);
  CHECK(reloader.status().last_error == path + ": cannot be read");
  fs::remove_all(dir);
}

TEST_CASE("issue18: the config watch sees an edit and a ConfigMap's ..data symlink swap, not "
          "other files",
          "[agent][issue18]") {
  // The layout the kubelet writes: agent.yaml -> ..data/agent.yaml, ..data -> ..v1.
  const std::string dir = temp_dir("watch");
  fs::create_directories(dir + "/..v1");
  write(dir + "/..v1/agent.yaml", kGood);
  fs::create_directory_symlink("..v1", dir + "/..data");
  fs::create_symlink("..data/agent.yaml", dir + "/agent.yaml");

  std::atomic<int> changes{0};
  agent::ConfigWatch watch(dir + "/agent.yaml", [&](bool forced) {
    CHECK_FALSE(forced);
    changes++;
  });
  auto wait_for = [&](int n) {
    for (int i = 0; i < 300 && changes < n; i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return changes.load();
  };

  write(dir + "/unrelated.log", "x");
  std::this_thread::sleep_for(agent::ConfigWatch::kQuiet * 2);
  CHECK(changes == 0);

  // The kubelet's update: a new timestamped dir, a ..data_tmp link renamed over ..data.
  fs::create_directories(dir + "/..v2");
  write(dir + "/..v2/agent.yaml", std::string(kGood) + "    timeout: 2s\n");
  fs::create_directory_symlink("..v2", dir + "/..data_tmp");
  fs::rename(dir + "/..data_tmp", dir + "/..data");
  CHECK(wait_for(1) == 1);

  // A plain file edited in place (no ConfigMap) is seen too.
  fs::remove(dir + "/agent.yaml");
  write(dir + "/agent.yaml", kGood);
  CHECK(wait_for(2) == 2);
  watch.stop();
  fs::remove_all(dir);
}

TEST_CASE("issue18: --listen takes HOST:PORT, [V6]:PORT and :PORT", "[agent][issue18]") {
  CHECK(agent::parse_listen("0.0.0.0:9464") == std::pair<std::string, int>{"0.0.0.0", 9464});
  CHECK(agent::parse_listen(":9464") == std::pair<std::string, int>{"0.0.0.0", 9464});
  CHECK(agent::parse_listen("[::1]:80") == std::pair<std::string, int>{"::1", 80});
  CHECK(agent::parse_listen("127.0.0.1:0").second == 0);
  for (const char* bad : {"9464", "::1:80", "host:", "host:http", "host:70000"})
    CHECK_THROWS_WITH(agent::parse_listen(bad), Catch::StartsWith(std::string("--listen ") + bad));
}

TEST_CASE("issue18: the endpoint answers its routes, 404 elsewhere, and refuses a taken port",
          "[agent][issue18]") {
  agent::HttpEndpoint http("127.0.0.1:0",
                           {{"/healthz", [] { return agent::HttpAnswer{200, "text/plain", "ok\n"}; }},
                            {"/boom", []() -> agent::HttpAnswer { throw std::runtime_error("x"); }}});
  REQUIRE(http.port() > 0);
  httplib::Client client("127.0.0.1", http.port());
  auto ok = client.Get("/healthz");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == "ok\n");
  auto missing = client.Get("/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  auto boom = client.Get("/boom");
  REQUIRE(boom);
  CHECK(boom->status == 500);
  CHECK_THROWS_WITH(agent::HttpEndpoint("127.0.0.1:" + std::to_string(http.port()), {}),
                    Catch::Contains("cannot listen there"));
}
