// The capture program against real sockets: a forked child talks HTTP to
// itself over loopback with every send/receive syscall family, and the test
// checks the spans that come out of the ring buffer, and that nothing leaks.
#include <algorithm>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "protocols/http1/message.h"  // the spans' methods and end reasons
#include "bpf/capture_program.h"
#include "bpf_test_support.h"
#include "capture/collector.h"

using namespace difftrace;
using namespace difftrace::testing;

namespace {

void read_exactly(int fd, std::size_t n) {
  std::vector<char> buf(65536);
  while (n > 0) {
    ssize_t r = read(fd, buf.data(), std::min(n, buf.size()));
    if (r <= 0) _exit(3);
    n -= static_cast<std::size_t>(r);
  }
}

void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t w = write(fd, s.data() + off, s.size() - off);
    if (w <= 0) _exit(4);
    off += static_cast<std::size_t>(w);
  }
}

std::string response(int status, std::size_t body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body) +
         "\r\n\r\n" + std::string(body, 'b');
}

// Runs fn in a child that waits until the probes are attached; returns the
// spans the kernel reported for it.
std::vector<capture::Span> trace_child(const std::function<void()>& fn,
                                       bpf::KernelCounters* counters = nullptr) {
  HeldChild held([&] {
    fn();
    return 0;
  });
  const pid_t child = held.pid();
  targets::TargetSet t;
  t.pids.push_back(child);
  std::vector<capture::Span> spans;
  {
    bpf::CaptureProgram program(t);
    program.attach();
    capture::WallClock clock;
    capture::SpanDecoder decoder(clock);
    capture::Collector collector(program.events_fd(), decoder);
    held.release();
    int status = 0;
    while (waitpid(child, &status, WNOHANG) == 0) {
      collector.poll(50);
      auto batch = collector.take();
      spans.insert(spans.end(), batch.begin(), batch.end());
    }
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    for (bool more = true; more;) {
      more = collector.drain();
      auto batch = collector.take();
      spans.insert(spans.end(), batch.begin(), batch.end());
    }
    if (counters) *counters = program.read_counters();
  }
  return spans;
}

std::vector<capture::Span> of_kind(const std::vector<capture::Span>& all, capture::SpanKind k) {
  std::vector<capture::Span> out;
  for (const auto& s : all)
    if (s.kind == k) out.push_back(s);
  return out;
}

}  // namespace

TEST_CASE("loading, attaching and destroying the capture program leaks nothing", "[bpf]") {
  require_bpf_environment();
  const OwnBpfIds before = own_bpf_ids();
  OwnBpfIds held;
  {
    targets::TargetSet t;
    t.pids.push_back(getpid());
    bpf::CaptureProgram program(t);
    program.attach();
    // sys_enter and sys_exit (raw tracepoints), task_newtask, sched_process_exit
    CHECK(program.attached_count() == 4);
    // and h2_io (HTTP/2), reached by tail call, where this kernel's verifier takes it
    const bool h2 = std::any_of(program.probes().begin(), program.probes().end(),
                                [](const auto& p) {
                                  return p.program == "h2_io" &&
                                         p.state == bpf::ProbeStatus::State::kAttached;
                                });
    CHECK(program.skipped().size() == (h2 ? 0u : 1u));
    // The one source this kernel runs, and each program reported as attached.
    CHECK(program.source() == "syscalls");
    REQUIRE(program.probes().size() == 5);
    for (const auto& p : program.probes()) {
      INFO(p.program << ": " << p.detail);
      if (p.program == "h2_io" && !h2) continue;
      CHECK(p.state == bpf::ProbeStatus::State::kAttached);
      CHECK(p.source == (p.program.rfind("sys_", 0) == 0 ? "syscalls" : "process"));
    }
    program.detach();
    CHECK(program.attached_count() == 0);
    CHECK(program.skipped().size() == 5);
    held = own_bpf_ids();
  }
  std::set<__u32> progs, maps;  // what the program held, and this test did not before
  for (__u32 id : held.progs)
    if (!before.progs.count(id)) progs.insert(id);
  for (__u32 id : held.maps)
    if (!before.maps.count(id)) maps.insert(id);
  CHECK(progs.size() >= 4);
  CHECK(maps.size() >= 10);
  CHECK(still_present(prog_ids, progs).empty());
  CHECK(still_present(map_ids, maps).empty());
}

TEST_CASE("keep-alive exchanges over read/write give one server and one client span each",
          "[bpf]") {
  require_bpf_environment();
  const int n = 50;
  bpf::KernelCounters k{};
  auto spans = trace_child(
      [] {
        LoopbackPair p;
        for (int i = 0; i < n; i++) {
          std::string req = "GET /item/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
          write_all(p.client, req);
          read_exactly(p.server, req.size());
          std::string r = response(i % 10 == 0 ? 500 : 200, static_cast<std::size_t>(i) * 100);
          write_all(p.server, r);
          read_exactly(p.client, r.size());
        }
      },
      &k);
  auto servers = of_kind(spans, capture::SpanKind::kServer);
  auto clients = of_kind(spans, capture::SpanKind::kClient);
  REQUIRE(servers.size() == n);
  REQUIRE(clients.size() == n);
  for (int i = 0; i < n; i++) {
    INFO("exchange " << i);
    CHECK(servers[i].path == "/item/" + std::to_string(i));
    CHECK(servers[i].method == "GET");
    CHECK(servers[i].status == (i % 10 == 0 ? 500 : 200));
    CHECK(servers[i].response_bytes == response(200, static_cast<std::size_t>(i) * 100).size());
    CHECK(clients[i].path == servers[i].path);
    // The server's span lies inside the client's.
    CHECK(clients[i].start_unix_ns <= servers[i].start_unix_ns);
    CHECK(servers[i].end_unix_ns <= clients[i].end_unix_ns);
    CHECK(servers[i].local.port == clients[i].peer.port);
    CHECK(servers[i].peer.port == clients[i].local.port);
  }
  CHECK(k[DT_C_SPANS_SEEN] == 2 * n);
  CHECK(k[DT_C_RINGBUF_LOST] == 0);
}

