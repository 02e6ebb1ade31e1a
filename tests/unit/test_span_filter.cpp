// The filter step (include/span_filter.h) over in-memory maps (HostFilterStore), and the
// profiler and assembler on top of it: what `difftrace replay` runs, and what the kernel
// runs over its own maps.
#include <catch2/catch.hpp>

#include <cstring>

#include "protocols/http1/message.h"  // the spans' methods and end reasons
#include "span_event_samples.h"
#include "capture/clock.h"
#include "capture/span_decoder.h"
#include "filter/host_filter_store.h"
#include "filter/kept_span.h"
#include "filter/service_registry.h"
#include "profiler/profiler.h"

using namespace difftrace;
using testing::server_event;

namespace {

constexpr std::uint64_t ms = 1'000'000;

const char* kTraceA = "4bf92f3577b34da6a3ce929d0e0e4736";
const char* kTraceB = "5bf92f3577b34da6a3ce929d0e0e4737";

config::Config platform_config() {
  config::Config c;
  config::Service gw;
  gw.name = "gateway";
  gw.match.comms = {"gateway"};
  gw.role = config::Role::kPlatform;
  c.services.push_back(gw);
  config::Service fn;
  fn.name = "fn";
  fn.match.comms = {"fn"};
  fn.role = config::Role::kFunction;
  c.services.push_back(fn);
  c.profiler.min_samples = 10;
  return c;
}

}  // namespace

TEST_CASE("a new endpoint warms up, then normal platform spans are kept", "[filter]") {
  auto cfg = platform_config();
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg);
  services.publish(store);
  profiler::Profiler prof(cfg, services);
  prof.start(store);

  auto e = server_event("gateway", "/item/17", 2 * ms, 200, kTraceA);
  CHECK(store.filter(e) == DT_OUT_REPORT);
  CHECK(e.reason == DT_REASON_WARMUP);
  CHECK(e.service == 1);
  for (int i = 0; i < 20; i++) {
    auto n = server_event("gateway", ("/item/" + std::to_string(i)).c_str(), (2 + i % 3) * ms);
    store.filter(n);
  }
  prof.tick(store);
  auto key = filter::endpoint_key(1, DT_SPAN_SERVER, HTTP_METHOD_GET, "/item/{n}");
  const auto* p = prof.find(key);
  REQUIRE(p);
  CHECK(p->whole_run.count() == 21);
  // The default (median) rule on 2..4 ms: median x exp(3.5 sigma), about 13 ms, under its
  // cap (5 x the median's bucket start, about 14 ms), over the 5 ms floor
  CHECK(p->threshold_ns >= 9 * ms);
  CHECK(p->threshold_ns <= 15 * ms);
  CHECK(p->whole_run.quantile(0.9) <= 5 * ms);

  auto normal = server_event("gateway", "/item/99", 3 * ms, 200, kTraceA);
  CHECK(store.filter(normal) == DT_OUT_KEPT);
  auto untraced = server_event("gateway", "/item/99", 3 * ms);
  CHECK(store.filter(untraced) == DT_OUT_DROPPED);

  auto slow = server_event("gateway", "/item/5", 50 * ms, 200, kTraceA);
  CHECK(store.filter(slow) == DT_OUT_REPORT);
  CHECK(slow.reason == DT_REASON_LATENCY);
  CHECK(slow.threshold_us == p->threshold_ns / 1000);

  // The trace is flagged now: its next normal span is reported too.
  auto later = server_event("gateway", "/item/6", 3 * ms, 200, kTraceA);
  CHECK(store.filter(later) == DT_OUT_REPORT);
  CHECK(later.reason == DT_REASON_FLAGGED_TRACE);
  // Another trace's normal span is still kept.
  auto other = server_event("gateway", "/item/6", 3 * ms, 200, kTraceB);
  CHECK(store.filter(other) == DT_OUT_KEPT);

  // The kept span of trace A comes back once, exactly.
  auto kept = store.take_kept(filter::trace_key(kTraceA));
  REQUIRE(kept.size() == 1);
  auto back = filter::event_of(kept[0], filter::trace_key(kTraceA));
  CHECK(back.end_ns - back.start_ns == 3 * ms);
  CHECK(std::string(back.path, back.path_len) == "/item/99");
  CHECK(back.decision == DT_DECIDE_KEEP);
  CHECK(store.take_kept(filter::trace_key(kTraceA)).empty());

  const auto& c = store.counters();
  CHECK(c[DT_C_SPANS_KEPT] == 2);
  CHECK(c[DT_C_SPANS_DROPPED] == 1);  // normal, but no trace id to keep it by
}

