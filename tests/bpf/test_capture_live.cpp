// The capture program against real sockets: a forked child talks HTTP to
// itself over loopback with every send/receive syscall family, and the test
// checks the spans that come out of the ring buffer, and that nothing leaks.
#include <algorithm>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "protocols/http1/message.h"  // the spans' methods and end reasons
#include "bpf/capture_program.h"
#include "bpf/kernel_filter_store.h"
#include "bpf/kernel_hooks.h"
#include "bpf_test_support.h"
#include "capture/collector.h"
#include "live_child.h"
#include "targets/target_set.h"

using namespace difftrace;
using namespace difftrace::testing;

namespace {

// One keep-alive exchange of GET path over the pair, answered 200.
void exchange(const LoopbackPair& p, const std::string& path) {
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  write_all(p.client, req);
  read_exactly(p.server, req.size());
  std::string r = response(200, 10);
  write_all(p.server, r);
  read_exactly(p.client, r.size());
}

// A listening socket on a free loopback port, its address in a; rcvbuf > 0: the receive
// buffer its connections take. In a traced child: exits it when the socket cannot be made.
int loopback_listener(sockaddr_in& a, int rcvbuf = 0) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (rcvbuf > 0) setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  a = sockaddr_in{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) || listen(listener, 4) ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len))
    _exit(3);
  return listener;
}

std::vector<std::string> paths_of(const std::vector<capture::Span>& spans) {
  std::vector<std::string> out;
  for (const auto& s : spans) out.push_back(s.path);
  return out;
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
    // The source this kernel gets (sockets where it has BPF trampolines, else syscalls), its
    // programs attached and the other source's left out; and the process hooks: task_newtask,
    // sched_process_exit, task_rename, cgroup_attach_task.
    const std::string expected = bpf::probe_kernel_hooks().trampolines ? "sockets" : "syscalls";
    CHECK(program.source() == expected);
    // Optional programs: tcp_sendpage is gone in 6.5; HTTP/2's follower (reached by tail
    // call from the exit hooks, no link of its own) where this kernel's verifier takes it.
    auto optional = [](const std::string& name) {
      return name == "sk_sendpage_exit" || name == "h2_io" || name.rfind("sk_h2_", 0) == 0;
    };
    for (const auto& name : program.skipped()) CHECK(optional(name));
    std::size_t own = 0, process = 0, tail_called = 0;
    for (const auto& p : program.probes()) {
      INFO(p.program << " (" << p.source << "): " << p.detail);
      if (p.source == "process") {
        process++;
        CHECK(p.state == bpf::ProbeStatus::State::kAttached);
      } else if (p.source == "go") {
        // the Go uprobes: loaded where the kernel has uprobes, attached per Go process only
        CHECK(p.state != bpf::ProbeStatus::State::kAttached);
      } else if (p.source == expected) {
        if (p.state != bpf::ProbeStatus::State::kAttached) CHECK(optional(p.program));
        else if (p.detail == "tail call") tail_called++;
        else own++;
      } else {
        CHECK(p.state == bpf::ProbeStatus::State::kLeftOut);
      }
    }
    CHECK(process == 4);
    // This test's own process is no Go program: its uprobes say why they are not attached.
    CHECK_FALSE(program.attach_go(static_cast<std::uint32_t>(getpid())).empty());
    CHECK(own >= (expected == "sockets" ? 7u : 2u));
    CHECK(program.attached_count() == own + process);
    // The matrix's kernels all take HTTP/2's follower (docs/http2.md): h2_io from sys_exit,
    // or sk_h2_sendmsg and sk_h2_recvmsg from the socket hooks.
    CHECK(tail_called == (expected == "sockets" ? 2u : 1u));
    program.detach();
    CHECK(program.attached_count() == 0);
    CHECK(program.skipped().size() >= own + process);
    held = own_bpf_ids();
  }
  std::set<__u32> progs, maps;  // what the program held, and this test did not before
  for (__u32 id : held.progs)
    if (!before.progs.count(id)) progs.insert(id);
  for (__u32 id : held.maps)
    if (!before.maps.count(id)) maps.insert(id);
  CHECK(progs.size() >= 6);  // one source's programs and the process hooks
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

