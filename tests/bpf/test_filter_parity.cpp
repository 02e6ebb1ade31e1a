// The whole filter step (include/span_filter.h) in the kernel and on the host, event by event:
// the loaded test entry runs dt_filter_span on its own filter maps (BPF_PROG_TEST_RUN), the
// host on HostFilterStore; both get the same services and thresholds, see the same events, and
// must agree on every outcome, verdict, histogram and kept span.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "bpf/kernel_driver.h"
#include "bpf/kernel_filter_store.h"
#include "filter/host_filter_store.h"

using namespace difftrace;
using difftrace::testing::KernelDriver;

namespace {

constexpr std::uint64_t ms = 1'000'000;

struct Ev {
  const char* comm;
  std::uint32_t pid;
  const char* path;
  std::uint64_t dur;
  int status;
  const char* trace;  // 32 hex chars or nullptr
  int kind = DT_SPAN_SERVER;
  bool no_response = false;
};

dt_span_event make(const Ev& in, std::uint64_t t) {
  dt_span_event e{};
  e.start_ns = t;
  e.end_ns = t + in.dur;
  e.pid = in.pid;
  e.tid = in.pid;
  e.status = static_cast<__u16>(in.status);
  e.kind = static_cast<__u8>(in.kind);
  e.method = HTTP_METHOD_GET;
  e.decision = DT_DECIDE_REPORT;
  e.flags = in.no_response ? DT_SPAN_F_NO_RESPONSE : 0;
  e.path_len = static_cast<__u8>(std::strlen(in.path));
  std::memcpy(e.path, in.path, e.path_len);
  std::strncpy(e.comm, in.comm, sizeof e.comm - 1);
  if (in.trace) {
    e.ctx_kind = DT_CTX_W3C;
    std::memcpy(e.trace_id, in.trace, 32);
    std::memcpy(e.parent_id, "00f067aa0ba902b7", 16);
    std::memcpy(e.trace_flags, "01", 2);
  }
  return e;
}

const char* T1 = "4bf92f3577b34da6a3ce929d0e0e4736";
const char* T2 = "aaf92f3577b34da6a3ce929d0e0e4736";
const char* T3 = "bbf92f3577b34da6a3ce929d0e0e4736";

void setup(filter::FilterStore& s) {
  dt_service gw{1, DT_ROLE_PLATFORM, 0, 0};
  dt_service fn{2, DT_ROLE_FUNCTION, 1, 0};
  dt_service ff{3, DT_ROLE_FUNCTION_FILTERED, 0, 0};
  s.set_service_comm("gateway", gw);
  s.set_service_pid(4242, fn);  // by pid, whatever its comm
  s.set_service_comm("batch", ff);
  // gateway: 20 ms for its SERVER spans of /item/{n}; its default 50 ms; batch: 10 ms default
  s.set_threshold(filter::endpoint_key(1, DT_SPAN_SERVER, HTTP_METHOD_GET, "/item/{n}"),
                  {20 * ms, 0});
  s.set_threshold(filter::service_key(1), {50 * ms, 500 * ms});
  s.set_threshold(filter::service_key(3), {10 * ms, 0});
}

const std::vector<Ev>& events() {
  static const std::vector<Ev> evs = {
      {"gateway", 10, "/item/1", 5 * ms, 200, T1},             // kept
      {"gateway", 10, "/item/2?x=1", 6 * ms, 200, T1},         // kept, same endpoint
      {"gateway", 10, "/other", 30 * ms, 200, T1},             // default 50 ms: kept
      {"gateway", 10, "/item/3", 5 * ms, 200, nullptr},        // normal, no trace id: dropped
      {"gateway", 10, "/item/4", 25 * ms, 200, T2},            // over 20 ms: latency
      {"gateway", 10, "/item/5", 5 * ms, 200, T2},             // flagged trace
      {"gateway", 10, "/item/6", 5 * ms, 503, T3},             // status
      {"gateway", 10, "/item/7", 600 * ms, 0, T1, DT_SPAN_SERVER, true},  // reset
      {"gateway", 10, "/x", 600 * ms, 0, nullptr},             // timeout (no status, > 500 ms)
      {"fn", 4242, "/run", 1 * ms, 200, T3},                   // function (by pid)
      {"fn", 4242, "/run", 1 * ms, 404, T3},                   // 4xx configured: status
      {"batch", 77, "/job/abc", 2 * ms, 200, T2},              // flagged trace
      {"batch", 77, "/job/abc", 2 * ms, 200, "ccf92f3577b34da6a3ce929d0e0e4736"},  // kept
      {"batch", 77, "/job/abc", 20 * ms, 200, nullptr},        // latency
      {"unknown", 99, "/u", 1 * ms, 200, T1},                  // default role: function
      {"gateway", 10, "/client", 1 * ms, 200, T1, DT_SPAN_CLIENT},  // client endpoint: kept
  };
  return evs;
}

// More spans in one trace than the keep-buffer holds.
std::vector<Ev> overflow() {
  std::vector<Ev> evs;
  for (int i = 0; i < DT_KEEP_SPANS + 3; i++)
    evs.push_back({"gateway", 10, "/item/9", static_cast<std::uint64_t>(i + 1) * ms, 200,
                   "dddddddddddddddddddddddddddddddd"});
  return evs;
}

std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> summary(
    const std::vector<filter::EndpointHistogram>& hs) {
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> out;
  for (const auto& h : hs)
    out[std::to_string(h.key.service) + "/" + std::to_string(h.key.kind) + " " +
        filter::template_of(h.key)] = {h.count, h.sum_ns};
  return out;
}

// The kernel side's filter settings in these tests: default role function, every kept
// span, keep slots keep_mask + 1.
dt_filter_settings kernel_settings(std::uint32_t keep_mask) {
  dt_filter_settings ks{};
  ks.default_role = DT_ROLE_FUNCTION;
  ks.keep_spans = DT_KEEP_SPANS;
  ks.keep_mask = keep_mask;
  return ks;
}

}  // namespace

