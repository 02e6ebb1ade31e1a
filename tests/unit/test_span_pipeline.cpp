// The span pipeline (what `trace` and `replay` share after the filter) over the host's
// in-memory maps: kept spans pulled back for a trace with an anomaly.
#include <catch2/catch.hpp>

#include <cstring>
#include <map>

#include "protocols/http1/message.h"  // the spans' methods and end reasons
#include "capture/clock.h"
#include "capture/span_decoder.h"
#include "filter/host_filter_store.h"
#include "pipeline/span_pipeline.h"

using namespace difftrace;

namespace {

constexpr std::uint64_t ms = 1'000'000;
const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";

// What the pipeline exported.
class Capture : public exporters::Exporter {
 public:
  explicit Capture(std::vector<capture::Span>& out) : out_(out) {}
  void export_spans(const std::vector<capture::Span>& spans) override {
    out_.insert(out_.end(), spans.begin(), spans.end());
  }
  std::uint64_t spans_exported() const override { return out_.size(); }

 private:
  std::vector<capture::Span>& out_;
};

// A pipeline over the host's maps whose one exporter keeps what it is given.
struct Run {
  Run(const config::Config& cfg, const filter::FilterSettings& settings)
      : store(settings), decoder(clock), exporters(capturing(exported)),
        pipeline(cfg, store, decoder, exporters) {}
  static std::vector<std::unique_ptr<exporters::Exporter>> capturing(
      std::vector<capture::Span>& out) {
    std::vector<std::unique_ptr<exporters::Exporter>> list;
    list.push_back(std::make_unique<Capture>(out));
    return list;
  }
  capture::WallClock clock{0};
  filter::HostFilterStore store;
  capture::SpanDecoder decoder;
  std::vector<capture::Span> exported;
  std::vector<std::unique_ptr<exporters::Exporter>> exporters;
  pipeline::SpanPipeline pipeline;
};

// A finished traced SERVER span of the gateway, started at start, dur long.
dt_span_event gateway_span(const char* path, std::uint64_t start, std::uint64_t dur) {
  dt_span_event e{};
  e.start_ns = start;
  e.end_ns = start + dur;
  e.pid = 100;
  e.tid = 100;
  e.status = 200;
  e.kind = DT_SPAN_SERVER;
  e.method = HTTP_METHOD_GET;
  e.path_len = static_cast<__u8>(std::strlen(path));
  std::memcpy(e.path, path, e.path_len);
  std::strncpy(e.comm, "gateway", sizeof e.comm - 1);
  e.decision = DT_DECIDE_REPORT;
  e.ctx_kind = DT_CTX_W3C;
  std::memcpy(e.trace_id, kTrace, 32);
  std::memcpy(e.parent_id, "00f067aa0ba902b7", 16);
  std::memcpy(e.trace_flags, "01", 2);
  return e;
}

// The gateway: a platform service with a static 10 ms threshold, matched by its comm.
config::Service platform_gateway() {
  config::Service gw;
  gw.name = "gateway";
  gw.match.comms = {"gateway"};
  gw.role = config::Role::kPlatform;
  gw.latency.static_ns = 10 * ms;
  return gw;
}

}  // namespace

TEST_CASE("issue 15 item 1: a kept-span pull with keep.spans_per_trace < 8 exports no empty span",
          "[pipeline][keep]") {
  config::Config cfg;
  config::Service gw = platform_gateway();
  cfg.services.push_back(gw);
  cfg.keep.spans_per_trace = 2;

  filter::FilterSettings settings;
  settings.keep_spans = static_cast<std::uint8_t>(cfg.keep.spans_per_trace);
  Run run(cfg, settings);
  auto& [clock, store, decoder, exported, exporters, pipeline] = run;
  pipeline.start(0);

  // Three normal spans of the trace: the keep-buffer holds the last two.
  const std::uint64_t t0 = 1'000'000'000;
  for (int i = 0; i < 3; i++) {
    auto e = gateway_span("/item/1", t0 + i * 5 * ms, 1 * ms);
    REQUIRE(store.filter(e) == DT_OUT_KEPT);
  }
  // Then an anomaly in the same trace: its kept spans are pulled back.
  auto slow = gateway_span("/item/2", t0 + 20 * ms, 50 * ms);
  REQUIRE(store.filter(slow) == DT_OUT_REPORT);
  REQUIRE(slow.reason == DT_REASON_LATENCY);
  std::vector<capture::Span> reported{decoder.decode(slow)};
  pipeline.add(std::move(reported), t0 + 70 * ms);
  pipeline.finish();

  int anomalous = 0;
  std::vector<std::uint64_t> kept_starts;
  for (const auto& s : exported) {
    INFO(s.decision << " " << s.method << " " << s.path << " start " << s.start_unix_ns);
    CHECK(s.start_unix_ns != 0);
    CHECK(s.path == (s.decision == "kept" ? "/item/1" : "/item/2"));
    if (s.decision == "kept") kept_starts.push_back(s.start_unix_ns);
    anomalous += s.is_anomalous();
  }
  std::sort(kept_starts.begin(), kept_starts.end());
  CHECK(anomalous == 1);
  CHECK(kept_starts == std::vector<std::uint64_t>{t0 + 5 * ms, t0 + 10 * ms});
  CHECK(pipeline.assembler_counters().spans_recovered_exact == 2);
}

