// Traces without any trace header, from what the kernel saw (issue 16): spans joined into
// one trace per request by TCP sequence numbers and the kernel's in-process cause
// (assembler/causal_join.h), parents set from the same evidence (assembler/linker.h), and
// no parent where the evidence does not decide.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "assembler/assembler.h"
#include "assembler/causal_join.h"
#include "assembler/linker.h"
#include "capture.h"
#include "capture/go_probe_sites.h"
#include "capture/go_process.h"

using namespace difftrace;
using assembler::Assembler;
using assembler::Linker;
using capture::Span;
using capture::SpanKind;

namespace {

constexpr std::uint64_t ms = 1'000'000;

capture::SpanId id(std::uint64_t v) {
  capture::SpanId s{};
  for (int i = 0; i < 8; i++) s[static_cast<std::size_t>(7 - i)] = static_cast<std::uint8_t>(v >> (8 * i));
  return s;
}

std::uint64_t num(const capture::SpanId& s) {
  std::uint64_t v = 0;
  for (auto b : s) v = v << 8 | b;
  return v;
}

// A header-less span n (its own fresh trace id, as the decoder makes one) on connection
// conn_id, exchange 1, whose request's first byte had TCP sequence number seq. A SERVER
// span listens on local_port, its peer is the caller's port; a CLIENT span the other way.
Span span(std::uint64_t n, SpanKind kind, std::uint64_t start, std::uint64_t end,
          std::uint16_t local_port, std::uint16_t peer_port, std::uint32_t pid,
          std::uint64_t conn_id, std::uint32_t seq) {
  Span s;
  s.trace_id[0] = static_cast<std::uint8_t>(n);
  s.trace_id[15] = 0xee;
  s.span_id = id(n);
  s.kind = kind;
  s.method = "GET";
  s.path = "/x";
  s.status = 200;
  s.start_unix_ns = start * ms;
  s.end_unix_ns = end * ms;
  s.pid = pid;
  s.tid = pid;
  s.local = {"127.0.0.1", local_port};
  s.peer = {"127.0.0.1", peer_port};
  s.conn_id = conn_id;
  s.exch_seq = 1;
  s.req_seq = seq;
  s.decision = "full";
  s.reason = "no_filter";
  return s;
}

Span caused_client(std::uint64_t n, std::uint64_t start, std::uint64_t end, std::uint16_t port,
                   std::uint16_t to_port, std::uint32_t pid, std::uint64_t conn_id,
                   std::uint32_t seq, std::uint64_t cause_conn) {
  Span s = span(n, SpanKind::kClient, start, end, port, to_port, pid, conn_id, seq);
  s.cause = DT_CAUSE_FOUND;
  s.cause_conn_id = cause_conn;
  s.cause_exch = 1;
  return s;
}

// ingress (pid 1) -> proxy (pid 2) -> app (pid 3), spans 1..5 in path order, no headers.
std::vector<Span> chain(std::uint64_t base = 0, std::uint64_t t0 = 0) {
  const auto p = static_cast<std::uint16_t>(base);
  return {span(base + 1, SpanKind::kServer, t0, t0 + 50, 80, 40000 + p, 1, base + 11, 100),
          caused_client(base + 2, t0 + 1, t0 + 49, 41000 + p, 81, 1, base + 12, 200, base + 11),
          span(base + 3, SpanKind::kServer, t0 + 2, t0 + 48, 81, 41000 + p, 2, base + 13, 200),
          caused_client(base + 4, t0 + 3, t0 + 47, 42000 + p, 82, 2, base + 14, 300, base + 13),
          span(base + 5, SpanKind::kServer, t0 + 4, t0 + 46, 82, 42000 + p, 3, base + 15, 300)};
}

struct Run {
  Assembler a{1000 * ms, 64, 4096, nullptr, nullptr, [] { return id(999); }};
  std::vector<Span> out;
  // Spans arrive as they end: the innermost first.
  void add_in_end_order(std::vector<Span> spans, std::uint64_t now_ms = 100) {
    std::sort(spans.begin(), spans.end(),
              [](const Span& x, const Span& y) { return x.end_unix_ns < y.end_unix_ns; });
    for (auto& s : spans) a.add({s}, now_ms * ms, out);
  }
  void flush() { a.expire(0, out, true); }
  // span number -> parent's number (0: none); and trace ids by span number.
  std::map<std::uint64_t, std::uint64_t> parents() const {
    std::map<std::uint64_t, std::uint64_t> m;
    for (const auto& s : out) m[num(s.span_id)] = s.parent_span_id ? num(*s.parent_span_id) : 0;
    return m;
  }
  const Span& of(std::uint64_t n) const {
    for (const auto& s : out)
      if (num(s.span_id) == n) return s;
    FAIL("no span " << n);
    return out.front();
  }
};

using Want = std::map<std::uint64_t, std::uint64_t>;

}  // namespace