TEST_CASE("a function's spans are reported; errors and resets are anomalies", "[filter]") {
  auto cfg = platform_config();
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg);
  services.publish(store);
  auto f = server_event("fn", "/", 1 * ms, 200, kTraceA);
  CHECK(store.filter(f) == DT_OUT_REPORT);
  CHECK(f.reason == DT_REASON_FUNCTION);
  auto err = server_event("gateway", "/", 1 * ms, 503, kTraceB);
  CHECK(store.filter(err) == DT_OUT_REPORT);
  CHECK(err.reason == DT_REASON_STATUS);
  auto reset = server_event("gateway", "/", 1 * ms, 0, kTraceB);
  reset.flags = DT_SPAN_F_NO_RESPONSE;
  CHECK(store.filter(reset) == DT_OUT_REPORT);
  CHECK(reset.reason == DT_REASON_RESET);
  // An HTTP/2 stream reset after its response headers (a cancelled call): a reset too.
  auto h2_reset = server_event("gateway", "/", 1 * ms, 200, kTraceB);
  h2_reset.protocol = DT_PROTO_HTTP2;
  h2_reset.end_reason = DT_END_RESET;
  CHECK(store.filter(h2_reset) == DT_OUT_REPORT);
  CHECK(h2_reset.reason == DT_REASON_RESET);
}

TEST_CASE("static thresholds apply at once, endpoint over service", "[filter]") {
  auto cfg = platform_config();
  cfg.services[0].latency.static_ns = 10 * ms;
  config::Endpoint ep;
  ep.method = "GET";
  ep.path_template = "/slow";
  ep.latency.static_ns = 100 * ms;
  cfg.services[0].endpoints.push_back(ep);
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg);
  services.publish(store);
  profiler::Profiler prof(cfg, services);
  prof.start(store);
  auto a = server_event("gateway", "/fast", 20 * ms, 200, kTraceA);
  store.filter(a);
  CHECK(a.reason == DT_REASON_LATENCY);
  auto b = server_event("gateway", "/slow", 20 * ms, 200, kTraceB);
  CHECK(store.filter(b) == DT_OUT_KEPT);
}

TEST_CASE("--no-filter reports everything and still names anomalies", "[filter]") {
  auto cfg = platform_config();
  filter::FilterSettings s;
  s.no_filter = true;
  filter::HostFilterStore store(s);
  filter::ServiceRegistry services(cfg);
  services.publish(store);
  auto a = server_event("gateway", "/", 1 * ms, 200, kTraceA);
  CHECK(store.filter(a) == DT_OUT_REPORT);
  CHECK(a.reason == DT_REASON_NO_FILTER);
  auto b = server_event("gateway", "/", 1 * ms, 500, kTraceA);
  store.filter(b);
  CHECK(b.reason == DT_REASON_STATUS);
}

TEST_CASE("a full histogram map turns keeps into reports, counted", "[filter]") {
  auto cfg = platform_config();
  cfg.services[0].latency.static_ns = 10 * ms;  // no warm-up
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg);
  services.publish(store);
  profiler::Profiler prof(cfg, services);
  prof.start(store);
  int degraded = 0;
  for (int i = 0; i < 2 * DT_MAX_ENDPOINTS + 10; i++) {
    auto e = server_event("gateway", ("/e" + std::string(1, 'a' + i % 26) + std::to_string(i) + "x").c_str(),
                   1 * ms, 200, kTraceA);
    if (store.filter(e) == DT_OUT_REPORT) {
      CHECK(e.reason == DT_REASON_DEGRADED);
      degraded++;
    }
  }
  CHECK(degraded == 10);
  CHECK(store.counters()[DT_C_HIST_MAP_FULL] == 10);
}

