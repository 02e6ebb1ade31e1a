// Ingest from a real ring buffer: how many span events one core of `difftrace trace`'s
// user-space loop handles per second, and what the ring buffer loses when events come
// faster than that.
//
// A producer thread (pinned to one core) runs bench/span_gen.bpf.c through
// BPF_PROG_TEST_RUN in a loop: each run writes a batch of synthetic span events
// (bench/synthetic_events.h, each trace 8 spans, decision "full" as --no-filter
// reports them) into a ring buffer of the capture program's size, with its wake-up
// rule. The consumer (this thread, pinned to another core) runs trace's loop as
// user/cli/trace_command.cpp does: capture::Collector::poll (libbpf's consume and
// SpanDecoder::decode), pipeline::SpanPipeline::add and tick (service names, profiler,
// assembler, stats, exporters; default otlp-json:/dev/null). The filter's maps are
// the in-memory ones (filter::HostFilterStore): the kernel's filter is not what is
// measured here.
//
//   build/ringbuf-ingest-bench [--rates R,R,...] [--seconds S] [--config FILE]
//                              [--export SPEC] [--batch N] [--wake-on-crossing] [--json PATH]
//
// Each rate (events/s offered; 0: as fast as the producer can) gets a fresh ring buffer and
// pipeline for S seconds. Reports per rate: events offered, written, lost (ring buffer
// full), consumed per second of wall time and per second of the consumer thread's CPU time
// (the "one core" figure, which holds on a machine where other work takes the core part of
// the time), the final flush apart; and the process's peak RSS.
//
// The wake-up rule is capture.bpf.c's by default: wake the reader whenever 64 KiB or more
// are unread, so while the reader lags every event written raises an irq_work (a self-IPI:
// perf shows the producer ~20% in the APIC write on this VM). --wake-on-crossing wakes
// only when the unread bytes cross 64 KiB, to compare.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "capture.h"
#include "capture/clock.h"
#include "capture/collector.h"
#include "capture/span_decoder.h"
#include "config/config.h"
#include "export/exporter.h"
#include "filter/host_filter_store.h"
#include "pipeline/span_pipeline.h"
#include "span_gen.skel.h"
#include "bench_util.h"
#include "synthetic_events.h"

using namespace difftrace;

