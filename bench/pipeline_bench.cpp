// trace's user-space loop past the ring buffer, on one thread and without the kernel:
// SpanDecoder::decode into a batch as capture::Collector does, then SpanPipeline::add and
// tick (service names, profiler, assembler, stats, exporter; default otlp-json:/dev/null).
// The events are the ring-buffer bench's (bench/ringbuf_ingest_bench.cpp, as
// bench/span_gen.bpf.c writes them): 8 spans a trace, each trace a W3C trace id of its
// own, decision full as --no-filter reports them. The pipeline's clock advances at a
// nominal rate (--rate events/s), so the assembler's waits hold as many spans as they
// would at that rate, whatever the speed of the machine. --shape nginx: instead, one SERVER
// span a trace as nginx's under wrk with a fresh traceparent per request (32 keep-alive
// connections, each span with its connection, exchange and TCP sequence numbers: the
// causal join's work for every span of a traced server; synthetic_events.h's nginx_event).
//
// No producer thread and no ring buffer: what it measures is the consumer's CPU per event,
// repeatable on a machine shared with other work (where the ring-buffer bench's producer
// and consumer both compete for the cores), to compare two builds.
//
//   build/pipeline-bench [--events N] [--rate R] [--shape platform|nginx] [--config FILE]
//                        [--export SPEC]
#include <time.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "capture.h"
#include "capture/clock.h"
#include "capture/span_decoder.h"
#include "config/config.h"
#include "export/exporter.h"
#include "filter/host_filter_store.h"
#include "pipeline/span_pipeline.h"
#include "bench_util.h"
#include "synthetic_events.h"

using namespace difftrace;

namespace {

constexpr std::size_t kSpansPerTrace = 8;  // span_gen.bpf.c's GEN_SPANS_PER_TRACE
constexpr std::uint64_t kNginxConns = 32;  // wrk -c32, as the nginx benches run it
constexpr std::size_t kBatch = 256;        // ringbuf-ingest-bench's default --batch

long vm_hwm_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t events = 1'000'000;
  double rate = 500'000;
  std::string spec = "otlp-json:/dev/null", config_path, shape = "platform";
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "pipeline-bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--events") events = std::stoull(val());
    else if (a == "--rate") rate = std::stod(val());
    else if (a == "--config") config_path = val();
    else if (a == "--export") spec = val();
    else if (a == "--shape") shape = val();
    else {
      std::fprintf(stderr,
                   "usage: pipeline-bench [--events N] [--rate R] [--shape platform|nginx] "
                   "[--config FILE] [--export SPEC]\n");
      return 2;
    }
  }
  if (shape != "platform" && shape != "nginx") {
    std::fprintf(stderr, "pipeline-bench: --shape %s: platform or nginx\n", shape.c_str());
    return 2;
  }
  const bool nginx = shape == "nginx";
  config::Config cfg;
  if (!config_path.empty()) cfg = config::load_config(config_path);

  // The ring-buffer bench's pool: W3C ids, decision full.
  auto pool = bench::make_events(64);
  for (auto& e : pool) {
    e.ctx_kind = DT_CTX_W3C;
    std::memcpy(e.trace_id, "4bf92f3577b34da6", 16);
    std::memcpy(e.parent_id, "00f067aa0ba902b7", 16);
    e.trace_flags[0] = '0';
    e.trace_flags[1] = '1';
    e.decision = DT_DECIDE_REPORT;
    e.reason = DT_REASON_NO_FILTER;
  }

  capture::WallClock clock;
  capture::SpanDecoder decoder(clock);
  filter::FilterSettings settings;
  settings.no_filter = true;
  filter::HostFilterStore store(settings);
  std::vector<std::unique_ptr<exporters::Exporter>> exporters;
  exporters.push_back(exporters::make_exporter(spec));
  pipeline::SpanPipeline pipeline(cfg, store, decoder, exporters);
  const std::uint64_t t0 = capture::WallClock::monotonic_now_ns();
  pipeline.start(t0);

  const char hex[] = "0123456789abcdef";
  const double c0 = bench::now_s(CLOCK_THREAD_CPUTIME_ID);
  std::vector<capture::Span> batch;
  for (std::size_t n = 0; n < events;) {
    const std::uint64_t now = t0 + static_cast<std::uint64_t>(n / rate * 1e9);
    batch.reserve(kBatch);
    for (std::size_t k = 0; k < kBatch && n < events; k++, n++) {
      if (nginx) {
        decoder.decode(bench::nginx_event(n, kNginxConns, now), batch.emplace_back());
        continue;
      }
      dt_span_event e = pool[n % pool.size()];
      e.end_ns = now;
      e.start_ns = now - (pool[n % pool.size()].end_ns - pool[n % pool.size()].start_ns);
      const std::uint64_t trace = n / kSpansPerTrace;
      for (int j = 0; j < 16; j++) e.trace_id[16 + j] = hex[(trace >> (60 - 4 * j)) & 15];
      decoder.decode(e, batch.emplace_back());
    }
    pipeline.add(std::move(batch), now);
    batch = {};
    pipeline.tick(now);
  }
  pipeline.finish();
  const double cpu = bench::now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
  std::printf(
      "{\"shape\": \"%s\", \"events\": %zu, \"nominal_rate\": %.0f, \"cpu_s\": %.3f, "
      "\"events_per_cpu_s\": %.0f, "
      "\"ns_per_event\": %.0f, \"spans_exported\": %llu, \"peak_rss_kib\": %ld}\n",
      shape.c_str(), events, rate, cpu, events / cpu, cpu * 1e9 / events,
      static_cast<unsigned long long>(pipeline.spans_exported()), vm_hwm_kib());
  return 0;
}