TEST_CASE("vectored and message syscalls: readv/writev, recvmsg/sendmsg, recvfrom/sendto",
          "[bpf]") {
  require_bpf_environment();
  auto spans = trace_child([] {
    LoopbackPair p;
    // sendto / recvfrom
    std::string req = "POST /sendto HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    sendto(p.client, req.data(), req.size(), 0, nullptr, 0);
    read_exactly(p.server, req.size());
    // headers and body as two iovecs
    std::string head = "HTTP/1.1 201 Created\r\nContent-Length: 5000\r\n\r\n";
    std::string body(5000, 'w');
    iovec iov[2] = {{head.data(), head.size()}, {body.data(), body.size()}};
    ssize_t w = writev(p.server, iov, 2);
    REQUIRE(w == static_cast<ssize_t>(head.size() + body.size()));
    std::vector<char> buf(head.size() + body.size());
    std::size_t got = 0;
    while (got < buf.size()) {
      ssize_t r = recvfrom(p.client, buf.data() + got, buf.size() - got, 0, nullptr, nullptr);
      if (r <= 0) _exit(5);
      got += static_cast<std::size_t>(r);
    }
    // sendmsg / recvmsg with a chunked response ending in the zero chunk
    std::string req2 = "GET /msg HTTP/1.1\r\n\r\n";
    iovec rq{req2.data(), req2.size()};
    msghdr m{};
    m.msg_iov = &rq;
    m.msg_iovlen = 1;
    sendmsg(p.client, &m, 0);
    char rb[256];
    iovec rv{rb, sizeof rb};
    msghdr rm{};
    rm.msg_iov = &rv;
    rm.msg_iovlen = 1;
    recvmsg(p.server, &rm, 0);
    std::string parts[] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "4\r\nabcd\r\n",
                           "0\r\n\r\n"};
    std::size_t total = 0;
    for (auto& part : parts) {
      iovec pv{part.data(), part.size()};
      msghdr pm{};
      pm.msg_iov = &pv;
      pm.msg_iovlen = 1;
      sendmsg(p.server, &pm, 0);
      total += part.size();
    }
    read_exactly(p.client, total);
  });
  auto servers = of_kind(spans, capture::SpanKind::kServer);
  REQUIRE(servers.size() == 2);
  CHECK(servers[0].method == "POST");
  CHECK(servers[0].path == "/sendto");
  CHECK(servers[0].status == 201);
  CHECK(servers[0].end_reason == HTTP_END_COMPLETE);
  CHECK(servers[1].path == "/msg");
  CHECK(servers[1].status == 200);
  CHECK(servers[1].end_reason == HTTP_END_COMPLETE);
  CHECK(of_kind(spans, capture::SpanKind::kClient).size() == 2);
}

TEST_CASE("a reused fd number gets the new connection's endpoints", "[bpf]") {
  require_bpf_environment();
  auto spans = trace_child([] {
    for (int round = 0; round < 3; round++) {
      LoopbackPair p;  // same fd numbers every round, new ports
      std::string req = "GET /round/" + std::to_string(round) + " HTTP/1.1\r\n\r\n";
      write_all(p.client, req);
      read_exactly(p.server, req.size());
      std::string r = response(200, 1);
      write_all(p.server, r);
      read_exactly(p.client, r.size());
    }
  });
  auto servers = of_kind(spans, capture::SpanKind::kServer);
  REQUIRE(servers.size() == 3);
  CHECK(servers[0].peer.port != servers[1].peer.port);
  CHECK(servers[1].peer.port != servers[2].peer.port);
  CHECK(servers[0].conn_id != servers[1].conn_id);
  for (int i = 0; i < 3; i++) CHECK(servers[i].path == "/round/" + std::to_string(i));
}

TEST_CASE("garbage on a traced socket gives no span", "[bpf]") {
  require_bpf_environment();
  bpf::KernelCounters k{};
  auto spans = trace_child(
      [] {
        LoopbackPair p;
        std::string junk[] = {std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11),
                              "HELLO\r\n", std::string(4096, '\0'),
                              "GET \x01\x02\x03 HTTP/1.1\r\n\r\n"};
        for (auto& j : junk) {
          write_all(p.client, j);
          read_exactly(p.server, j.size());
          write_all(p.server, "HTTP/1.1 200 OK\r\n\r\n");
          read_exactly(p.client, 19);
        }
      },
      &k);
  CHECK(spans.empty());
  CHECK(k[DT_C_SPANS_SEEN] == 0);
}

TEST_CASE("processes that are not targets pay nothing and give nothing", "[bpf]") {
  require_bpf_environment();
  targets::TargetSet t;
  t.comms.push_back("no-such-comm");
  bpf::CaptureProgram program(t);
  program.attach();
  {
    LoopbackPair p;  // this process is not a target
    write_all(p.client, "GET / HTTP/1.1\r\n\r\n");
    read_exactly(p.server, 18);
  }
  auto k = program.read_counters();
  CHECK(k[DT_C_IO_CALLS] == 0);
  CHECK(k[DT_C_CONNS_TRACKED] == 0);
}
