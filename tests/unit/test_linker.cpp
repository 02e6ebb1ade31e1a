// The linker on hand-made traces: the demo platform's request path with a
// forwarded traceparent, hops missing, re-entrant chains, concurrent
// requests of one trace in one process, the async edge and a trace the
// ingress started. A parent is correct or absent, never a guess.
#include <catch2/catch.hpp>

#include <map>

#include "assembler/linker.h"
#include "capture.h"

using namespace difftrace;
using assembler::Linker;
using capture::Span;
using capture::SpanId;
using capture::SpanKind;

namespace {

constexpr std::uint64_t ms = 1'000'000;

SpanId id(std::uint64_t v) {
  SpanId s{};
  for (int i = 0; i < 8; i++) s[static_cast<std::size_t>(7 - i)] = static_cast<std::uint8_t>(v >> (8 * i));
  return s;
}

const SpanId kCaller = id(0xca11e5);  // the load generator's span: outside, untraced

// A span with a known id (n) at [start, end) ms. A SERVER span listens on
// local_port and its peer is the caller's ephemeral port; a CLIENT span the
// other way round.
Span span(std::uint64_t n, const char* service, SpanKind kind, std::uint64_t start,
          std::uint64_t end, std::uint16_t local_port, std::uint16_t peer_port, std::uint32_t pid,
          std::uint32_t tid = 0, const char* path = "/fn-hello/") {
  Span s;
  s.trace_id[0] = 7;
  s.trace_from_header = true;
  s.span_id = id(n);
  s.kind = kind;
  s.method = "GET";
  s.path = path;
  s.status = 200;
  s.start_unix_ns = start * ms;
  s.end_unix_ns = end * ms;
  s.pid = pid;
  s.tid = tid ? tid : pid;
  s.service_name = service;
  s.local = {"127.0.0.1", local_port};
  s.peer = {"127.0.0.1", peer_port};
  s.decision = "full";
  return s;
}

Span server(std::uint64_t n, const char* service, std::uint64_t start, std::uint64_t end,
            std::uint16_t port, std::uint16_t caller_port, std::uint32_t pid,
            bool peer_traced = true, std::uint32_t tid = 0, const char* path = "/fn-hello/") {
  Span s = span(n, service, SpanKind::kServer, start, end, port, caller_port, pid, tid, path);
  s.header_parent_id = kCaller;  // forwarded unchanged by every hop
  if (peer_traced) s.flags |= DT_SPAN_F_PEER_TRACED;
  return s;
}

Span client(std::uint64_t n, const char* service, std::uint64_t start, std::uint64_t end,
            std::uint16_t port, std::uint16_t to_port, std::uint32_t pid, std::uint32_t tid = 0,
            const char* path = "/fn-hello/") {
  Span s = span(n, service, SpanKind::kClient, start, end, port, to_port, pid, tid, path);
  s.header_parent_id = kCaller;
  return s;
}

// haproxy -> activator -> queue-proxy -> fn-hello, as the platform runs it
// (ids 1..7 in path order), the client's traceparent forwarded unchanged.
std::vector<Span> platform_path(std::uint64_t t0 = 0) {
  return {server(1, "haproxy", t0 + 0, t0 + 20, 8080, 50000, 10, /*peer_traced=*/false),
          client(2, "haproxy", t0 + 1, t0 + 19, 50001, 8081, 10),
          server(3, "activator", t0 + 2, t0 + 18, 8081, 50001, 11),
          client(4, "activator", t0 + 3, t0 + 17, 50002, 8101, 11),
          server(5, "queue-proxy", t0 + 4, t0 + 16, 8101, 50002, 12),
          client(6, "queue-proxy", t0 + 5, t0 + 15, 50003, 9001, 12),
          server(7, "fn-hello", t0 + 6, t0 + 14, 9001, 50003, 13)};
}

// Parent of each span by the number in its id ("-": none, "caller": the header's).
std::map<std::uint64_t, std::string> parents(const std::vector<Span>& t) {
  std::map<std::uint64_t, std::string> out;
  for (const auto& s : t) {
    std::uint64_t n = 0;
    for (auto b : s.span_id) n = n << 8 | b;
    std::string p = "-";
    if (s.parent_span_id == kCaller) {
      p = "caller";
    } else if (s.parent_span_id) {
      std::uint64_t v = 0;
      for (auto b : *s.parent_span_id) v = v << 8 | b;
      p = std::to_string(v);
    }
    out[n] = p;
  }
  return out;
}

using Want = std::map<std::uint64_t, std::string>;

}  // namespace