TEST_CASE("a connection's spans follow a change of the service their process matches",
          "[bpf]") {
  require_bpf_environment();
  // emit keeps each connection's service (bpf/lib/emit.bpf.h) until user space says the
  // service maps changed: spans after the change, on the same keep-alive connection, must
  // have the new service, not the one cached for the first.
  int asked[2], told[2];
  REQUIRE(pipe(asked) == 0);
  REQUIRE(pipe(told) == 0);
  HeldChild held([&] {
    prctl(PR_SET_NAME, "dt-svc-child");
    LoopbackPair p;
    exchange(p, "/first");
    char c = 1;
    if (write(asked[1], &c, 1) != 1 || read(told[0], &c, 1) != 1) return 5;
    exchange(p, "/second");
    return 0;
  });
  const pid_t child = held.pid();
  std::vector<capture::Span> spans;
  {
    bpf::CaptureProgram program(pid_target(child));
    program.attach();
    bpf::KernelFilterStore store(program);
    store.set_service_comm("dt-svc-child", dt_service{7, DT_ROLE_FUNCTION, 0, 0});
    capture::WallClock clock;
    capture::SpanDecoder decoder(clock);
    capture::Collector collector(program.events_fd(), decoder);
    held.release();
    char c = 0;
    REQUIRE(read(asked[0], &c, 1) == 1);
    store.set_service_comm("dt-svc-child", dt_service{9, DT_ROLE_FUNCTION, 0, 0});
    REQUIRE(write(told[1], &c, 1) == 1);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    drain_into(collector, spans);
  }
  for (int fd : {asked[0], asked[1], told[0], told[1]}) close(fd);
  REQUIRE(spans.size() == 4);  // a server and a client span of each exchange
  for (const auto& s : spans) {
    INFO(s.path << (s.kind == capture::SpanKind::kServer ? " server" : " client"));
    CHECK(s.service_id == (s.path == "/first" ? 7 : 9));
  }
}

// A thread's verdict (target or not) is cached in the kernel; a rename, a move to another
// cgroup and a change of the target maps must each make it be taken again. Each child below
// makes one exchange before it becomes a target (its verdict cached: not a target) and one
// after: only the second may give spans.
// A server span's caller is traced (DT_SPAN_F_PEER_TRACED, which the linker trusts over a
// header's parent) when its client end is a target's client connection: a call from an
// untargeted process is not, before or while a traced client connection is open (emit skips
// the lookup while no client end is published, and looks it up while one is).
TEST_CASE("a server span's caller is traced only when its client connection is a target's",
          "[bpf]") {
  require_bpf_environment();
  auto spans = trace_child(
      [] {
        prctl(PR_SET_NAME, "dt-peer-srv");
        sockaddr_in a{};
        const int listener = loopback_listener(a);
        // One exchange whose client is another process, renamed out of the targets.
        auto untraced_call = [&](const std::string& path) {
          const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
          const std::string r = response(200, 10);
          pid_t g = fork();
          if (g == 0) {
            prctl(PR_SET_NAME, "dt-peer-cli");
            int c = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a)) _exit(4);
            write_all(c, req);
            read_exactly(c, r.size());
            close(c);
            _exit(0);
          }
          int s = accept4(listener, nullptr, nullptr, 0);
          read_exactly(s, req.size());
          write_all(s, r);
          int status = 0;
          waitpid(g, &status, 0);
          close(s);
          if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) _exit(5);
        };
        untraced_call("/untraced-first");
        LoopbackPair p;
        exchange(p, "/traced");
        untraced_call("/untraced-while-a-client-is-open");
        close(listener);
      },
      nullptr,
      [](pid_t) {
        targets::TargetSet t;
        t.comms.push_back("dt-peer-srv");
        return t;
      });
  auto servers = of_kind(spans, capture::SpanKind::kServer);
  REQUIRE(paths_of(servers) == std::vector<std::string>{"/untraced-first", "/traced",
                                                        "/untraced-while-a-client-is-open"});
  CHECK((servers[0].flags & DT_SPAN_F_PEER_TRACED) == 0);
  CHECK((servers[1].flags & DT_SPAN_F_PEER_TRACED) != 0);
  CHECK((servers[2].flags & DT_SPAN_F_PEER_TRACED) == 0);
  CHECK(paths_of(of_kind(spans, capture::SpanKind::kClient)) == std::vector<std::string>{"/traced"});
}