namespace {

void pin(int cpu) {
  if (!bench::pin_to_cpu(cpu)) std::fprintf(stderr, "ringbuf-ingest-bench: cannot pin to CPU %d\n", cpu);
}

long vm_hwm_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

struct SkelDeleter {
  void operator()(span_gen* s) const { span_gen::destroy(s); }
};

struct gen_args {
  std::uint32_t count;
  std::uint32_t pad;
};

struct RunResult {
  double rate = 0;
  double seconds = 0, consumer_cpu_s = 0;  // while the producer ran, and the ring buffer's rest
  double finish_s = 0;                     // then the traces still waiting, sent at exit
  double total_cpu_s = 0;                  // the consumer's CPU, the finish included
  double producer_s = 0;
  std::uint64_t offered = 0, produced = 0, lost = 0, consumed = 0, exported = 0;
};

RunResult run_one(double rate, double seconds, std::uint32_t batch, bool wake_on_crossing,
                  const config::Config& cfg,
                  const std::string& spec, int producer_cpu, int consumer_cpu) {
  std::unique_ptr<span_gen, SkelDeleter> skel(span_gen::open());
  if (skel) skel->rodata->wake_on_crossing = wake_on_crossing;
  if (!skel || span_gen::load(skel.get()) != 0) {
    std::fprintf(stderr, "ringbuf-ingest-bench: loading span_gen.bpf.o failed (root?)\n");
    std::exit(1);
  }
  // The pool: synthetic events as --no-filter reports them (decision full), all with a
  // W3C trace id (the program writes the trace's number into its last 16 digits).
  auto events = bench::make_events(64);
  for (std::uint32_t k = 0; k < events.size(); k++) {
    auto& e = events[k];
    e.ctx_kind = DT_CTX_W3C;
    std::memcpy(e.trace_id, "4bf92f3577b34da6", 16);
    std::memcpy(e.parent_id, "00f067aa0ba902b7", 16);
    e.trace_flags[0] = '0';
    e.trace_flags[1] = '1';
    e.decision = DT_DECIDE_REPORT;
    e.reason = DT_REASON_NO_FILTER;
    if (bpf_map_update_elem(bpf_map__fd(skel->maps.pool), &k, &e, BPF_ANY) != 0) {
      std::perror("ringbuf-ingest-bench: filling the pool");
      std::exit(1);
    }
  }

  capture::WallClock clock;
  capture::SpanDecoder decoder(clock);
  filter::FilterSettings settings;
  settings.no_filter = true;
  filter::HostFilterStore store(settings);
  std::vector<std::unique_ptr<exporters::Exporter>> exporters;
  exporters.push_back(exporters::make_exporter(spec));
  pipeline::SpanPipeline pipeline(cfg, store, decoder, exporters);
  pipeline.start(capture::WallClock::monotonic_now_ns());
  capture::Collector collector(bpf_map__fd(skel->maps.events), decoder);

  std::atomic<bool> done{false};
  double producer_s = 0;
  const int prog_fd = bpf_program__fd(skel->progs.generate);
  std::thread producer([&] {
    pin(producer_cpu);
    gen_args args{batch, 0};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof args);
    const double t0 = bench::now_s(CLOCK_MONOTONIC);
    std::uint64_t sent = 0;
    for (;;) {
      double t = bench::now_s(CLOCK_MONOTONIC);
      if (t - t0 >= seconds) break;
      if (rate > 0) {
        double due = t0 + sent / rate;  // paced: this batch's time slot
        if (due > t) {
          timespec ts{static_cast<time_t>(due), static_cast<long>((due - (time_t)due) * 1e9)};
          clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
        }
      }
      if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
        std::perror("ringbuf-ingest-bench: BPF_PROG_TEST_RUN");
        std::exit(1);
      }
      sent += batch;
    }
    producer_s = bench::now_s(CLOCK_MONOTONIC) - t0;
    done = true;
  });

  pin(consumer_cpu);
  RunResult r;
  r.rate = rate;
  const double w0 = bench::now_s(CLOCK_MONOTONIC), c0 = bench::now_s(CLOCK_THREAD_CPUTIME_ID);
  while (!done) {
    collector.poll(100);
    const std::uint64_t now = capture::WallClock::monotonic_now_ns();
    auto spans = collector.take();
    r.consumed += spans.size();
    pipeline.add(std::move(spans), now);
    pipeline.tick(now);
  }
  producer.join();
  // What the producer left in the ring buffer, then the traces still waiting.
  for (;;) {
    bool more = collector.drain();
    auto spans = collector.take();
    r.consumed += spans.size();
    pipeline.add(std::move(spans), capture::WallClock::monotonic_now_ns());
    if (!more) break;
  }
  r.seconds = bench::now_s(CLOCK_MONOTONIC) - w0;
  r.consumer_cpu_s = bench::now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
  const double f0 = bench::now_s(CLOCK_MONOTONIC);
  pipeline.finish();
  r.finish_s = bench::now_s(CLOCK_MONOTONIC) - f0;
  r.total_cpu_s = bench::now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
  r.producer_s = producer_s;
  r.offered = skel->bss->seq;
  r.produced = skel->bss->produced;
  r.lost = skel->bss->lost;
  r.exported = pipeline.spans_exported();
  return r;
}

