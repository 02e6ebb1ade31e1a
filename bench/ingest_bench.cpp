// User-space ingest bench: how many span events one core of difftrace's collector path
// handles per second. Synthetic struct dt_span_event records (include/capture.h), as the
// kernel writes them into the ring buffer, go through the same steps as `difftrace trace`
// does per batch: capture::SpanDecoder::decode, stats::RunStats::add, and an exporter
// from exporters::make_exporter (default otlp-json:/dev/null, so encoding is measured
// and the disk is not). Not measured: libbpf's ring-buffer consume and the kernel side.
//
//   build/ingest-bench [--events N] [--batch N] [--export SPEC] [--cpu N] [--json PATH]
//
// Prints events/s over wall time and over the thread's CPU time (pinned to one core).
#include <sched.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "capture.h"
#include "capture/clock.h"
#include "capture/span_decoder.h"
#include "export/exporter.h"
#include "stats/run_stats.h"
#include "bench_util.h"
#include "synthetic_events.h"

using namespace difftrace;


int main(int argc, char** argv) {
  std::size_t events = 2'000'000, batch = 1024;  // batch: Collector::kMaxBatch
  std::string spec = "otlp-json:/dev/null", json_path;
  int cpu = -1;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) { std::fprintf(stderr, "ingest-bench: %s needs a value\n", a.c_str()); std::exit(2); }
      return argv[++i];
    };
    if (a == "--events") events = std::stoull(val());
    else if (a == "--batch") batch = std::stoull(val());
    else if (a == "--export") spec = val();
    else if (a == "--cpu") cpu = std::stoi(val());
    else if (a == "--json") json_path = val();
    else {
      std::fprintf(stderr, "usage: ingest-bench [--events N] [--batch N] [--export SPEC] [--cpu N] [--json PATH]\n");
      return 2;
    }
  }
  if (cpu < 0) cpu = sched_getcpu();
  if (!bench::pin_to_cpu(cpu)) std::fprintf(stderr, "ingest-bench: cannot pin to CPU %d\n", cpu);

  const auto pool = bench::make_events(4096);
  capture::WallClock clock;
  capture::SpanDecoder decoder(clock);
  stats::RunStats stats;
  auto exporter = exporters::make_exporter(spec);
  std::vector<capture::Span> spans;
  spans.reserve(batch);

  auto run = [&](std::size_t n, bool do_export) {
    std::size_t done = 0, k = 0;
    while (done < n) {
      spans.clear();
      for (std::size_t j = 0; j < batch && done < n; j++, done++) {
        spans.push_back(decoder.decode(pool[k]));
        if (++k == pool.size()) k = 0;
      }
      if (do_export) {
        for (const auto& s : spans) stats.add(s);
        exporter->export_spans(spans);
      }
    }
    if (do_export) exporter->flush();
  };

  run(std::min<std::size_t>(events / 10, 100'000), true);  // warm caches and allocators

  double w0 = bench::now_s(CLOCK_MONOTONIC), c0 = bench::now_s(CLOCK_THREAD_CPUTIME_ID);
  run(events, false);
  double w1 = bench::now_s(CLOCK_MONOTONIC), c1 = bench::now_s(CLOCK_THREAD_CPUTIME_ID);
  run(events, true);
  double w2 = bench::now_s(CLOCK_MONOTONIC), c2 = bench::now_s(CLOCK_THREAD_CPUTIME_ID);

  nlohmann::json res = {
      {"events", events},
      {"batch", batch},
      {"export", spec},
      {"cpu", cpu},
      {"event_bytes", sizeof(dt_span_event)},
      {"decode_only_events_per_sec", events / (w1 - w0)},
      {"decode_only_events_per_cpu_sec", events / (c1 - c0)},
      {"events_per_sec", events / (w2 - w1)},
      {"events_per_cpu_sec", events / (c2 - c1)},
      {"ns_per_event", (w2 - w1) * 1e9 / events},
      {"what", "SpanDecoder::decode + RunStats::add + exporter->export_spans, batches of 1024"},
  };
  std::printf("%s\n", res.dump(2).c_str());
  if (!json_path.empty()) std::ofstream(json_path) << res.dump(2) << "\n";
  return 0;
}
