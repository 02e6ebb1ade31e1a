// The kernel's causality (bpf/lib/causality.bpf.h) and trace ids for requests without
// headers (bpf/lib/trace_inherit.bpf.h) against real sockets: a traced child serves an
// inbound request and sends an outbound one, and the spans must say which caused which and
// carry one trace id, or, where the thread's state does not decide, say so and claim none.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "live_child.h"

using namespace difftrace;
using namespace difftrace::testing;
using capture::Span;
using capture::SpanKind;

namespace {

std::string get(const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"; }

// The span of kind for path (exactly one).
const Span& one(const std::vector<Span>& spans, SpanKind kind, const std::string& path) {
  const Span* found = nullptr;
  int n = 0;
  for (const auto& s : spans)
    if (s.kind == kind && s.path == path) {
      found = &s;
      n++;
    }
  INFO(path << (kind == SpanKind::kServer ? " SERVER" : " CLIENT") << ": " << n << " spans");
  REQUIRE(n == 1);
  return *found;
}

}  // namespace

TEST_CASE("causality: a thread serving one request sends for it (R1), in its trace", "[bpf][causality]") {
  require_bpf_environment();
  const int n = 20;
  bpf::KernelCounters k{};
  // in: the child's client end -> its server end; out: its server end's thread sends on.
  auto spans = trace_child(
      [] {
        LoopbackPair in, out;
        for (int i = 0; i < n; i++) {
          const std::string a = get("/in/" + std::to_string(i)), b = get("/out/" + std::to_string(i));
          write_all(in.client, a);
          read_exactly(in.server, a.size());  // one inbound request open on this thread
          write_all(out.client, b);           // ... the outbound one is for it
          read_exactly(out.server, b.size());
          const std::string r = response(200, 10);
          write_all(out.server, r);
          read_exactly(out.client, r.size());
          write_all(in.server, r);
          read_exactly(in.client, r.size());
        }
      },
      &k);
  std::map<capture::TraceId, int> traces;
  for (int i = 0; i < n; i++) {
    INFO("request " << i);
    const std::string ip = "/in/" + std::to_string(i), op = "/out/" + std::to_string(i);
    const Span& root = one(spans, SpanKind::kClient, ip);  // no inbound request open: no cause
    const Span& in = one(spans, SpanKind::kServer, ip);
    const Span& out = one(spans, SpanKind::kClient, op);
    const Span& next = one(spans, SpanKind::kServer, op);
    CHECK(root.cause == DT_CAUSE_UNKNOWN);
    CHECK(out.cause == DT_CAUSE_FOUND);
    CHECK(out.cause_conn_id == in.conn_id);
    CHECK(out.cause_exch == in.exch_seq);
    // the sequence numbers that pair each CLIENT span with its SERVER span
    REQUIRE(root.req_seq);
    CHECK(root.req_seq == in.req_seq);
    CHECK(out.req_seq == next.req_seq);
    // one trace id, the kernel's: minted for the root, then by the wire, the cause, the wire
    for (const Span* s : {&root, &in, &out, &next}) {
      CHECK(s->trace_from_kernel);
      CHECK_FALSE(s->trace_from_header);
      CHECK(s->trace_id == root.trace_id);
    }
    traces[root.trace_id]++;
  }
  CHECK(traces.size() == static_cast<std::size_t>(n));  // a trace of its own per request
  CHECK(k[DT_C_CAUSE_FOUND] == static_cast<std::uint64_t>(n));
  CHECK(k[DT_C_TRACE_MINTED] == static_cast<std::uint64_t>(n));
  CHECK(k[DT_C_TRACE_BY_CAUSE] == static_cast<std::uint64_t>(n));
  CHECK(k[DT_C_TRACE_BY_WIRE] == static_cast<std::uint64_t>(2 * n));
  CHECK(k[DT_C_TRACE_WIRE_MISSED] == 0);
}

TEST_CASE("causality: two inbound requests open, the outbound one unlike both: ambiguous, "
          "a trace of its own", "[bpf][causality]") {
  require_bpf_environment();
  bpf::KernelCounters k{};
  auto spans = trace_child(
      [] {
        LoopbackPair in1, in2, out;
        const std::string a1 = get("/in/1"), a2 = get("/in/2"), b = get("/out/x");
        write_all(in1.client, a1);
        write_all(in2.client, a2);
        read_exactly(in1.server, a1.size());
        read_exactly(in2.server, a2.size());
        write_all(out.client, b);  // for /in/1 or /in/2? nothing on this thread tells
        read_exactly(out.server, b.size());
        const std::string r = response(200, 1);
        write_all(out.server, r);
        read_exactly(out.client, r.size());
        for (auto* p : {&in1, &in2}) {
          write_all(p->server, r);
          read_exactly(p->client, r.size());
        }
      },
      &k);
  const Span& out = one(spans, SpanKind::kClient, "/out/x");
  const Span& next = one(spans, SpanKind::kServer, "/out/x");
  CHECK(out.cause == DT_CAUSE_AMBIGUOUS);
  CHECK(out.cause_conn_id == 0);
  // absent, not guessed: neither inbound request's trace
  for (const char* p : {"/in/1", "/in/2"}) CHECK(one(spans, SpanKind::kServer, p).trace_id != out.trace_id);
  CHECK(out.trace_from_kernel);
  CHECK(next.trace_id == out.trace_id);  // the next hop follows it over the wire
  CHECK(k[DT_C_CAUSE_AMBIGUOUS] == 1);
}