TEST_CASE("causal: a request without headers is one trace under its root's id", "[causal]") {
  Run r;
  r.add_in_end_order(chain());
  CHECK(r.out.empty());  // they wait for their callers
  r.flush();
  REQUIRE(r.out.size() == 5);
  CHECK(r.parents() == Want{{1, 0}, {2, 1}, {3, 2}, {4, 3}, {5, 4}});
  for (const auto& s : r.out) CHECK(s.trace_id == chain()[0].trace_id);
  CHECK(r.a.link_counters().parents_by_seq == 2);
  CHECK(r.a.link_counters().parents_by_cause == 2);
}

TEST_CASE("causal: concurrent requests through pooled connections stay apart", "[causal]") {
  // Two requests at once, each hop's connection reused: the same connections, other
  // sequence numbers; the second request's spans all shifted by 20.
  auto a = chain(0), b = chain(20, 1);
  for (auto& s : b) {
    s.local.port = a[static_cast<std::size_t>(num(s.span_id) - 21)].local.port;
    s.peer.port = a[static_cast<std::size_t>(num(s.span_id) - 21)].peer.port;
    if (s.req_seq) *s.req_seq += 7;
    s.conn_id -= 20;  // the same connections, their second exchange
    s.exch_seq = 2;
    if (s.cause == DT_CAUSE_FOUND) {
      s.cause_conn_id -= 20;
      s.cause_exch = 2;
    }
  }
  Run r;
  auto all = a;
  all.insert(all.end(), b.begin(), b.end());
  r.add_in_end_order(all);
  r.flush();
  CHECK(r.parents() == Want{{1, 0}, {2, 1}, {3, 2}, {4, 3}, {5, 4},
                            {21, 0}, {22, 21}, {23, 22}, {24, 23}, {25, 24}});
  CHECK(r.of(5).trace_id == r.of(1).trace_id);
  CHECK(r.of(25).trace_id == r.of(21).trace_id);
  CHECK(r.of(1).trace_id != r.of(21).trace_id);
}

TEST_CASE("causal: a CLIENT span the kernel found ambiguous gets no parent", "[causal]") {
  auto t = chain();
  t[3].cause = DT_CAUSE_AMBIGUOUS;  // the proxy had two requests open on its thread
  t[3].cause_conn_id = 0;
  Run r;
  r.add_in_end_order(t);
  r.flush();
  // The proxy's CLIENT span and the app's SERVER span are a trace of their own; the
  // proxy's SERVER span holds the CLIENT span in time and is its process's, yet no parent.
  CHECK(r.parents() == Want{{1, 0}, {2, 1}, {3, 2}, {4, 0}, {5, 4}});
  CHECK(r.of(4).trace_id == r.of(5).trace_id);
  CHECK(r.of(4).trace_id != r.of(1).trace_id);

  SECTION("also when the linker sees them in one trace") {
    for (auto& s : t) s.trace_id = t[0].trace_id;
    Linker l;
    l.link(t);
    CHECK_FALSE(t[3].parent_span_id);
    CHECK(l.counters().left_ambiguous == 1);
  }
}

TEST_CASE("causal: the same client end with another sequence number is no caller",
          "[causal]") {
  auto t = chain();
  for (auto& s : t) s.trace_id = t[0].trace_id;
  *t[4].req_seq += 1;  // the app's request is not the one the proxy sent
  t[4].start_unix_ns = 60 * ms;  // nor at the same time
  t[4].end_unix_ns = 70 * ms;
  Linker l;
  l.link(t);
  CHECK_FALSE(t[4].parent_span_id);
  CHECK(l.counters().parents_by_seq == 1);
}

TEST_CASE("causal: through DNAT the client end and sequence number still pair", "[causal]") {
  auto t = chain();
  t[1].peer = {"10.96.0.10", 8080};  // the proxy dialled a ClusterIP
  Run r;
  r.add_in_end_order(t);
  r.flush();
  CHECK(r.parents() == Want{{1, 0}, {2, 1}, {3, 2}, {4, 3}, {5, 4}});
}

