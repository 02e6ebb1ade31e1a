// The filter (include/span_filter.h) is protocol-neutral: this translation unit includes it,
// and the host filter store it runs over, and no HTTP/1 header (include/protocols/http1/).
// It fails to compile when one of them pulls an HTTP/1 header in, and it runs the filter on
// a span event filled with protocol-neutral fields only (the method is a plain number, the
// protocol's operation).
#include <catch2/catch.hpp>

#include <cstring>

#include "filter/filter_store.h"
#include "filter/host_filter_store.h"
#include "span_filter.h"

// The include guards of include/protocols/http1/ (and of the test entry's header, which
// includes them), a macro of theirs, and the guard of the one header they replaced.
#if defined(DIFFTRACE_HTTP1_H) || defined(DIFFTRACE_HTTP1_MESSAGE_H) ||                  \
    defined(DIFFTRACE_HTTP1_START_LINE_H) || defined(DIFFTRACE_HTTP1_HEADERS_H) ||       \
    defined(DIFFTRACE_HTTP1_SCAN_H) || defined(DIFFTRACE_HTTP1_EXCHANGE_H) ||            \
    defined(DIFFTRACE_HTTP1_SPAN_H) || defined(DIFFTRACE_HTTP_TEST_H) ||                 \
    defined(DIFFTRACE_HTTP1_BOUNDARY_H) || defined(HTTP_PATH_MAX)
#error "span_filter.h or the host filter store pulled in an HTTP/1 header"
#endif

using namespace difftrace;

namespace {

constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint16_t kService = 3;
constexpr std::uint8_t kOperation = 1;  // the protocol's own operation number

dt_span_event neutral_event(std::uint64_t dur, std::uint16_t status, const char* trace) {
  dt_span_event e{};
  e.start_ns = 5'000'000'000;
  e.end_ns = e.start_ns + dur;
  e.pid = 4321;
  e.status = status;
  e.kind = DT_SPAN_SERVER;
  e.method = kOperation;
  e.protocol = DT_PROTO_UNKNOWN;
  const char path[] = "/orders/17";
  e.path_len = sizeof path - 1;
  std::memcpy(e.path, path, e.path_len);
  std::strncpy(e.comm, "orders", sizeof e.comm - 1);
  if (trace) {
    e.ctx_kind = DT_CTX_W3C;
    std::memcpy(e.trace_id, trace, 32);
  }
  return e;
}

}  // namespace

TEST_CASE("the filter decides on a protocol-neutral span event", "[filter][neutral]") {
  filter::HostFilterStore store({});
  store.set_service_comm("orders", dt_service{kService, DT_ROLE_PLATFORM, 0, 0});
  store.set_threshold(filter::service_key(kService), dt_threshold{10 * ms, 0});

  auto slow = neutral_event(50 * ms, 200, "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(store.filter(slow) == DT_OUT_REPORT);
  CHECK(slow.decision == DT_DECIDE_REPORT);
  CHECK(slow.reason == DT_REASON_LATENCY);
  CHECK(slow.service == kService);
  CHECK(slow.threshold_us == 10'000);

  auto failed = neutral_event(2 * ms, 503, nullptr);
  CHECK(store.filter(failed) == DT_OUT_REPORT);
  CHECK(failed.reason == DT_REASON_STATUS);

  // Normal: counted into the endpoint's histogram, under the protocol's operation number.
  auto normal = neutral_event(2 * ms, 200, nullptr);
  CHECK(store.filter(normal) == DT_OUT_DROPPED);
  CHECK(normal.decision == DT_DECIDE_KEEP);
  CHECK(normal.reason == DT_REASON_NONE);
  auto hists = store.take_histograms();
  REQUIRE(hists.size() == 1);
  CHECK(hists[0].key.service == kService);
  CHECK(hists[0].key.method == kOperation);
  CHECK(filter::template_of(hists[0].key) == "/orders/{n}");
  CHECK(hists[0].count == 1);
}
