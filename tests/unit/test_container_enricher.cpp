// container.id on spans: the per-pid cache (read once, again after its ttl, bounded) and the
// enricher, and the attribute in the OTLP JSON resource.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "export/otlp_json.h"
#include "k8s/container_cache.h"
#include "k8s/container_id_enricher.h"

using namespace difftrace;
using namespace std::chrono_literals;

namespace {

const std::string kA = std::string(64, 'a');
const std::string kB = std::string(64, 'b');

// /proc as the test writes it, counting reads; a clock the test moves.
struct World {
  std::map<std::uint32_t, k8s::CgroupIdentity> procs;
  std::map<std::uint32_t, int> reads;
  std::chrono::steady_clock::time_point now{};

  k8s::ContainerCache cache(std::size_t capacity = 4096) {
    return k8s::ContainerCache(
        [this](std::uint32_t pid) -> std::optional<k8s::CgroupIdentity> {
          reads[pid]++;
          auto it = procs.find(pid);
          if (it == procs.end()) return std::nullopt;
          return it->second;
        },
        [this] { return now; }, capacity, 10s);
  }
};

capture::Span span_of(std::uint32_t pid) {
  capture::Span s;
  s.pid = pid;
  s.service_name = "svc";
  return s;
}

}  // namespace

TEST_CASE("a pid's container is read once per ttl", "[k8s][container]") {
  World w;
  w.procs[10] = {kA, ""};
  auto cache = w.cache();
  CHECK(cache.of(10).identity.container_id == kA);
  CHECK(cache.of(10).identity.container_id == kA);
  CHECK(w.reads[10] == 1);
  // The pid is reused by a process in another container: named right after the ttl.
  w.procs[10] = {kB, ""};
  w.now += 9s;
  CHECK(cache.of(10).identity.container_id == kA);
  w.now += 1s;
  CHECK(cache.of(10).identity.container_id == kB);
  CHECK(w.reads[10] == 2);
}

TEST_CASE("the cache holds at most its capacity", "[k8s][container]") {
  World w;
  for (std::uint32_t pid = 1; pid <= 100; pid++) w.procs[pid] = {kA, ""};
  auto cache = w.cache(16);
  for (std::uint32_t pid = 1; pid <= 100; pid++) {
    cache.of(pid);
    CHECK(cache.size() <= 16);
  }
}

TEST_CASE("spans get container.id; host processes and gone pids get none", "[k8s][container]") {
  World w;
  w.procs[10] = {kA, ""};
  w.procs[11] = {kA, ""};
  w.procs[20] = {"", ""};  // a host process
  auto cache = w.cache();
  k8s::ContainerIdEnricher enricher(cache);

  auto a = span_of(10), b = span_of(11), host = span_of(20), gone = span_of(30);
  for (auto* s : {&a, &b, &host, &gone}) enricher.enrich(*s);
  REQUIRE(a.resource);
  CHECK(*a.resource == capture::ResourceAttributes{{"container.id", kA}});
  CHECK(b.resource);
  CHECK_FALSE(host.resource);
  CHECK_FALSE(gone.resource);
}

TEST_CASE("container.id is a resource attribute in OTLP JSON", "[k8s][container][otlp]") {
  World w;
  w.procs[10] = {kA, ""};
  w.procs[20] = {kB, ""};
  auto cache = w.cache();
  k8s::ContainerIdEnricher enricher(cache);
  std::vector<capture::Span> spans = {span_of(10), span_of(20), span_of(10)};
  for (auto& s : spans) enricher.enrich(s);

  fmt::memory_buffer out;
  exporters::append_otlp_request(out, spans, "node-1");
  auto j = nlohmann::json::parse(fmt::to_string(out));
  REQUIRE(j["resourceSpans"].size() == 2);
  std::map<std::string, std::size_t> spans_per_container;
  for (const auto& rs : j["resourceSpans"]) {
    std::string id;
    for (const auto& a : rs["resource"]["attributes"])
      if (a["key"] == "container.id") id = a["value"]["stringValue"];
    spans_per_container[id] = rs["scopeSpans"][0]["spans"].size();
  }
  CHECK(spans_per_container == std::map<std::string, std::size_t>{{kA, 2}, {kB, 1}});
}