// A send's entry reads the clock (a request starts when its write begins) unless the thread's
// last I/O on that fd was a server connection's and no fd's socket changed since (struct
// io_slot in bpf/sources/syscalls.bpf.h): a thread that served on an fd number, then sends a
// request on a new connection with that number, still starts the request at its send's entry.
// The server reads the request's body slowly here, so its one write() blocks: taken at the
// write's exit, the client span would start long after the server span.
TEST_CASE("a request sent on the fd number of a connection the thread served starts at its "
          "send's entry",
          "[bpf]") {
  require_bpf_environment();
  const std::size_t body = 1 << 20;
  auto spans = trace_child([] {
    auto* served = new LoopbackPair;
    exchange(*served, "/served");  // this thread's last server I/O: on served->server
    const int reused = served->server;
    const int small = 16384;  // small buffers: the request's write blocks on the reader
    sockaddr_in a{};
    const int listener = loopback_listener(a, small);
    delete served;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c != reused) {
      if (dup2(c, reused) != reused) _exit(4);
      close(c);
      c = reused;
    }
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a)) _exit(5);
    const std::string req = "POST /sent HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                            std::to_string(body) + "\r\n\r\n" + std::string(body, 'q');
    const std::string r = response(200, 10);
    std::thread server([&] {
      int s = accept4(listener, nullptr, nullptr, 0);
      std::vector<char> buf(small);
      for (std::size_t got = 0; got < req.size();) {
        ssize_t n = read(s, buf.data(), std::min(buf.size(), req.size() - got));
        if (n <= 0) _exit(6);
        got += static_cast<std::size_t>(n);
        usleep(2000);
      }
      write_all(s, r);
      close(s);
    });
    write_all(c, req);
    read_exactly(c, r.size());
    server.join();
    close(c);
    close(listener);
  });
  const capture::Span* client = nullptr;
  const capture::Span* server = nullptr;
  for (const auto& s : spans)
    if (s.path == "/sent") (s.kind == capture::SpanKind::kClient ? client : server) = &s;
  REQUIRE(client);
  REQUIRE(server);
  CHECK(client->start_unix_ns <= server->start_unix_ns);
  // (Not the ends: the server is another thread here, whose response write may return after
  // the client's read of it did; the 6.12 guest's sockets source saw it end 270 us later.)
  // The write blocked: the server's span is long.
  CHECK(server->end_unix_ns - server->start_unix_ns > 20'000'000u);
}

TEST_CASE("a thread renamed into a comm target is traced from then on, not before", "[bpf]") {
  require_bpf_environment();
  auto spans = trace_child(
      [] {
        LoopbackPair p;
        exchange(p, "/before");
        prctl(PR_SET_NAME, "dt-renamed");
        exchange(p, "/after");
      },
      nullptr,
      [](pid_t) {
        targets::TargetSet t;
        t.comms.push_back("dt-renamed");
        return t;
      });
  CHECK(paths_of(of_kind(spans, capture::SpanKind::kServer)) == std::vector<std::string>{"/after"});
  CHECK(paths_of(of_kind(spans, capture::SpanKind::kClient)) == std::vector<std::string>{"/after"});
}