TEST_CASE("the keep-buffer holds the last spans of a trace", "[filter]") {
  auto cfg = platform_config();
  cfg.services[0].latency.static_ns = 10 * ms;
  filter::FilterSettings s;
  s.keep_spans = 4;
  filter::HostFilterStore store(s);
  filter::ServiceRegistry services(cfg);
  services.publish(store);
  profiler::Profiler prof(cfg, services);
  prof.start(store);
  for (int i = 1; i <= 6; i++) {
    auto e = server_event("gateway", "/", static_cast<std::uint64_t>(i) * ms, 200, kTraceA);
    CHECK(store.filter(e) == DT_OUT_KEPT);
  }
  auto kept = store.take_kept(filter::trace_key(kTraceA));
  REQUIRE(kept.size() == 4);
  std::vector<std::uint64_t> durs;
  for (const auto& k : kept) durs.push_back((k.end_ns - k.start_ns) / ms);
  std::sort(durs.begin(), durs.end());
  CHECK(durs == std::vector<std::uint64_t>{3, 4, 5, 6});
  CHECK(store.counters()[DT_C_KEEP_OVERWRITTEN] == 2);
}

TEST_CASE("a trace taking another's keep slot evicts it: a pull never gets another's spans",
          "[filter][keep]") {
  auto cfg = platform_config();
  cfg.services[0].latency.static_ns = 10 * ms;
  filter::FilterSettings s;
  s.keep_traces = 1;  // one slot: every trace shares it
  filter::HostFilterStore store(s);
  filter::ServiceRegistry services(cfg);
  services.publish(store);
  profiler::Profiler prof(cfg, services);
  prof.start(store);
  auto a = server_event("gateway", "/", 1 * ms, 200, kTraceA);
  auto b = server_event("gateway", "/", 2 * ms, 200, kTraceB);
  REQUIRE(store.filter(a) == DT_OUT_KEPT);
  REQUIRE(store.filter(b) == DT_OUT_KEPT);
  CHECK(store.counters()[DT_C_KEEP_EVICTED] == 1);
  CHECK(store.take_kept(filter::trace_key(kTraceA)).empty());
  auto kept = store.take_kept(filter::trace_key(kTraceB));
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].end_ns - kept[0].start_ns == 2 * ms);
  // Taken out, the slot is empty: the next trace in it evicts nothing.
  REQUIRE(store.filter(a) == DT_OUT_KEPT);
  CHECK(store.counters()[DT_C_KEEP_EVICTED] == 1);
}

TEST_CASE("a kept span keeps what links it without headers: causality and sequence number",
          "[filter]") {
  filter::FilterSettings set;
  set.default_role = DT_ROLE_PLATFORM;
  filter::HostFilterStore store(set);
  // The kernel's own trace id (no header): kept by it like a header's.
  auto e = server_event("gateway", "/item/1", 3 * ms, 200, kTraceA);
  e.ctx_kind = DT_CTX_KERNEL;
  std::memset(e.parent_id, 0, sizeof e.parent_id);
  e.kind = DT_SPAN_CLIENT;
  e.exch_seq = 3;
  e.req_seq = 123456789;
  e.flags |= DT_SPAN_F_SEQ;
  e.cause = DT_CAUSE_FOUND;
  e.cause_conn_id = 77;
  e.cause_exch = 2;
  // without a threshold it would be warming up, and reported: a static one keeps it
  dt_threshold th{1'000 * ms, 0};
  store.set_threshold(filter::endpoint_key(0, 0, 0, ""), th);
  REQUIRE(store.filter(e) == DT_OUT_KEPT);
  auto kept = store.take_kept(filter::trace_key(kTraceA));
  REQUIRE(kept.size() == 1);
  auto back = filter::event_of(kept[0], filter::trace_key(kTraceA));
  CHECK(back.ctx_kind == DT_CTX_KERNEL);
  CHECK(back.exch_seq == 3);
  CHECK(back.req_seq == 123456789);
  CHECK((back.flags & DT_SPAN_F_SEQ));
  CHECK(back.cause == DT_CAUSE_FOUND);
  CHECK(back.cause_conn_id == 77);
  CHECK(back.cause_exch == 2);
}
