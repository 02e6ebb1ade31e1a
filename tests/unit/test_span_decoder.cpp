// The decoder's trace context: the request's header, or the trace and span a
// server named in its response (traceresponse), as http1_span_fill makes them.
#include <catch2/catch.hpp>

#include <cstring>

#include "capture.h"
#include "protocols/http1/span.h"
#include "capture/span_decoder.h"

using namespace difftrace;

namespace {

const char kTrace[] = "0af7651916cd43dd8448eb211c80319c";
const char kOther[] = "1af7651916cd43dd8448eb211c80319c";
const char kParent[] = "b7ad6b7169203331";
const char kOwn[] = "00f067aa0ba902b7";

void set_ctx(dt_trace_ctx& c, const char* trace, const char* parent) {
  std::memcpy(c.trace_id, trace, 32);
  std::memcpy(c.parent_id, parent, 16);
  std::memcpy(c.flags, "01", 2);
  c.kind = DT_CTX_W3C;
}

capture::Span decode(const http_exchange& x) {
  dt_span_event e{};
  dt_tuple t{};
  http1_span_fill(&e, &x, &t, 1, 100, 100);
  capture::WallClock clock(0);
  capture::SpanDecoder d(clock);
  return d.decode(e);
}

http_exchange exchange(int role) {
  http_exchange x{};
  x.role = static_cast<__u8>(role);
  x.phase = HTTP_PHASE_RESPONSE;
  x.status = 200;
  x.method = HTTP_METHOD_GET;
  x.start_ns = 1;
  x.end_ns = 2;
  return x;
}

}  // namespace

TEST_CASE("decoder: the request's traceparent gives trace and header parent", "[decoder]") {
  auto x = exchange(HTTP_ROLE_SERVER);
  set_ctx(x.ctx, kTrace, kParent);
  auto s = decode(x);
  CHECK(s.trace_from_header);
  CHECK(capture::to_hex(s.trace_id) == kTrace);
  REQUIRE(s.header_parent_id);
  CHECK(capture::to_hex(*s.header_parent_id) == kParent);
  CHECK_FALSE(s.parent_span_id);  // the linker's to set
  CHECK_FALSE(s.announced_span_id);
}

TEST_CASE("decoder: a server's traceresponse names the trace of a request without one",
          "[decoder]") {
  auto x = exchange(HTTP_ROLE_SERVER);
  set_ctx(x.resp_ctx, kTrace, kOwn);
  auto s = decode(x);
  CHECK(s.trace_from_header);
  CHECK(capture::to_hex(s.trace_id) == kTrace);
  CHECK_FALSE(s.header_parent_id);
  REQUIRE(s.announced_span_id);
  CHECK(capture::to_hex(*s.announced_span_id) == kOwn);
}

TEST_CASE("decoder: traceresponse beside traceparent names the span only in the same trace",
          "[decoder]") {
  auto x = exchange(HTTP_ROLE_SERVER);
  set_ctx(x.ctx, kTrace, kParent);
  set_ctx(x.resp_ctx, kTrace, kOwn);
  auto s = decode(x);
  REQUIRE(s.announced_span_id);
  CHECK(capture::to_hex(*s.announced_span_id) == kOwn);
  CHECK(capture::to_hex(*s.header_parent_id) == kParent);

  set_ctx(x.resp_ctx, kOther, kOwn);  // the server went on in a trace of its own
  auto o = decode(x);
  CHECK(capture::to_hex(o.trace_id) == kTrace);
  CHECK_FALSE(o.announced_span_id);
}

TEST_CASE("decoder: a client's response context is not its span's", "[decoder]") {
  auto x = exchange(HTTP_ROLE_CLIENT);
  set_ctx(x.resp_ctx, kTrace, kOwn);
  auto s = decode(x);
  CHECK_FALSE(s.trace_from_header);
  CHECK_FALSE(s.announced_span_id);
}

TEST_CASE("decoder: the kernel's trace id is the span's, not a header's", "[decoder]") {
  auto x = exchange(HTTP_ROLE_SERVER);
  dt_span_event e{};
  dt_tuple t{};
  http1_span_fill(&e, &x, &t, 1, 100, 100);
  // what bpf/lib/trace_inherit.bpf.h writes for a request without trace context
  std::memcpy(e.trace_id, kTrace, 32);
  std::memcpy(e.trace_flags, "01", 2);
  e.ctx_kind = DT_CTX_KERNEL;
  capture::WallClock clock(0);
  capture::SpanDecoder d(clock);
  auto s = d.decode(e);
  CHECK(s.trace_from_kernel);
  CHECK_FALSE(s.trace_from_header);
  CHECK(capture::to_hex(s.trace_id) == kTrace);
  CHECK_FALSE(s.header_parent_id);
  CHECK(d.invalid_trace_contexts() == 0);
}

TEST_CASE("http1_span_fill leaves nothing of the span before it in the event", "[decoder]") {
  // The kernel fills events in reused memory (ring buffer records, per-CPU scratch): every
  // byte but comm (the caller's) and the response's span id (read only under its flag) must
  // come from the exchange. Two fills over different garbage must give the same bytes.
  http_exchange x = exchange(HTTP_ROLE_SERVER);
  dt_tuple t{};
  dt_span_event a, b;
  std::memset(&a, 0xa5, sizeof a);
  std::memset(&b, 0x5a, sizeof b);
  http1_span_fill(&a, &x, &t, 1, 100, 100);
  http1_span_fill(&b, &x, &t, 1, 100, 100);
  REQUIRE_FALSE(a.flags & DT_SPAN_F_RESP_SPAN_ID);
  for (dt_span_event* e : {&a, &b}) {
    std::memset(e->comm, 0, sizeof e->comm);
    std::memset(e->resp_span_id, 0, sizeof e->resp_span_id);
  }
  CHECK(a.status_unresolved == 0);  // an HTTP/2 span's, left over, made HTTP/1 spans unresolved
  CHECK(a.go_cause == 0);
  CHECK(a.path_unresolved == 0);  // nor an HTTP/2 span's unresolved :path
  CHECK(std::memcmp(&a, &b, sizeof a) == 0);
}