TEST_CASE("issue 15 item 6: a span's service is the filter's, not a config pid's that the pid "
          "may no longer name",
          "[pipeline][services]") {
  config::Config cfg;
  config::Service api;
  api.name = "api";
  api.match.pids = {4242};
  api.role = config::Role::kFunction;
  cfg.services.push_back(api);
  config::Service gw;
  gw.name = "gateway";
  gw.match.comms = {"gateway"};
  cfg.services.push_back(gw);

  Run run(cfg, filter::FilterSettings{});
  auto& [clock, store, decoder, exported, exporters, pipeline] = run;
  pipeline.start(0, /*replay=*/true);

  const std::uint64_t t0 = 1'000'000'000;
  // pid 4242 as the filter found it: the config's process (service 1), then another process
  // that got the pid after it (no service: the registry removed the entry), then a comm match.
  auto own = gateway_span("/own", t0, 1 * ms);
  own.pid = 4242;
  own.service = 1;
  std::strncpy(own.comm, "api-server", sizeof own.comm - 1);
  auto reused = gateway_span("/reused", t0 + 5 * ms, 1 * ms);
  reused.pid = 4242;
  reused.service = 0;
  std::strncpy(reused.comm, "bash", sizeof reused.comm - 1);
  auto by_comm = gateway_span("/comm", t0 + 10 * ms, 1 * ms);
  by_comm.service = 0;
  std::vector<capture::Span> spans{decoder.decode(own), decoder.decode(reused),
                                   decoder.decode(by_comm)};
  pipeline.add(std::move(spans), t0 + 20 * ms);
  pipeline.finish();

  std::map<std::string, std::string> name_of;
  for (const auto& s : exported) name_of[s.path] = s.service_name;
  CHECK(name_of["/own"] == "api");
  CHECK(name_of["/reused"] == "bash");  // its comm, as a process no service matches
  CHECK(name_of["/comm"] == "gateway");
}

namespace {

// A finished HTTP/2 gRPC SERVER stream of the gateway as the kernel gives it: its :path as the
// HPACK shadow read it (empty and marked when unresolved), grpc-status 0.
dt_span_event grpc_span(const char* path, std::uint64_t start, std::uint64_t dur) {
  dt_span_event e = gateway_span(path, start, dur);
  e.protocol = DT_PROTO_HTTP2;
  e.method = HTTP_METHOD_POST;
  e.flags |= DT_SPAN_F_GRPC_STATUS;
  e.grpc_status = 0;
  if (!*path) e.path_unresolved = 1;
  return e;
}

}  // namespace

TEST_CASE("HTTP/2: thresholds per gRPC method, and kept streams pulled back with their call",
          "[pipeline][keep][http2]") {
  config::Config cfg;
  config::Service gw = platform_gateway();
  config::Endpoint slow_method;  // slow by design: a threshold of its own
  slow_method.method = "POST";
  slow_method.path_template = "/demo.Echo/Slow";
  slow_method.latency.static_ns = 100 * ms;
  gw.endpoints.push_back(slow_method);
  cfg.services.push_back(gw);

  filter::FilterSettings settings;
  settings.keep_spans = DT_KEEP_SPANS;
  Run run(cfg, settings);
  auto& [clock, store, decoder, exported, exporters, pipeline] = run;
  pipeline.start(0);

  const std::uint64_t t0 = 1'000'000'000;
  // 50 ms: normal for Slow (its 100 ms), kept; so is a fast Say and one whose path the
  // kernel could not resolve (the service's 10 ms)
  auto slow = grpc_span("/demo.Echo/Slow", t0, 50 * ms);
  REQUIRE(store.filter(slow) == DT_OUT_KEPT);
  CHECK(slow.threshold_us == 100'000);
  auto say = grpc_span("/demo.Echo/Say", t0 + 60 * ms, 1 * ms);
  REQUIRE(store.filter(say) == DT_OUT_KEPT);
  auto unresolved = grpc_span("", t0 + 70 * ms, 1 * ms);
  REQUIRE(store.filter(unresolved) == DT_OUT_KEPT);
  // 50 ms on Say is over its threshold (the service's): an anomaly, which pulls the rest back
  auto late = grpc_span("/demo.Echo/Say", t0 + 80 * ms, 50 * ms);
  REQUIRE(store.filter(late) == DT_OUT_REPORT);
  CHECK(late.reason == DT_REASON_LATENCY);
  CHECK(late.threshold_us == 10'000);
  std::vector<capture::Span> reported{decoder.decode(late)};
  pipeline.add(std::move(reported), t0 + 140 * ms);
  pipeline.finish();

  std::map<std::string, const capture::Span*> kept;
  for (const auto& s : exported)
    if (s.decision == "kept") kept[s.path] = &s;
  REQUIRE(kept.size() == 3);
  for (const char* method : {"Slow", "Say"}) {
    const capture::Span* s = kept[std::string("/demo.Echo/") + method];
    REQUIRE(s);
    CHECK(s->http_version == 2);
    REQUIRE(s->rpc);
    CHECK(s->rpc->service == "demo.Echo");
    CHECK(s->rpc->method == method);
    CHECK(s->rpc->grpc_status == 0);
    CHECK(s->unresolved_fields == 0);
  }
  const capture::Span* s = kept[""];
  REQUIRE(s);
  REQUIRE(s->rpc);
  CHECK(s->rpc->method.empty());  // nothing guessed
  CHECK(s->unresolved_fields == 1);
}