TEST_CASE("linker: the platform path with a forwarded traceparent", "[linker]") {
  auto t = platform_path();
  Linker l;
  l.link(t);
  // Only the ingress is the header's child; every other hop hangs under the
  // CLIENT span of its caller, every CLIENT span under its process's SERVER span.
  CHECK(parents(t) == Want{{1, "caller"}, {2, "1"}, {3, "2"}, {4, "3"}, {5, "4"}, {6, "5"},
                           {7, "6"}});
  CHECK(l.counters().parents_by_connection == 3);
  CHECK(l.counters().parents_by_header == 1);
  CHECK(l.counters().parents_in_process == 3);
}

TEST_CASE("linker: a hop whose caller is not in the trace gets no parent", "[linker]") {
  SECTION("the kernel saw its caller is traced") {
    auto t = platform_path();
    t.erase(t.begin() + 3);  // the activator's CLIENT span was lost
    Linker l;
    l.link(t);
    CHECK(parents(t) == Want{{1, "caller"}, {2, "1"}, {3, "2"}, {5, "-"}, {6, "5"}, {7, "6"}});
  }
  SECTION("without the kernel's mark: an earlier span carried the same header") {
    auto t = platform_path();
    t.erase(t.begin() + 3);
    for (auto& s : t) s.flags = 0;
    Linker l;
    l.link(t);
    CHECK(parents(t)[5] == "-");
  }
  SECTION("a function span alone (its platform spans kept in the kernel)") {
    std::vector<Span> t{platform_path()[6]};
    Linker l;
    l.link(t);
    CHECK(parents(t) == Want{{7, "-"}});
  }
  SECTION("a CLIENT span whose SERVER span is missing") {
    auto t = platform_path();
    t.erase(t.begin() + 2);  // the activator's SERVER span
    Linker l;
    l.link(t);
    CHECK(parents(t)[4] == "-");
    CHECK(parents(t)[5] == "4");
  }
}

TEST_CASE("linker: the root hop keeps the header's parent only when nothing forwarded it",
          "[linker]") {
  SECTION("the first traced hop of a request from outside") {
    std::vector<Span> t{server(1, "nginx", 0, 10, 80, 40000, 5, false)};
    Linker l;
    l.link(t);
    CHECK(parents(t) == Want{{1, "caller"}});
  }
  SECTION("no header: no parent") {
    auto s = server(1, "nginx", 0, 10, 80, 40000, 5, false);
    s.header_parent_id.reset();
    std::vector<Span> t{s};
    Linker l;
    l.link(t);
    CHECK(parents(t) == Want{{1, "-"}});
  }
}

TEST_CASE("linker: same connection, other time is another exchange", "[linker]") {
  auto t = platform_path();
  // The activator's CLIENT span of an earlier request on the same keep-alive
  // connection, in this trace (a retry): it does not overlap the SERVER span.
  auto early = client(8, "activator", 0, 1, 50002, 8101, 11);
  early.start_unix_ns = 100'000;
  early.end_unix_ns = 900'000;
  t.push_back(early);
  Linker l;
  l.link(t);
  CHECK(parents(t)[5] == "4");
}

TEST_CASE("linker: two CLIENT spans on the other end at once is ambiguous", "[linker]") {
  auto t = platform_path();
  t.push_back(client(8, "activator", 3, 17, 50002, 8101, 11));
  Linker l;
  l.link(t);
  CHECK(parents(t)[5] == "-");
  CHECK(l.counters().left_ambiguous >= 1);
}