TEST_CASE("the kernel and the host run the same filter step", "[bpf][filter]") {
  KernelDriver kernel;
  std::uint8_t kernel_epoch = 0;
  bpf::KernelFilterStore kstore(
      kernel.object(), [&] { return kernel_epoch; }, [&](std::uint8_t e) { kernel_epoch = e; });
  filter::FilterSettings hs;
  hs.default_role = DT_ROLE_FUNCTION;
  filter::HostFilterStore host(hs);
  setup(kstore);
  setup(host);
  const dt_filter_settings ks = kernel_settings(DT_KEEP_TRACES - 1);

  std::vector<Ev> all = events();
  for (const auto& e : overflow()) all.push_back(e);
  std::uint64_t t = 1'000'000'000;
  int kept = 0;
  for (std::size_t i = 0; i < all.size(); i++) {
    INFO("event " << i << ": " << all[i].comm << " " << all[i].path);
    dt_span_event k = make(all[i], t), h = make(all[i], t);
    t += 10 * ms;
    const int ko = kernel.filter_span(k, ks, kernel_epoch);
    const int ho = host.filter(h);
    CHECK(ko == ho);
    CHECK(int(k.decision) == int(h.decision));
    CHECK(int(k.reason) == int(h.reason));
    CHECK(k.service == h.service);
    CHECK(k.threshold_us == h.threshold_us);
    kept += ho == DT_OUT_KEPT;
  }
  CHECK(kept >= 5);
  // Spot checks that the table means what it says.
  {
    dt_span_event e = make(events()[4], t);
    host.filter(e);
    CHECK(int(e.reason) == DT_REASON_LATENCY);
  }

  auto kh = kstore.take_histograms();
  auto hh = host.take_histograms();
  CHECK(summary(kh) == summary(hh));
  CHECK_FALSE(kh.empty());
  for (const char* trace : {T1, T2, T3, "ccf92f3577b34da6a3ce929d0e0e4736",
                            "dddddddddddddddddddddddddddddddd"}) {
    INFO("trace " << trace);
    auto k = kstore.take_kept(filter::trace_key(trace));
    auto h = host.take_kept(filter::trace_key(trace));
    REQUIRE(k.size() == h.size());
    for (std::size_t i = 0; i < k.size(); i++)
      CHECK(std::memcmp(&k[i], &h[i], sizeof k[i]) == 0);
  }
  // Taken means gone, on both sides.
  CHECK(kstore.take_kept(filter::trace_key(T1)).empty());
  CHECK(kstore.take_histograms().empty());
}

