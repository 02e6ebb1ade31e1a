// The kernel's per-request work, step by step, without the syscall and TCP
// work around it: the loaded test entry (bpf/http_test.bpf.c) runs the same
// http1_feed and dt_filter_span that bpf/capture.bpf.c runs, on an nginx-like
// exchange (a GET with a traceparent, a 240-byte header block written with
// writev, the body sent with sendfile), and the kernel's own run-time
// statistics (BPF_ENABLE_STATS) give the nanoseconds each step took.
//   usage: build/boundary-cost [ITERATIONS=20000]    (root)
// Prints one line per step and a JSON object on the last line.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "http_test.h"
#include "http_test.skel.h"

namespace {

constexpr const char* kRequest =
    "GET /index.html HTTP/1.1\r\n"
    "Host: 127.0.0.1:18190\r\n"
    "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
    "\r\n";
constexpr const char* kResponseHeaders =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Sun, 22 Nov 2026 10:00:00 GMT\r\n"
    "Content-Type: text/html\r\n"
    "Content-Length: 612\r\n"
    "Last-Modified: Sun, 22 Nov 2026 09:00:00 GMT\r\n"
    "Connection: keep-alive\r\n"
    "ETag: \"6543a1b2-264\"\r\n"
    "Accept-Ranges: bytes\r\n"
    "\r\n";
constexpr std::uint64_t kBody = 612;

struct Prog {
  int fd;
  std::uint64_t run_ns() const {
    bpf_prog_info info{};
    __u32 len = sizeof info;
    bpf_obj_get_info_by_fd(fd, &info, &len);
    return info.run_time_ns;
  }
};

struct Runner {
  dt_http_test_step step{};
  int map_fd, prog_fd;

  // Runs the step once; returns the program's run time in ns.
  std::uint64_t run() {
    __u32 zero = 0;
    bpf_map_update_elem(map_fd, &zero, &step, BPF_ANY);
    Prog p{prog_fd};
    std::uint64_t before = p.run_ns();
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    if (bpf_prog_test_run_opts(prog_fd, &opts) || opts.retval) {
      std::fprintf(stderr, "boundary-cost: test run failed\n");
      std::exit(1);
    }
    std::uint64_t ns = p.run_ns() - before;
    bpf_map_lookup_elem(map_fd, &zero, &step);
    return ns;
  }