TEST_CASE("causal: a request that fans out: every CLIENT span under its cause", "[causal]") {
  auto t = chain();
  Span second = caused_client(6, 10, 20, 43000, 83, 2, 16, 400, 13);
  Span callee = span(7, SpanKind::kServer, 11, 19, 83, 43000, 4, 17, 400);
  t.push_back(second);
  t.push_back(callee);
  Run r;
  r.add_in_end_order(t);
  r.flush();
  CHECK(r.parents() == Want{{1, 0}, {2, 1}, {3, 2}, {4, 3}, {5, 4}, {6, 3}, {7, 6}});
  for (const auto& s : r.out) CHECK(s.trace_id == r.of(1).trace_id);
}

TEST_CASE("causal: a header-based link stands; the kernel's disagreement is counted",
          "[causal]") {
  auto t = chain();
  for (auto& s : t) {
    s.trace_id = t[0].trace_id;
    s.trace_from_header = true;
  }
  // The proxy's SERVER span announced its id (traceresponse) and the CLIENT span's header
  // names it, while the kernel named another exchange as the cause.
  t[2].announced_span_id = t[2].span_id;
  t[3].header_parent_id = t[2].span_id;
  Span other = span(9, SpanKind::kServer, 2, 49, 81, 41009, 2, 19, 900);
  other.trace_id = t[0].trace_id;
  other.trace_from_header = true;
  t.push_back(other);
  t[3].cause_conn_id = 19;
  Linker l;
  l.link(t);
  CHECK(t[3].parent_span_id == t[2].span_id);
  CHECK(l.counters().cause_disagreements == 1);
}

TEST_CASE("causal: header-less spans below a header trace join it", "[causal]") {
  auto t = chain();
  // The ingress and the proxy propagate a header; the app's request left without one.
  for (std::size_t i = 0; i < 3; i++) {
    t[i].trace_id = {0xab};
    t[i].trace_from_header = true;
  }
  Run r;
  r.add_in_end_order(t);
  r.flush();
  for (const auto& s : r.out) CHECK(s.trace_id == capture::TraceId{0xab});
  CHECK(r.parents()[4] == 3);
  CHECK(r.parents()[5] == 4);
}

