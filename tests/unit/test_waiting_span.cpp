// A span packed into the assembler's waiting form and expanded again is the span it was:
// texts inline, in a block of their own, as strings (a text over 65,535 bytes), equal texts
// stored once; its fields and shared parts carried over.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "assembler/waiting_span.h"
#include "unit/assembler_samples.h"

using namespace difftrace;
using namespace difftrace::testing;
using assembler::WaitingSpan;

namespace {

void check_same(const Span& a, const Span& b) {
  CHECK(a.method == b.method);
  CHECK(a.path == b.path);
  CHECK(a.query == b.query);
  CHECK(a.path_template == b.path_template);
  CHECK(a.comm == b.comm);
  CHECK(a.service_name == b.service_name);
  CHECK(a.local.address == b.local.address);
  CHECK(a.local.port == b.local.port);
  CHECK(a.peer.address == b.peer.address);
  CHECK(a.peer.port == b.peer.port);
  CHECK(a.trace_id == b.trace_id);
  CHECK(a.span_id == b.span_id);
  CHECK(a.header_parent_id == b.header_parent_id);
  CHECK(a.kind == b.kind);
  CHECK(a.status == b.status);
  CHECK(a.start_unix_ns == b.start_unix_ns);
  CHECK(a.end_unix_ns == b.end_unix_ns);
  CHECK(a.req_seq == b.req_seq);
  CHECK(a.decision == b.decision.view());
  CHECK(a.reason == b.reason.view());
  CHECK(a.rpc == b.rpc);
  CHECK(a.resource == b.resource);
}

Span sample() {
  Span s = span(3, "nginx", SpanKind::kServer, 1, 4, 80, 41000, 7, "full");
  s.method = "GET";
  s.path = "/index.html";
  s.path_template = "/index.html";  // the path: stored once
  s.comm = "nginx";
  s.service_name = "nginx";          // the comm: stored once
  s.local.address = "127.0.0.1";
  s.peer.address = "127.0.0.1";      // loopback: stored once
  s.req_seq = 12345;
  s.header_parent_id = next_id();
  s.reason = "no_filter";
  s.resource = std::make_shared<const capture::ResourceAttributes>(
      capture::ResourceAttributes{{"container.id", "abc"}});
  return s;
}

}  // namespace

TEST_CASE("a waiting span expands back into the span it was", "[assembler]") {
  SECTION("texts in the slot, equal ones once") {
    const Span s = sample();
    WaitingSpan w{Span(s)};
    CHECK(w.storage() == WaitingSpan::Storage::kInline);
    CHECK(w.method() == "GET");
    CHECK(w.path() == "/index.html");
    CHECK(w.path_template() == "/index.html");
    CHECK(w.text(WaitingSpan::kPeerAddress) == "127.0.0.1");
    CHECK(w.duration_ns() == s.duration_ns());
    Span back;
    w.unpack_into(back);
    check_same(back, s);
  }
  SECTION("texts longer than the slot holds, in a block") {
    Span s = sample();
    s.path = "/api/v1/orders/12345/items?expand=true&with=customer";
    s.path_template = "/api/v1/orders/{n}/items";
    s.service_name = "orders-service.shop.svc.cluster.local";
    s.peer.address = "2001:db8:85a3::8a2e:370:7334";
    s.query = "";
    WaitingSpan w{Span(s)};
    CHECK(w.storage() == WaitingSpan::Storage::kBlock);
    CHECK(w.path() == s.path);
    CHECK(w.text(WaitingSpan::kServiceName) == s.service_name);
    Span back;
    w.unpack_into(back);
    check_same(back, s);
    CHECK(w.storage() == WaitingSpan::Storage::kInline);  // the block is let go
  }
  SECTION("a text over 65,535 bytes, as strings") {
    Span s = sample();
    s.query = std::string(70000, 'q');
    WaitingSpan w{Span(s)};
    CHECK(w.storage() == WaitingSpan::Storage::kStrings);
    CHECK(w.text(WaitingSpan::kQuery).size() == 70000);
    Span back;
    w.unpack_into(back);
    check_same(back, s);
  }
  SECTION("texts equal but not a pair stored once (template, service, peer) each kept") {
    Span s = sample();
    s.method = "x";
    s.query = "x";                    // the method's text, not its pair: stored again
    s.path_template = "nginx";        // the comm's, not the path's
    s.service_name = "/index.html";   // the path's, not the comm's
    s.peer.address = "";              // empty beside a local address
    WaitingSpan w{Span(s)};
    CHECK(w.text(WaitingSpan::kQuery) == "x");
    CHECK(w.path_template() == "nginx");
    CHECK(w.text(WaitingSpan::kServiceName) == "/index.html");
    CHECK(w.text(WaitingSpan::kPeerAddress).empty());
    Span back;
    w.unpack_into(back);
    check_same(back, s);
  }
  SECTION("a slot packed again holds the new span only") {
    Span big = sample();
    big.path = std::string(200, 'p');
    WaitingSpan w{Span(big)};
    Span small = sample();
    small.method = "POST";
    small.path_template = "";
    w.pack(Span(small));
    CHECK(sizeof(WaitingSpan) <= 384);
    CHECK(w.storage() == WaitingSpan::Storage::kInline);
    Span back;
    w.unpack_into(back);
    check_same(back, small);
  }
}