TEST_CASE("linker: a chain passes the platform twice", "[linker]") {
  // fn-chain calls fn-hello through the ingress: haproxy, activator and
  // queue-proxy each serve two nested requests of the trace.
  std::vector<Span> t = {
      server(1, "haproxy", 0, 100, 8080, 50000, 10, false, 0, "/fn-chain/"),
      client(2, "haproxy", 1, 99, 50001, 8081, 10, 0, "/fn-chain/"),
      server(3, "activator", 2, 98, 8081, 50001, 11, true, 0, "/fn-chain/"),
      client(4, "activator", 3, 97, 50002, 8103, 11, 0, "/fn-chain/"),
      server(5, "queue-proxy", 4, 96, 8103, 50002, 12, true, 0, "/fn-chain/"),
      client(6, "queue-proxy", 5, 95, 50003, 9003, 12, 0, "/fn-chain/"),
      server(7, "fn-chain", 6, 94, 9003, 50003, 14, true, 140, "/fn-chain/"),
      client(8, "fn-chain", 10, 90, 50010, 8080, 14, 140, "/fn-hello/"),
      server(11, "haproxy", 11, 89, 8080, 50010, 10, true),
      client(12, "haproxy", 12, 88, 50011, 8081, 10),
      server(13, "activator", 13, 87, 8081, 50011, 11),
      client(14, "activator", 14, 86, 50012, 8101, 11),
      server(15, "queue-proxy", 15, 85, 8101, 50012, 15),
      client(16, "queue-proxy", 16, 84, 50013, 9001, 15),
      server(17, "fn-hello", 17, 83, 9001, 50013, 13)};
  Linker l;
  l.link(t);
  CHECK(parents(t) == Want{{1, "caller"}, {2, "1"},   {3, "2"},   {4, "3"},   {5, "4"},
                           {6, "5"},      {7, "6"},   {8, "7"},   {11, "8"},  {12, "11"},
                           {13, "12"},    {14, "13"}, {15, "14"}, {16, "15"}, {17, "16"}});
}

TEST_CASE("linker: what a process is learned to do narrows its candidates", "[linker]") {
  Linker l;
  // Teach it: haproxy (pid 10) forwards method and target; fn-chain (pid 14)
  // calls out on the thread that serves the request.
  for (int i = 0; i < 130; i++) {
    auto t = platform_path(1000 * static_cast<std::uint64_t>(i) + 1000);
    t.push_back(server(20, "fn-chain", 1000 * static_cast<std::uint64_t>(i) + 1000,
                       1000 * static_cast<std::uint64_t>(i) + 1050, 9003, 50030, 14, true, 141,
                       "/fn-chain/"));
    t.push_back(client(21, "fn-chain", 1000 * static_cast<std::uint64_t>(i) + 1010,
                       1000 * static_cast<std::uint64_t>(i) + 1040, 50031, 8080, 14, 141));
    l.link(t);
  }
  REQUIRE(l.habits(10));
  CHECK(l.habits(10)->forwards_target());
  CHECK(l.habits(14)->thread_per_request());
  CHECK_FALSE(l.habits(14)->forwards_target());

  SECTION("one CLIENT span on another thread: not thread-per-request (a Go server)") {
    REQUIRE(l.habits(12)->thread_per_request());  // so far its goroutines kept their threads
    auto t = platform_path(1000000);
    t[5].tid = 99;  // the queue-proxy's goroutine went on on another thread
    l.link(t);
    CHECK(parents(t)[6] == "-");  // absent, not wrong, while it was believed
    CHECK_FALSE(l.habits(12)->thread_per_request());
    auto u = platform_path(2000000);
    u[5].tid = 98;
    l.link(u);
    CHECK(parents(u)[6] == "5");
  }

  SECTION("a proxy's CLIENT span whose own SERVER span is missing stays without parent") {
    // The chain's second pass through haproxy lost its SERVER span; the
    // outer one (another target) holds the CLIENT span in time, wrongly.
    std::vector<Span> t = {server(1, "haproxy", 0, 100, 8080, 50000, 10, false, 0, "/fn-chain/"),
                           client(12, "haproxy", 12, 88, 50011, 8081, 10)};
    l.link(t);
    CHECK(parents(t)[12] == "-");
  }
  SECTION("a thread-per-request server: the SERVER span on the CLIENT span's thread") {
    // Two requests of one trace served at once by fn-chain, on two threads.
    std::vector<Span> t = {server(1, "fn-chain", 0, 100, 9003, 50000, 14, false, 141, "/fn-chain/"),
                           server(2, "fn-chain", 5, 95, 9003, 50001, 14, false, 142, "/fn-chain/"),
                           client(3, "fn-chain", 10, 20, 50010, 8080, 14, 141),
                           client(4, "fn-chain", 30, 40, 50011, 8080, 14, 142)};
    l.link(t);
    CHECK(parents(t)[3] == "1");  // not the innermost window: the thread decides
    CHECK(parents(t)[4] == "2");
  }
  SECTION("a re-entrant function: the outer request's thread is not the inner's") {
    // fn-chain calls itself; the inner request's SERVER span was lost.
    std::vector<Span> t = {server(1, "fn-chain", 0, 100, 9003, 50000, 14, false, 141, "/fn-chain/"),
                           client(3, "fn-chain", 10, 20, 50010, 8080, 14, 143)};
    l.link(t);
    CHECK(parents(t)[3] == "-");
  }
}

