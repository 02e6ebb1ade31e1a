// The profiler's take of the filter's histograms (user/bpf/kernel_filter_store.cpp) while the
// loaded capture program counts spans into them on every CPU: no count may be lost between
// the read and the zeroing, nor read twice.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bpf/capture_program.h"
#include "bpf/kernel_filter_store.h"
#include "bpf_test_support.h"

using namespace difftrace;
using namespace difftrace::testing;

namespace {

// Keep-alive HTTP exchanges over loopback for `seconds`, pinned to `cpu`: a SERVER and a
// CLIENT span each, both counted into a histogram (untraced normal platform spans).
[[noreturn]] void exchanges(int cpu, double seconds) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
  LoopbackPair p;
  if (p.server < 0) _exit(2);
  const int client = p.client, server = p.server;
  const std::string req = "GET /item/1 HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  char buf[512];
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (write(client, req.data(), req.size()) != static_cast<ssize_t>(req.size())) _exit(3);
    if (read(server, buf, sizeof buf) != static_cast<ssize_t>(req.size())) _exit(4);
    if (write(server, resp.data(), resp.size()) != static_cast<ssize_t>(resp.size())) _exit(5);
    if (read(client, buf, sizeof buf) != static_cast<ssize_t>(resp.size())) _exit(6);
  }
  _exit(0);
}

}  // namespace

TEST_CASE("issue 15 item 7: histogram counts taken while the kernel counts are all counted once",
          "[bpf][filter][hist]") {
  require_bpf_environment();
  const int ncpu = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const double seconds = 6;
  HeldChild held([&] {
    // one exchanging process per CPU (forks of a target are targets)
    for (int cpu = 0; cpu < ncpu; cpu++)
      if (fork() == 0) exchanges(cpu, seconds);
    int st = 0, failed = 0;
    while (wait(&st) > 0) failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    return failed ? 7 : 0;
  });
  const pid_t child = held.pid();
  targets::TargetSet t;
  t.pids.push_back(child);
  filter::FilterSettings fs;
  fs.default_role = DT_ROLE_PLATFORM;
  bpf::CaptureProgram program(t, fs);
  bpf::KernelFilterStore store(program);
  // A threshold for unmatched processes: their spans are normal, counted and kept (under the
  // trace id the kernel gives a request without one), none crosses to user space.
  store.set_threshold(filter::service_key(0), dt_threshold{10'000'000'000ull, 0});
  program.attach();
  held.release();

  std::uint64_t taken = 0, takes = 0;
  auto take = [&] {
    for (const auto& h : store.take_histograms()) taken += h.count;
    takes++;
  };
  int status = 0;
  while (waitpid(child, &status, WNOHANG) == 0) take();
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  program.detach();
  take();  // both epochs: what the last writers left in either
  take();
  const auto k = program.read_counters();
  INFO(takes << " takes, " << k[DT_C_SPANS_SEEN] << " spans seen, " << k[DT_C_SPANS_KEPT]
             << " kept, " << k[DT_C_SPANS_DROPPED] << " dropped, " << k[DT_C_SPANS_REPORTED]
             << " reported (" << k[DT_C_REASON_FIRST + DT_REASON_DEGRADED] << " degraded), "
             << k[DT_C_HIST_MAP_FULL] << " without a histogram");
  CHECK(k[DT_C_SPANS_SEEN] > 10'000);
  CHECK(k[DT_C_HIST_MAP_FULL] == 0);
  // None crosses, but for a keep whose slot another CPU held at that instant (two of
  // 1.4 million here): not waited for, reported as degraded (include/span_filter.h).
  const auto degraded = k[DT_C_REASON_FIRST + DT_REASON_DEGRADED];
  CHECK(k[DT_C_SPANS_REPORTED] == degraded);
  CHECK(degraded * 10'000 < k[DT_C_SPANS_SEEN]);
  CHECK(k[DT_C_SPANS_KEPT] + k[DT_C_SPANS_DROPPED] + degraded == k[DT_C_SPANS_SEEN]);
  CHECK(taken == k[DT_C_SPANS_SEEN]);
}
