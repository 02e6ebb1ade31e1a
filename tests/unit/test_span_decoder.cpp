// The decoder's trace context: the request's header, or the trace and span a
// server named in its response (traceresponse), as http1_span_fill makes them.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>

#include <sys/socket.h>

#include "capture.h"
#include "protocols/http1/span.h"
#include "capture/span_decoder.h"
#include "capture/trace_context.h"

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

TEST_CASE("trace context: hex digits of either case, anything else or all zeros refused",
          "[decoder]") {
  auto ctx = [](const char* trace, const char* parent, const char* flags,
                int kind = DT_CTX_W3C) {
    char t[32], p[16], f[2];
    std::memcpy(t, trace, 32);
    std::memcpy(p, parent, 16);
    std::memcpy(f, flags, 2);
    return capture::decode_trace_context(kind, t, p, f);
  };
  auto c = ctx("0AF7651916CD43DD8448EB211C80319C", "B7ad6b7169203331", "01");
  REQUIRE(c);
  CHECK(capture::to_hex(c->trace_id) == kTrace);
  REQUIRE(c->parent_id);
  CHECK(capture::to_hex(*c->parent_id) == kParent);
  CHECK(c->sampled);
  CHECK_FALSE(ctx(kTrace, kParent, "00")->sampled);
  // One bad digit anywhere (the first, the last, a byte past 'f', a high byte) refuses it.
  for (int at : {0, 17, 31}) {
    for (char bad : {'g', 'G', '/', ':', '@', '`', ' ', '\0', static_cast<char>(0xe1)}) {
      char t[33];
      std::memcpy(t, kTrace, 33);
      t[at] = bad;
      CHECK_FALSE(ctx(t, kParent, "01"));
      char p[17];
      std::memcpy(p, kParent, 17);
      p[at % 16] = bad;
      CHECK_FALSE(ctx(kTrace, p, "01"));
      CHECK_FALSE(ctx(kTrace, kParent, at == 0 ? "0x" : "x1"));
      char s[17];
      std::memcpy(s, kOwn, 17);
      s[at % 16] = bad;
      char own[16];
      std::memcpy(own, s, 16);
      CHECK_FALSE(capture::decode_span_id(own));
    }
  }
  CHECK_FALSE(ctx("00000000000000000000000000000000", kParent, "01"));
  CHECK_FALSE(ctx(kTrace, "0000000000000000", "01"));
  // A traceresponse's or the kernel's: no parent read (zeros there are fine).
  auto r = ctx(kTrace, "0000000000000000", "01", DT_CTX_W3C_RESPONSE);
  REQUIRE(r);
  CHECK_FALSE(r->parent_id);
  char own[16];
  std::memcpy(own, kOwn, 16);
  REQUIRE(capture::decode_span_id(own));
  CHECK(capture::to_hex(*capture::decode_span_id(own)) == kOwn);
}