// Two traces of one keep slot (two slots, so a trace finds one of the others' half the
// time): the later takes the slot over, its spans are the slot's, and the earlier's pull
// finds nothing rather than another trace's spans; the same on both sides.
TEST_CASE("a trace that takes another's keep slot evicts it, in the kernel as on the host",
          "[bpf][filter]") {
  KernelDriver kernel;
  std::uint8_t kernel_epoch = 0;
  bpf::KernelFilterStore kstore(
      kernel.object(), [&] { return kernel_epoch; }, [&](std::uint8_t e) { kernel_epoch = e; },
      DT_KEEP_SPANS, 1);
  filter::FilterSettings hs;
  hs.keep_traces = 3;  // two slots: the largest power of two not above it
  filter::HostFilterStore host(hs);
  setup(kstore);
  setup(host);
  const dt_filter_settings ks = kernel_settings(1);

  const char* a = T1;
  const dt_trace_key ka = filter::trace_key(a);
  std::string b;  // a trace id of a's slot
  for (char c : std::string("0123456789abcdef")) {
    std::string id(a);
    id[0] = c;
    const dt_trace_key kb = filter::trace_key(id);
    if (id != a && dt_keep_slot_of(&kb, 1) == dt_keep_slot_of(&ka, 1)) {
      b = id;
      break;
    }
  }
  REQUIRE_FALSE(b.empty());
  std::uint64_t t = 1'000'000'000;
  const std::vector<Ev> evs = {{"gateway", 10, "/item/1", 5 * ms, 200, a},
                               {"gateway", 10, "/item/2", 6 * ms, 200, a},
                               {"gateway", 10, "/item/3", 7 * ms, 200, b.c_str()}};
  std::vector<bool> evicted;
  for (const auto& ev : evs) {
    dt_span_event k = make(ev, t), h = make(ev, t);
    t += 10 * ms;
    bool ke = false;
    CHECK(kernel.filter_span(k, ks, kernel_epoch, nullptr, &ke) == DT_OUT_KEPT);
    CHECK(host.filter(h) == DT_OUT_KEPT);
    evicted.push_back(ke);
  }
  CHECK(evicted == std::vector<bool>{false, false, true});
  CHECK(host.counters()[DT_C_KEEP_EVICTED] == 1);
  CHECK(kstore.take_kept(filter::trace_key(a)).empty());
  CHECK(host.take_kept(filter::trace_key(a)).empty());
  auto k = kstore.take_kept(filter::trace_key(b));
  auto h = host.take_kept(filter::trace_key(b));
  REQUIRE(k.size() == 1);
  REQUIRE(h.size() == 1);
  CHECK(k[0].end_ns - k[0].start_ns == 7 * ms);
  CHECK(std::memcmp(&k[0], &h[0], sizeof k[0]) == 0);
  // Taken out: the slot is empty, and the next trace in it evicts nothing.
  CHECK(kstore.take_kept(filter::trace_key(b)).empty());
  dt_span_event k2 = make(evs[0], t);
  bool ke = true;
  CHECK(kernel.filter_span(k2, ks, kernel_epoch, nullptr, &ke) == DT_OUT_KEPT);
  CHECK_FALSE(ke);
}
