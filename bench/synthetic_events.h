// Synthetic span events for the ingest benches (bench/ingest_bench.cpp,
// bench/ringbuf_ingest_bench.cpp): struct dt_span_event records as the kernel
// writes them into the ring buffer, shaped like the demo platform's traffic
// (five comms, six paths, SERVER and CLIENT spans, 90% with a W3C traceparent).
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

}  // namespace difftrace::bench