// The ids are decoded 8 digits at a time (range tests on a 64-bit word): every byte value at
// every place of a trace id and a parent id, valid or not as a digit-at-a-time reference
// says, and when valid the same bytes; neighbours of either case and at the ranges' edges.
TEST_CASE("trace context: every byte value at every place decodes as digit by digit",
          "[decoder]") {
  const auto value = [](unsigned char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  const char* fills[] = {"0af7651916cd43dd8448eb211c80319c", "9FA09fa09FA09fa09FA09fa09FA09fa0",
                         "ffffffffffffffffffffffffffffffff"};
  for (const char* fill : fills)
    for (int at = 0; at < 32 + 16; at++)
      for (int b = 0; b < 256; b++) {
        char t[32], p[16], f[2] = {'0', '1'};
        std::memcpy(t, fill, 32);
        std::memcpy(p, fill + 16, 16);
        (at < 32 ? t[at] : p[at - 32]) = static_cast<char>(b);
        bool valid = true;
        std::array<std::uint8_t, 16> want_t{};
        std::array<std::uint8_t, 8> want_p{};
        for (int i = 0; i < 32; i++) {
          const int v = value(static_cast<unsigned char>(t[i]));
          valid &= v >= 0;
          want_t[i / 2] |= static_cast<std::uint8_t>((v & 15) << (i % 2 ? 0 : 4));
        }
        for (int i = 0; i < 16; i++) {
          const int v = value(static_cast<unsigned char>(p[i]));
          valid &= v >= 0;
          want_p[i / 2] |= static_cast<std::uint8_t>((v & 15) << (i % 2 ? 0 : 4));
        }
        const auto c = capture::decode_trace_context(DT_CTX_W3C, t, p, f);
        INFO("fill " << fill << " at " << at << " byte " << b);
        REQUIRE(c.has_value() == valid);
        if (!valid) continue;
        CHECK(c->trace_id == want_t);
        REQUIRE(c->parent_id);
        CHECK(*c->parent_id == want_p);
      }
}

// Each side's last address is remembered before the address cache's lookup: runs of one
// address, the two sides swapped, the same 16 bytes under another family, and more addresses
// than the cache holds (it is cleared at 4096), each span's texts as address_text makes them.
TEST_CASE("decoder: address texts stay right through the remembered last address", "[decoder]") {
  capture::WallClock clock(0);
  capture::SpanDecoder d(clock);
  const auto addr = [](std::uint32_t n) {
    std::array<std::uint8_t, 16> a{};
    a[0] = 10;
    std::memcpy(a.data() + 1, &n, 4);
    a[15] = static_cast<std::uint8_t>(n);
    return a;
  };
  std::uint32_t state = 7;
  for (int k = 0; k < 12000; k++) {
    state = state * 1103515245u + 12345u;
    dt_span_event e{};
    e.kind = DT_SPAN_SERVER;
    // Runs of the same pair, then a swap, then fresh addresses past the cache's bound.
    const std::uint32_t local = k < 3000 ? (k / 7) % 3 : k < 6000 ? (k / 5) % 2 + 1 : k;
    const std::uint32_t peer = k < 3000 ? (k / 11) % 3 : k < 6000 ? (k / 5 + 1) % 2 + 1 : k + 1;
    e.tuple.family = (state >> 16) % 3 == 0 ? AF_INET6 : AF_INET;
    const auto l = addr(local), p = addr(peer);
    std::memcpy(e.tuple.local_addr, l.data(), 16);
    std::memcpy(e.tuple.peer_addr, p.data(), 16);
    e.tuple.local_port = 80;
    e.tuple.peer_port = static_cast<std::uint16_t>(k);
    capture::Span s;
    d.decode(e, s);
    INFO("span " << k);
    std::uint8_t lb[16], pb[16];
    std::memcpy(lb, l.data(), 16);
    std::memcpy(pb, p.data(), 16);
    REQUIRE(s.local.address == capture::address_text(e.tuple.family, lb));
    REQUIRE(s.peer.address == capture::address_text(e.tuple.family, pb));
    REQUIRE(s.local.port == 80);
    REQUIRE(s.peer.port == static_cast<std::uint16_t>(k));
  }
}

TEST_CASE("decoder: method numbers and names go both ways", "[decoder]") {
  for (int m = 1; m < 16; m++) {
    const std::string name = capture::method_name(m);
    INFO("method " << m << " " << name);
    if (name == "UNKNOWN") continue;
    CHECK(capture::method_number(name) == m);
    CHECK(capture::method_number(name + "X") == HTTP_METHOD_NONE);
    CHECK(capture::method_number(name.substr(0, name.size() - 1)) == HTTP_METHOD_NONE);
    std::string lower = name;
    lower[0] = static_cast<char>(lower[0] | 0x20);
    CHECK(capture::method_number(lower) == HTTP_METHOD_NONE);
  }
  CHECK(capture::method_number("") == HTTP_METHOD_NONE);
}