TEST_CASE("linker: concurrent requests of one trace in an event loop stay unlinked",
          "[linker]") {
  // An event-loop proxy (one thread) serving two requests of the trace at
  // once, same target: both SERVER windows hold the CLIENT span, neither
  // inside the other. Nothing tells them apart.
  std::vector<Span> t = {server(1, "nginx", 0, 50, 80, 40000, 20, false, 20),
                         server(2, "nginx", 5, 60, 80, 40001, 20, false, 20),
                         client(3, "nginx", 10, 40, 50000, 8081, 20, 20),
                         client(4, "nginx", 12, 42, 50001, 8081, 20, 20)};
  Linker l;
  l.link(t);
  CHECK(parents(t)[3] == "-");
  CHECK(parents(t)[4] == "-");
  CHECK(l.counters().left_ambiguous == 2);

  SECTION("identical windows are a tie") {
    std::vector<Span> u = {server(1, "nginx", 0, 50, 80, 40000, 20, false, 20),
                           server(2, "nginx", 0, 50, 80, 40001, 20, false, 20),
                           client(3, "nginx", 10, 40, 50000, 8081, 20, 20)};
    Linker l2;
    l2.link(u);
    CHECK(parents(u)[3] == "-");
  }
  SECTION("the target tells them apart") {
    std::vector<Span> u = {server(1, "nginx", 0, 50, 80, 40000, 20, false, 20, "/a"),
                           server(2, "nginx", 5, 60, 80, 40001, 20, false, 20, "/b"),
                           client(3, "nginx", 10, 40, 50000, 8081, 20, 20, "/b")};
    Linker l2;
    l2.link(u);
    CHECK(parents(u)[3] == "2");
  }
}

TEST_CASE("linker: the async edge through the span the activator announced", "[linker]") {
  const SpanId announced = id(0xa5);
  auto t = platform_path();
  // The activator answered 202 at 10 ms and named its span in traceresponse;
  // haproxy passed that header back unchanged. The deferred request (its
  // traceparent's parent: the announced span) goes out at 30 ms.
  t.resize(3);
  t[2].end_unix_ns = 10 * ms;
  t[2].status = 202;
  t[2].announced_span_id = announced;
  t[0].announced_span_id = announced;
  t[1].end_unix_ns = 11 * ms;
  t[0].end_unix_ns = 12 * ms;
  auto deferred = client(4, "activator", 30, 60, 50002, 8104, 11, 0, "/fn-async/");
  deferred.header_parent_id = announced;
  auto qp = server(5, "queue-proxy", 31, 59, 8104, 50002, 12, true, 0, "/fn-async/");
  qp.header_parent_id = announced;
  auto fn = server(7, "fn-async", 33, 57, 9004, 50003, 16, true, 0, "/fn-async/");
  fn.header_parent_id = announced;
  t.push_back(deferred);
  t.push_back(qp);
  t.push_back(client(6, "queue-proxy", 32, 58, 50003, 9004, 12, 0, "/fn-async/"));
  t.push_back(fn);
  Linker l;
  l.link(t);
  // The activator's SERVER span owns the id (haproxy only passed it on).
  CHECK(t[2].span_id == announced);
  CHECK(t[0].span_id == id(1));
  auto p = parents(t);
  CHECK(p[0xa5] == "2");
  CHECK(p[4] == std::to_string(0xa5));
  CHECK(p[5] == "4");
  CHECK(p[6] == "5");
  CHECK(p[7] == "6");
  CHECK(l.counters().parents_by_response == 1);
  CHECK(t[6].start_unix_ns > t[2].end_unix_ns);  // the function ran after the 202

  SECTION("without the announced id, the deferred CLIENT span has no parent") {
    auto u = t;
    for (auto& s : u) s.announced_span_id.reset();
    u[2].span_id = id(3);
    Linker l2;
    l2.link(u);
    CHECK(parents(u)[4] == "-");
  }
}

TEST_CASE("linker: a trace the ingress started for a request without headers", "[linker]") {
  const SpanId ingress = id(0x1e);
  auto t = platform_path();
  // The request had no trace header: haproxy started the trace, sent
  // traceparent with its span's id and named it in traceresponse.
  t[0].header_parent_id.reset();
  t[0].announced_span_id = ingress;
  for (std::size_t i = 1; i < t.size(); i++) t[i].header_parent_id = ingress;
  Linker l;
  l.link(t);
  CHECK(t[0].span_id == ingress);
  auto p = parents(t);
  CHECK(p[0x1e] == "-");
  CHECK(p[2] == std::to_string(0x1e));
  CHECK(p[3] == "2");
  CHECK(p[7] == "6");
}

