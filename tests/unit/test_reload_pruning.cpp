// What a reload (ServiceRegistry::apply, Profiler::apply) leaves in the filter's maps, over the
// host's in-memory ones: a removed service's comm, thresholds, histograms and profiles go, a
// static threshold no longer configured goes; and a full map's refusals are counted.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>

#include "span_event_samples.h"
#include "filter/host_filter_store.h"
#include "filter/process_view.h"
#include "filter/service_registry.h"
#include "profiler/profiler.h"

using namespace difftrace;

namespace {

constexpr std::uint64_t ms = 1'000'000;

// No processes: services are matched by comm here.
class NoProcesses : public filter::ProcessView {
 public:
  std::optional<std::uint64_t> start_time(std::uint32_t) const override { return std::nullopt; }
  std::vector<filter::ProcessInfo> processes(bool) const override { return {}; }
};

config::Service by_comm(const char* name, const char* comm) {
  config::Service s;
  s.name = name;
  s.match.comms = {comm};
  s.role = config::Role::kPlatform;
  return s;
}

// A SERVER span "GET path" of comm, dur long, through the filter. Untraced, so that an anomaly
// flags no trace (a flagged trace's spans are not profiled).
dt_span_event filtered(filter::HostFilterStore& store, const char* comm, const char* path,
                       std::uint64_t dur) {
  dt_span_event e = testing::server_event(comm, path, dur);
  store.filter(e);
  return e;
}

bool has_service(const std::vector<filter::EndpointHistogram>& hists, std::uint16_t id) {
  return std::any_of(hists.begin(), hists.end(),
                     [id](const auto& h) { return h.key.service == id; });
}

}  // namespace

TEST_CASE("issue12: apply() prunes a removed service's comm, thresholds, histograms, profiles",
          "[reload][issue12]") {
  config::Config cfg;
  cfg.services.push_back(by_comm("gateway", "gateway"));
  cfg.services.back().latency.static_ns = 10 * ms;
  cfg.services.back().endpoints.push_back({"GET", "/slow", {}});
  cfg.services.back().endpoints.back().latency.static_ns = 3 * ms;
  cfg.services.push_back(by_comm("queue", "queue"));
  NoProcesses procs;
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg, procs);
  profiler::Profiler profiler(cfg, services);
  services.publish(store);
  profiler.start(store);

  // Both services count into the histograms and get profiles.
  REQUIRE(filtered(store, "gateway", "/slow", 5 * ms).reason == DT_REASON_LATENCY);
  REQUIRE(filtered(store, "queue", "/q", 1 * ms).service == 2);
  profiler.tick(store);
  auto profiled = [&](std::uint16_t id) {
    const auto& eps = profiler.endpoints();
    return std::any_of(eps.begin(), eps.end(),
                       [id](const auto& e) { return e.first.service == id; });
  };
  REQUIRE(profiled(1));
  REQUIRE(profiled(2));
  filtered(store, "queue", "/q", 1 * ms);  // in the histograms, not taken yet

  // queue removed; gateway's /slow endpoint no longer has a static threshold of its own.
  cfg.services.pop_back();
  cfg.services[0].endpoints.clear();
  const auto removed = services.apply(store);
  services.publish(store);
  profiler.apply(store, removed);
  REQUIRE(removed == std::vector<std::uint16_t>{2});

  CHECK_FALSE(profiled(2));
  CHECK_FALSE(has_service(store.take_histograms(), 2));
  CHECK(filtered(store, "queue", "/q", 1 * ms).service == 0);  // its comm entry is gone
  // /slow is judged by the service's 10 ms now: 5 ms is normal, kept.
  CHECK(filtered(store, "gateway", "/slow", 5 * ms).reason != DT_REASON_LATENCY);
  CHECK(filtered(store, "gateway", "/slow", 15 * ms).reason == DT_REASON_LATENCY);
  CHECK(profiled(1));
}

TEST_CASE("issue12: a full filter map's refused writes are counted", "[reload][issue12]") {
  filter::HostFilterStore store({});
  for (std::uint16_t id = 1; id <= DT_MAX_ENDPOINTS; id++)
    store.set_threshold(filter::service_key(id), {ms, 0});
  CHECK(store.update_failures() == 0);
  store.set_threshold(filter::service_key(DT_MAX_ENDPOINTS + 1), {ms, 0});
  store.set_threshold(filter::service_key(DT_MAX_ENDPOINTS + 2), {ms, 0});
  CHECK(store.update_failures() == 2);
  // Removing a service frees its entries: the next write fits.
  store.remove_service(1);
  store.set_threshold(filter::service_key(DT_MAX_ENDPOINTS + 1), {ms, 0});
  CHECK(store.update_failures() == 2);
}