TEST_CASE("a process targeted by name is traced in threads it named otherwise", "[bpf]") {
  require_bpf_environment();
  // Servers name their threads (grpcio's C core, the JVM): a comm target matches the
  // process's name (its main thread's) as well as a thread's own.
  auto spans = trace_child(
      [] {
        prctl(PR_SET_NAME, "dt-named-proc");
        std::thread worker([] {
          prctl(PR_SET_NAME, "dt-own-name");
          LoopbackPair p;
          exchange(p, "/worker");
        });
        worker.join();
      },
      nullptr,
      [](pid_t) {
        targets::TargetSet t;
        t.comms.push_back("dt-named-proc");
        return t;
      });
  CHECK(paths_of(of_kind(spans, capture::SpanKind::kServer)) == std::vector<std::string>{"/worker"});
  CHECK(paths_of(of_kind(spans, capture::SpanKind::kClient)) == std::vector<std::string>{"/worker"});
}

TEST_CASE("a process moved into a target cgroup is traced from then on, not before", "[bpf]") {
  require_bpf_environment();
  const std::string root = targets::cgroup2_root();
  REQUIRE_FALSE(root.empty());  // the harness's footing: CI machines mount cgroup v2
  const std::string dir = root + "/dt-bpf-test-" + std::to_string(getpid());
  REQUIRE(mkdir(dir.c_str(), 0755) == 0);
  const std::uint64_t id = targets::cgroup_id_of(dir);
  auto spans = trace_child(
      [&] {
        LoopbackPair p;
        exchange(p, "/before");
        // "0" moves the writer itself (cgroup v2)
        int fd = open((dir + "/cgroup.procs").c_str(), O_WRONLY);
        if (fd < 0 || write(fd, "0", 1) != 1) _exit(5);
        close(fd);
        exchange(p, "/after");
      },
      nullptr,
      [&](pid_t) {
        targets::TargetSet t;
        t.cgroup_ids.push_back(id);
        return t;
      });
  rmdir(dir.c_str());  // the child has exited: the cgroup is empty
  CHECK(paths_of(of_kind(spans, capture::SpanKind::kServer)) == std::vector<std::string>{"/after"});
  CHECK(paths_of(of_kind(spans, capture::SpanKind::kClient)) == std::vector<std::string>{"/after"});
}

TEST_CASE("a change of the target maps is seen by a thread whose verdict was cached", "[bpf]") {
  require_bpf_environment();
  int up[2], down[2];  // child -> test: "done with a step"; test -> child: "go on"
  REQUIRE(pipe(up) == 0);
  REQUIRE(pipe(down) == 0);
  auto step = [&] {
    char c = 's';
    if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) != 1) _exit(6);
  };
  HeldChild held([&] {
    LoopbackPair p;
    exchange(p, "/before");  // not a target yet: its verdict is cached
    step();                  // the test adds it to the target maps
    exchange(p, "/after");
    step();                  // the test takes it out again
    exchange(p, "/gone");
    return 0;
  });
  targets::TargetSet none;
  none.changeable = true;
  targets::TargetSet child = none;
  child.pids.push_back(held.pid());
  std::vector<capture::Span> spans;
  {
    bpf::CaptureProgram program(none);
    program.attach();
    capture::WallClock clock;
    capture::SpanDecoder decoder(clock);
    capture::Collector collector(program.events_fd(), decoder);
    held.release();
    for (const auto& next : {child, none}) {
      char c;
      REQUIRE(read(up[0], &c, 1) == 1);
      program.set_targets(next);
      REQUIRE(write(down[1], &c, 1) == 1);
    }
    int status = 0;
    REQUIRE(waitpid(held.pid(), &status, 0) == held.pid());
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    drain_into(collector, spans);
  }
  for (int fd : {up[0], up[1], down[0], down[1]}) close(fd);
  CHECK(paths_of(of_kind(spans, capture::SpanKind::kServer)) == std::vector<std::string>{"/after"});
  CHECK(paths_of(of_kind(spans, capture::SpanKind::kClient)) == std::vector<std::string>{"/after"});
}
