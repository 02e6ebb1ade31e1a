// Synthetic span events for the ingest benches (bench/ingest_bench.cpp,
// bench/ringbuf_ingest_bench.cpp): struct dt_span_event records as the kernel
// writes them into the ring buffer, shaped like the demo platform's traffic
// (five comms, six paths, SERVER and CLIENT spans, 90% with a W3C traceparent), or like
// nginx's under wrk (nginx_event: one SERVER span a request, each with a traceparent of its
// own, on keep-alive connections).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "capture.h"
#include "protocols/http1/message.h"  // the events' methods

namespace difftrace::bench {

inline std::vector<dt_span_event> make_events(std::size_t n) {
  static const char* paths[] = {"/fn-hello/", "/fn-work/?cpu=2ms", "/fn-chain/", "/fn-async/",
                                "/healthz", "/api/v1/orders/12345/items?expand=true"};
  static const char* comms[] = {"haproxy", "activator", "queue-proxy", "fn-hello", "fn-work"};
  const char hex[] = "0123456789abcdef";
  std::vector<dt_span_event> out(n);
  unsigned seed = 12345;
  auto rnd = [&] { return seed = seed * 1103515245u + 12345u; };
  std::uint64_t t = 1'000'000'000'000ull;
  for (std::size_t i = 0; i < n; i++) {
    dt_span_event& e = out[i];
    std::memset(&e, 0, sizeof e);
    t += 50'000 + rnd() % 100'000;
    e.start_ns = t;
    e.end_ns = t + 200'000 + rnd() % 5'000'000;
    e.req_bytes = 120 + rnd() % 400;
    e.resp_bytes = 200 + rnd() % 2000;
    e.conn_id = 1 + rnd() % 512;
    e.pid = 1000 + i % 5;
    e.tid = e.pid + rnd() % 8;
    e.status = (i % 50 == 0) ? 503 : 200;
    e.kind = (i % 2) ? DT_SPAN_SERVER : DT_SPAN_CLIENT;
    e.method = (i % 7 == 0) ? HTTP_METHOD_POST : HTTP_METHOD_GET;
    e.end_reason = 0;
    const char* p = paths[i % 6];
    std::size_t pl = std::strlen(p);
    std::memcpy(e.path, p, pl);
    e.path_len = static_cast<std::uint8_t>(pl);
    std::memcpy(e.comm, comms[i % 5], std::strlen(comms[i % 5]));
    e.tuple.family = AF_INET;
    std::uint8_t lo[4] = {127, 0, 0, 1};
    std::memcpy(e.tuple.local_addr, lo, 4);
    std::memcpy(e.tuple.peer_addr, lo, 4);
    e.tuple.local_port = static_cast<std::uint16_t>(8080 + i % 5);
    e.tuple.peer_port = static_cast<std::uint16_t>(40000 + rnd() % 20000);
    if (i % 10 != 0) {  // 90% carry a traceparent
      e.ctx_kind = DT_CTX_W3C;
      // The generator's high bits: its low four repeat every 16 draws, which
      // made a few trace ids of all the events, one huge trace each.
      for (auto& c : e.trace_id) c = hex[(rnd() >> 16) % 16];
      for (auto& c : e.parent_id) c = hex[(rnd() >> 16) % 16];
      e.trace_flags[0] = '0';
      e.trace_flags[1] = '1';
    }
  }
  return out;
}

// Request n of a keep-alive server (nginx on port 8080, one worker) that `conns` clients on
// 127.0.0.1 (wrk's connections, each its own port) send in turn: one SERVER span with the
// W3C traceparent of request n (trace and parent ids of its own), its connection's number
// (conn_id), its number on that connection (exch_seq, from 1) and the TCP sequence number of
// its first byte (req_seq, DT_SPAN_F_SEQ), as the kernel reports a request.
inline dt_span_event nginx_event(std::uint64_t n, std::uint64_t conns, std::uint64_t end_ns) {
  const char hex[] = "0123456789abcdef";
  dt_span_event e;
  std::memset(&e, 0, sizeof e);
  const std::uint64_t conn = n % conns, exch = n / conns + 1;
  e.end_ns = end_ns;
  e.start_ns = end_ns - 60'000 - (n * 7919) % 40'000;
  e.req_bytes = 160;
  e.resp_bytes = 850;
  e.conn_id = 1000 + conn;
  e.exch_seq = static_cast<std::uint32_t>(exch);
  e.req_seq = static_cast<std::uint32_t>(0x12345678u * (conn + 1) + exch * e.req_bytes);
  e.flags = DT_SPAN_F_SEQ;
  e.pid = 4242;
  e.tid = 4242;
  e.status = 200;
  e.kind = DT_SPAN_SERVER;
  e.method = HTTP_METHOD_GET;
  e.path[0] = '/';
  e.path_len = 1;
  std::memcpy(e.comm, "nginx", 5);
  e.tuple.family = AF_INET;
  std::uint8_t lo[4] = {127, 0, 0, 1};
  std::memcpy(e.tuple.local_addr, lo, 4);
  std::memcpy(e.tuple.peer_addr, lo, 4);
  e.tuple.local_port = 8080;
  e.tuple.peer_port = static_cast<std::uint16_t>(40000 + conn);
  e.ctx_kind = DT_CTX_W3C;
  const std::uint64_t mixed = (n + 1) * 0x9e3779b97f4a7c15ull;  // ids as random as wrk's
  for (int j = 0; j < 16; j++) {
    e.trace_id[j] = hex[(mixed >> (60 - 4 * j)) & 15];
    e.trace_id[16 + j] = hex[(n >> (60 - 4 * j)) & 15];
    e.parent_id[j] = hex[((mixed ^ n) >> (4 * j)) & 15];
  }
  e.trace_flags[0] = '0';
  e.trace_flags[1] = '1';
  e.decision = DT_DECIDE_REPORT;
  e.reason = DT_REASON_NO_FILTER;
  return e;
}

}  // namespace difftrace::bench