std::vector<double> parse_rates(const std::string& s) {
  std::vector<double> out;
  std::stringstream in(s);
  std::string x;
  while (std::getline(in, x, ',')) out.push_back(std::stod(x));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<double> rates = {0};
  double seconds = 3;
  std::uint32_t batch = 256;
  bool wake_on_crossing = false;
  std::string spec = "otlp-json:/dev/null", json_path, config_path;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ringbuf-ingest-bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--rates") rates = parse_rates(val());
    else if (a == "--seconds") seconds = std::stod(val());
    else if (a == "--batch") batch = static_cast<std::uint32_t>(std::stoul(val()));
    else if (a == "--export") spec = val();
    else if (a == "--config") config_path = val();
    else if (a == "--wake-on-crossing") wake_on_crossing = true;
    else if (a == "--json") json_path = val();
    else {
      std::fprintf(stderr,
                   "usage: ringbuf-ingest-bench [--rates R,R,...] [--seconds S] [--config FILE] "
                   "[--export SPEC] [--batch N] [--wake-on-crossing] [--json PATH]\n");
      return 2;
    }
  }
  config::Config cfg;
  if (!config_path.empty()) cfg = config::load_config(config_path);
  libbpf_set_print(nullptr);

  // Producer and consumer on different cores where there are two.
  const int ncpu = static_cast<int>(std::thread::hardware_concurrency());
  const int consumer_cpu = ncpu > 1 ? 1 : 0, producer_cpu = 0;

  nlohmann::json runs = nlohmann::json::array();
  for (double rate : rates) {
    RunResult r = run_one(rate, seconds, batch, wake_on_crossing, cfg, spec, producer_cpu, consumer_cpu);
    nlohmann::json j = {
        {"offered_rate", rate == 0 ? nlohmann::json("max") : nlohmann::json(rate)},
        {"seconds", r.seconds},
        {"offered", r.offered},
        {"produced", r.produced},
        {"lost", r.lost},
        {"lost_fraction", r.offered ? static_cast<double>(r.lost) / r.offered : 0.0},
        {"consumed", r.consumed},
        {"spans_exported", r.exported},
        {"offered_per_sec", r.offered / r.seconds},
        {"consumed_per_sec", r.consumed / r.seconds},
        {"consumer_cpu_s", r.consumer_cpu_s},
        {"producer_seconds", r.producer_s},
        {"produced_per_sec", r.produced / r.producer_s},
        {"finish_seconds", r.finish_s},
        // Lost nothing: the producer, not the consumer, set the pace, so the consumed rate
        // is a lower bound of what the consumer can do.
        {"consumer_saturated", r.lost > 0},
        // Per CPU-second of all the work the events cost, the traces held to the end and
        // sent by the finish included (an assembler that holds more defers more there).
        {"consumer_total_cpu_s", r.total_cpu_s},
        {"consumed_per_cpu_sec", r.total_cpu_s > 0 ? r.consumed / r.total_cpu_s : 0.0},
    };
    std::fprintf(stderr,
                 "rate %s: offered %.0f/s, consumed %.0f/s (%.0f per CPU-s), lost %llu of %llu\n",
                 rate == 0 ? "max" : std::to_string(static_cast<long>(rate)).c_str(),
                 r.offered / r.seconds, r.consumed / r.seconds,
                 r.total_cpu_s > 0 ? r.consumed / r.total_cpu_s : 0.0,
                 static_cast<unsigned long long>(r.lost),
                 static_cast<unsigned long long>(r.offered));
    runs.push_back(j);
  }
  nlohmann::json res = {
      {"what",
       "span_gen.bpf.c via BPF_PROG_TEST_RUN -> ring buffer (4 MiB) -> Collector::poll (libbpf "
       "consume + decode) -> SpanPipeline::add/tick (names, profiler, assembler, stats, export)"},
      {"export", spec},
      {"config", config_path},
      {"batch", batch},
      {"wakeup", wake_on_crossing ? "when the unread bytes cross DT_WAKEUP_BYTES"
                                  : "capture.bpf.c's: whenever DT_WAKEUP_BYTES or more are unread"},
      {"event_bytes", sizeof(dt_span_event)},
      {"consumer_cpu", consumer_cpu},
      {"producer_cpu", producer_cpu},
      {"runs", runs},
      {"peak_rss_kib", vm_hwm_kib()},
  };
  std::printf("%s\n", res.dump(2).c_str());
  if (!json_path.empty()) std::ofstream(json_path) << res.dump(2) << "\n";
  return 0;
}