  std::uint64_t feed(http_exchange& x, int dir, const char* data, std::uint64_t total,
                     http_exchange& done) {
    step = {};
    step.op = DT_HTTP_TEST_FEED;
    step.x = x;
    std::size_t n = data ? std::strlen(data) : 0;
    std::memcpy(step.win.data, data ? data : "", n);
    step.win_len = static_cast<__u32>(n);
    step.total_len = total;
    step.dir = static_cast<__u8>(dir);
    step.ts_enter = 1000;
    step.ts_exit = 2000;
    std::uint64_t ns = run();
    x = step.x;
    if (step.result & DT_FEED_DONE) done = step.done;
    return ns;
  }
};

void add_service_threshold(http_test* skel, __u32 pid) {
  dt_service svc{};
  svc.id = 1;
  svc.role = DT_ROLE_PLATFORM;
  bpf_map_update_elem(bpf_map__fd(skel->maps.service_pids), &pid, &svc, BPF_ANY);
  dt_endpoint_key key{};
  key.service = 1;
  dt_threshold th{};
  th.latency_ns = 1000000000ull;
  bpf_map_update_elem(bpf_map__fd(skel->maps.thresholds), &key, &th, BPF_ANY);
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 20000;
  std::unique_ptr<http_test, void (*)(http_test*)> skel(http_test__open_and_load(),
                                                         http_test__destroy);
  if (!skel) {
    std::fprintf(stderr, "boundary-cost: cannot load the test entry (root?)\n");
    return 1;
  }
  int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (stats < 0) {
    std::fprintf(stderr, "boundary-cost: BPF_ENABLE_STATS refused\n");
    return 1;
  }
  Runner r{{}, bpf_map__fd(skel->maps.steps),
           bpf_program__fd(skel->progs.http_test_step)};
  const __u32 pid = 4242;
  add_service_threshold(skel.get(), pid);
  dt_filter_settings set{};
  set.default_role = DT_ROLE_FUNCTION;
  set.keep_spans = DT_KEEP_SPANS;
  set.keep_mask = DT_KEEP_TRACES - 1;
  dt_filter_settings no_keep = set;
  no_keep.keep_spans = 0;

  // Baseline: the entry with nothing to do (a histogram bucket) is the
  // test-run frame every other step pays too.
  std::uint64_t ns_req = 0, ns_hdr = 0, ns_body = 0, ns_count = 0, ns_filter = 0, ns_frame = 0;
  // The filter steps' frame: the entry copies the span into the filter's
  // per-CPU span and back, which capture does not.
  std::uint64_t ns_span_frame = 0;
  for (int i = 0; i < iterations; ++i) {
    r.step = {};
    r.step.op = DT_HTTP_TEST_HIST;
    r.step.hist_ns = 1000;
    ns_frame += r.run();
    r.step = {};
    r.step.op = DT_HTTP_TEST_SPAN_COPY;
    ns_span_frame += r.run();

    http_exchange x{}, done{};
    ns_req += r.feed(x, DT_DIR_INGRESS, kRequest, std::strlen(kRequest), done);
    std::size_t hl = std::strlen(kResponseHeaders);
    ns_hdr += r.feed(x, DT_DIR_EGRESS, kResponseHeaders, hl, done);
    ns_body += r.feed(x, DT_DIR_EGRESS, nullptr, kBody, done);
    if (!(r.step.result & DT_FEED_DONE) || done.status != 200) {
      std::fprintf(stderr, "boundary-cost: the exchange did not finish as a 200\n");
      return 1;
    }

    // The finished exchange as emit() sees it, with a fresh trace id each
    // time, as every wrk request in the nginx benchmark has: once with the
    // keep-buffer off (the span is only counted) and once with it on.
    for (int keep = 0; keep < 2; ++keep) {
      r.step = {};
      r.step.op = DT_HTTP_TEST_FILTER_SPAN;
      r.step.fset = keep ? set : no_keep;
      dt_tuple t{};
      http1_span_fill(&r.step.ev, &done, &t, 1, pid, pid);
      char id[40];
      std::snprintf(id, sizeof id, "%016x%016x", keep, i + 1);
      std::memcpy(r.step.ev.trace_id, id, sizeof r.step.ev.trace_id);
      std::memcpy(r.step.ev.comm, "nginx", 6);
      std::uint64_t ns = r.run();
      int want = keep ? DT_OUT_KEPT : DT_OUT_DROPPED;
      if (r.step.outcome != want) {
        std::fprintf(stderr, "boundary-cost: filter outcome %d, want %d\n", r.step.outcome, want);
        return 1;
      }
      (keep ? ns_filter : ns_count) += ns;
    }
  }
  close(stats);
  double n = iterations;
  auto net = [&](std::uint64_t ns) { return ns / n - ns_frame / n; };
  std::printf("frame (empty step)       %7.0f ns\n", ns_frame / n);
  std::printf("request feed             %7.0f ns\n", net(ns_req));
  std::printf("response headers feed    %7.0f ns\n", net(ns_hdr));
  std::printf("response body feed       %7.0f ns\n", net(ns_body));
  auto net_filter = [&](std::uint64_t ns) { return ns / n - ns_span_frame / n; };
  std::printf("filter, counted only     %7.0f ns\n", net_filter(ns_count));
  std::printf("filter, counted and kept %7.0f ns\n", net_filter(ns_filter));
  std::printf("{\"iterations\": %d, \"frame_ns\": %.0f, \"request_ns\": %.0f, "
              "\"response_headers_ns\": %.0f, \"response_body_ns\": %.0f, \"filter_counted_ns\": "
              "%.0f, \"filter_kept_ns\": %.0f}\n",
              iterations, ns_frame / n, net(ns_req), net(ns_hdr), net(ns_body),
              net_filter(ns_count), net_filter(ns_filter));
  return 0;
}