TEST_CASE("linker: spans already sent can be parents and stay as they are", "[linker]") {
  auto t = platform_path();
  auto late = t.front();  // the ingress SERVER span ends last: it came late
  t.erase(t.begin());
  Linker l;
  l.link(t);
  CHECK(parents(t)[2] == "-");
  t.push_back(late);
  l.link(t, t.size() - 1);
  CHECK(parents(t)[1] == "caller");
  CHECK(parents(t)[2] == "-");  // went out before its parent came
}

TEST_CASE("linker: a header a process received and sends on names no span of its own",
          "[linker]") {
  // No trace header from the client: haproxy started the trace (its span
  // announced X). fn-chain forwards traceparent(X) back through haproxy,
  // which forwards it again: that CLIENT span's header names X, haproxy's
  // first span, but it belongs to haproxy's second SERVER span.
  const SpanId x = id(0x1e);
  std::vector<Span> t = {
      server(1, "haproxy", 0, 100, 8080, 50000, 10, false, 0, "/fn-chain/"),
      client(2, "haproxy", 1, 99, 50001, 8081, 10, 0, "/fn-chain/"),
      server(7, "fn-chain", 6, 94, 9003, 50001, 14, true, 140, "/fn-chain/"),
      client(8, "fn-chain", 10, 90, 50010, 8080, 14, 140, "/fn-hello/"),
      server(11, "haproxy", 11, 89, 8080, 50010, 10, true),
      client(12, "haproxy", 12, 88, 50011, 8081, 10)};
  t[0].header_parent_id.reset();
  t[0].announced_span_id = x;
  for (std::size_t i = 1; i < t.size(); i++) t[i].header_parent_id = x;
  Linker l;
  l.link(t);
  auto p = parents(t);
  CHECK(p[2] == std::to_string(0x1e));  // haproxy's own header: continuity
  CHECK(p[12] == "11");                  // forwarded: by time and target
  CHECK(l.counters().parents_by_response == 1);
}

TEST_CASE("linker: a server reading two requests at once on one thread is no thread-per-request",
          "[linker]") {
  // A Go server whose goroutines happen to keep their thread: every CLIENT
  // span on its SERVER span's thread, but two requests overlap on thread 7.
  Linker l;
  for (std::uint64_t i = 0; i < 100; i++) {
    std::vector<Span> t = {server(1, "go", 10 * i, 10 * i + 15, 8081, 50000, 30, false, 7),
                           client(2, "go", 10 * i + 1, 10 * i + 14, 50001, 9000, 30, 7)};
    l.link(t);
    CHECK(parents(t)[2] == "1");
  }
  REQUIRE(l.habits(30));
  CHECK(l.habits(30)->same_thread == 100);
  CHECK(l.habits(30)->shares_threads);
  CHECK_FALSE(l.habits(30)->thread_per_request());
  // So a CLIENT span on another thread still finds its SERVER span.
  std::vector<Span> t = {server(1, "go", 5000, 5015, 8081, 50000, 30, false, 7),
                         client(2, "go", 5001, 5014, 50001, 9000, 30, 8)};
  l.link(t);
  CHECK(parents(t)[2] == "1");
}

TEST_CASE("issue 15 item 3: a caller through DNAT (a ClusterIP) is the server's parent",
          "[linker]") {
  // The activator dials the queue-proxy's ClusterIP 10.96.0.10:80; kube-proxy's DNAT takes
  // the connection to the pod at 10.244.1.5:8101. The client end (10.244.0.7:50002) is what
  // both sides share.
  auto t = platform_path();  // t[3] is span 4 (activator CLIENT), t[4] span 5 (queue-proxy)
  t[3].local = {"10.244.0.7", 50002};
  t[3].peer = {"10.96.0.10", 80};
  t[4].local = {"10.244.1.5", 8101};
  t[4].peer = {"10.244.0.7", 50002};
  Linker l;
  l.link(t);
  CHECK(parents(t)[5] == "4");
  // Another client end: not the caller, whatever the addresses it dialled.
  auto other = platform_path();
  other[4].peer = {"10.244.0.8", 50002};
  Linker l2;
  l2.link(other);
  CHECK(parents(other)[5] == "-");
}