// A header trace id F, forgotten by the join (its entry aged out) while an index entry of a
// header-less hop under it lives on, is joined into a header-less group G downstream of it;
// F comes back with a span whose waiting callers are G's. Joining G under F then would close
// a cycle F -> G -> F, and find() would walk it for ever: the join runs in a child, given
// seconds, so that a hang fails the test instead of hanging the tier.
TEST_CASE("causal: a forgotten header trace that comes back over its own group makes no cycle",
          "[causal]") {
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    alarm(10);
    using assembler::same_trace_id;
    assembler::CausalJoin j(1000 * ms, 1000);
    capture::TraceId f{};
    f.fill(0xf0);
    // 1: F's SERVER span (exchange 11/1); 2: a header-less CLIENT span it caused, whose
    // SERVER span 3 (exchange 13/1) at the other end joins F by the wire.
    Span s1 = span(1, SpanKind::kServer, 0, 10, 80, 40000, 1, 11, 100);
    Span s2 = caused_client(2, 1, 9, 41000, 81, 1, 12, 200, 11);
    Span s3 = span(3, SpanKind::kServer, 2, 8, 81, 41000, 2, 13, 200);
    if (!same_trace_id(j.join(s1, f, 0, true).key, f)) _exit(11);
    if (!same_trace_id(j.join(s2, s2.trace_id, 500 * ms).key, f)) _exit(12);
    if (!same_trace_id(j.join(s3, s3.trace_id, 600 * ms).key, f)) _exit(13);
    // 1,200 ms: F's own entries are gone, span 3's live on. A header-less CLIENT span 4 (no
    // known cause) on span 3's wire finds F downstream of it: F joins 4's group G.
    Span s4 = span(4, SpanKind::kClient, 0, 0, 41000, 81, 9, 14, 200);
    const capture::TraceId g = s4.trace_id;
    if (!same_trace_id(j.join(s4, g, 1200 * ms).key, g)) _exit(14);
    if (!same_trace_id(j.find(f), g)) _exit(15);
    // A CLIENT span caused by exchange 13/1 waits there under G; then F's header comes back
    // on exchange 13/1's SERVER span: its waiting callers are G's.
    Span s5 = caused_client(5, 0, 0, 42000, 82, 2, 15, 300, 13);
    if (!same_trace_id(j.join(s5, s5.trace_id, 1250 * ms).key, g)) _exit(16);
    Span s6 = span(6, SpanKind::kServer, 0, 0, 81, 41001, 2, 13, 0);
    j.join(s6, f, 1300 * ms, true);
    // every group still has a root
    if (!same_trace_id(j.find(f), g) || !same_trace_id(j.find(g), g)) _exit(17);
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  INFO("child status " << status << (WIFSIGNALED(status) ? " (killed: the join hung)" : ""));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("causal: the join's memory is bounded", "[causal]") {
  assembler::CausalJoin j(1000 * ms, 100);
  for (std::uint64_t i = 0; i < 1000; i++) {
    auto t = chain(i * 10);
    capture::TraceId own{};
    own.fill(static_cast<std::uint8_t>(i));
    for (const auto& s : t) j.join(s, own, i * ms);
  }
  CHECK(j.entries() <= 200);
  // and old entries go with time
  capture::TraceId z{};
  z.fill('z');
  j.join(chain(50000)[0], z, 100000 * ms);
  CHECK(j.entries() <= 4);
}

TEST_CASE("causal: Go binaries are told from others by their sections", "[causal]") {
  // golang-go is a test dependency (scripts/install-deps.sh): its go command is a Go binary.
  CHECK(capture::is_go_executable("/usr/lib/go/bin/go"));
  CHECK_FALSE(capture::is_go_executable("/bin/sh"));
  CHECK_FALSE(capture::is_go_executable("/nonexistent"));
  CHECK_FALSE(capture::is_go_executable("/etc/hostname"));  // not ELF
  capture::GoProcesses gp;
  CHECK_FALSE(gp.is_go(static_cast<std::uint32_t>(getpid())));  // the unit tests are C++
}

TEST_CASE("causal: Go uprobe sites: a file without them says why", "[causal]") {
  // Debian's own go command is stripped (no .symtab; .gopclntab only): no sites. The happy
  // path (the demo platform's binaries, built with symbols) is tests/e2e/test_linking.py's.
  auto go = capture::find_go_probe_sites("/usr/lib/go/bin/go");
  REQUIRE_FALSE(go);
  CHECK(go.error().message().find("stripped") != std::string::npos);
  auto sh = capture::find_go_probe_sites("/bin/sh");
  REQUIRE_FALSE(sh);
  CHECK(sh.error().message().find("no symbols") != std::string::npos);
  auto text = capture::find_go_probe_sites("/etc/hostname");
  REQUIRE_FALSE(text);
  CHECK(text.error().message().find("not an ELF file") != std::string::npos);
  CHECK_FALSE(capture::find_go_probe_sites("/nonexistent"));
}

TEST_CASE("causal: a Go uprobe sits on its function's stack-check branch, or on its entry",
          "[causal]") {
  using capture::go_prologue_branch;
  // The three prologues of the demo platform's activator (Go 1.19), bytes as objdump shows
  // them: net/http.(*persistConn).roundTrip (lea r12 with a 32-bit displacement),
  // internal/cpu.processOptions (an 8-bit one), net/http.idnaASCII (a small frame: rsp).
  const std::vector<std::uint8_t> lea32{0x4c, 0x8d, 0xa4, 0x24, 0xd0, 0xfd, 0xff, 0xff, 0x4d,
                                        0x3b, 0x66, 0x10, 0x0f, 0x86, 0xc3, 0x0e, 0x00, 0x00};
  const std::vector<std::uint8_t> lea8{0x4c, 0x8d, 0x64, 0x24, 0xf8, 0x4d, 0x3b,
                                       0x66, 0x10, 0x0f, 0x86, 0x2a, 0x05, 0x00, 0x00};
  const std::vector<std::uint8_t> small{0x49, 0x3b, 0x66, 0x10, 0x76, 0x5b};
  CHECK(go_prologue_branch(lea32) == 12);
  CHECK(go_prologue_branch(lea8) == 9);
  CHECK(go_prologue_branch(small) == 4);
  // Anything else is probed at its entry: a frame too large for these (mov r12, rsp; sub ...),
  // a C prologue, a branch cut short by the bytes read, another condition, nothing read.
  CHECK(go_prologue_branch(std::vector<std::uint8_t>{0x49, 0x89, 0xe4, 0x49, 0x81, 0xec}) == 0);
  CHECK(go_prologue_branch(std::vector<std::uint8_t>{0x55, 0x48, 0x89, 0xe5}) == 0);
  CHECK(go_prologue_branch(std::span(lea32).first(15)) == 0);
  CHECK(go_prologue_branch(std::span(small).first(5)) == 0);
  auto jb = small;
  jb[4] = 0x72;
  CHECK(go_prologue_branch(jb) == 0);
  auto r13 = lea8;  // cmp r12, [r13+0x10]: not g's stack guard
  r13[7] = 0x65;
  CHECK(go_prologue_branch(r13) == 0);
  CHECK(go_prologue_branch({}) == 0);
}

TEST_CASE("causal: the same client end at the same time with another sequence number is no "
          "caller", "[causal]") {
  // One host gives one ephemeral port to connections to different servers at once: the
  // client end alone, even overlapping in time, is no connection when the bytes differ.
  auto t = chain();
  for (auto& s : t) s.trace_id = t[0].trace_id;
  *t[4].req_seq += 1;
  Linker l;
  l.link(t);
  CHECK_FALSE(t[4].parent_span_id);
  CHECK(l.counters().parents_by_connection == 0);
}

TEST_CASE("causal: a header-less trace does not wait for endpoint profiles", "[causal]") {
  // No profile for any endpoint yet: a header trace would be held up to kMaxHoldWaits waits.
  Assembler a{1000 * ms, 64, 4096, nullptr, nullptr, [] { return id(999); },
              [](assembler::WaitingSpan&) { return Assembler::Judgement::kNoProfileYet; }};
  std::vector<Span> out;
  for (auto& s : chain()) a.add({s}, 100 * ms, out);
  a.expire(1200 * ms, out);
  CHECK(out.size() == 5);
}

TEST_CASE("causal: an anomaly pulls the kept spans of every kernel trace id the request had",
          "[causal]") {
  // The kernel gave the request id A at the ingress, but the proxy's server started its own,
  // B (it read the request before the ingress's send returned: trace_ids_wire_missed).
  auto c = chain();
  capture::TraceId a{}, b{};
  a[0] = 0xa;
  b[0] = 0xb;
  for (auto& s : c) {
    s.trace_id = num(s.span_id) <= 2 ? a : b;
    s.trace_from_kernel = true;
    s.decision = "reported";
    s.reason = "flagged_trace";
  }
  c[4].decision = "anomalous";
  c[4].reason = "latency";
  const Span root = c[0];  // kept in the kernel under A: only a pull brings it back
  c.erase(c.begin());
  std::vector<capture::TraceId> asked;
  Run r;
  r.a = Assembler(1000 * ms, 64, 4096,
                  [&](const Span& of) {
                    asked.push_back(of.trace_id);
                    std::vector<Span> kept;
                    if (of.trace_id == a) {
                      kept.push_back(root);
                      kept.back().decision = "kept";
                    }
                    return kept;
                  },
                  nullptr, [] { return id(999); });
  r.add_in_end_order(c);
  r.flush();
  REQUIRE(r.out.size() == 5);
  CHECK(r.parents() == Want{{1, 0}, {2, 1}, {3, 2}, {4, 3}, {5, 4}});
  for (const auto& s : r.out) CHECK(s.trace_id == a);  // the root's: every span under it
  // B when the anomaly (kept under B) arrived; then, as the trace went out, A and B again.
  CHECK(asked == std::vector<capture::TraceId>{b, a, b});
  CHECK(r.a.counters().spans_recovered_exact == 1);
}

TEST_CASE("causal: client ends pair by their whole address, however long its text", "[causal]") {
  // The join keeps an address in 16 bytes: a text that long as it is, an IPv6 one as its
  // bytes, any other as hashes. Texts that differ past the 16th byte stay apart.
  struct Case {
    const char* client_local;
    const char* server_peer;
    bool joins;
  };
  const Case cases[] = {
      {"127.0.0.1", "127.0.0.1", true},
      {"127.0.0.1", "127.0.0.2", false},
      {"2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3::8a2e:370:7334", true},
      {"2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3::8a2e:370:7335", false},
      {"fd00::1", "fd00::1", true},
      {"an address text of no family 1", "an address text of no family 1", true},
      {"an address text of no family 1", "an address text of no family 2", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.client_local, c.server_peer);
    assembler::CausalJoin j(1000 * ms, 100);
    Span client = span(1, SpanKind::kClient, 0, 10, 41000, 81, 1, 11, 200);
    client.local.address = c.client_local;
    Span server = span(2, SpanKind::kServer, 1, 9, 81, 41000, 2, 12, 200);
    server.peer.address = c.server_peer;
    j.join(client, client.trace_id, 1 * ms);
    const auto r = j.join(server, server.trace_id, 2 * ms);
    CHECK((r.key == client.trace_id) == c.joins);
  }
}
