// The assembler (traces wait, kept spans pulled for anomalies, late spans, bounds, warm-up
// judging, nothing estimated under --no-filter). The estimator's own: test_estimator.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <utility>

#include "assembler/assembler.h"
#include "assembler/estimator.h"
#include "assembler/linker.h"
#include "unit/assembler_samples.h"

using namespace difftrace;
using namespace difftrace::testing;
using assembler::Assembler;
using assembler::Estimator;

TEST_CASE("a trace with an anomaly gets its kept spans back when the anomaly arrives",
          "[assembler]") {
  // As the keep-buffer does: a trace's kept spans come out once, and the slot is empty after.
  int pulls = 0;
  bool taken = false;
  Assembler a(
      100 * ms, 16, 1024,
      [&](const Span& of) {
        pulls++;
        if (std::exchange(taken, true)) return std::vector<Span>{};
        auto kept = span(of.trace_id[0], "gw", SpanKind::kServer, 2, 48, 81, 41000, 2, "kept");
        return std::vector<Span>{kept};
      },
      nullptr, next_id);
  std::vector<Span> out;
  a.add({span(7, "fn", SpanKind::kServer, 4, 46, 82, 42000, 3)}, 0, out);
  CHECK(pulls == 0);  // no anomaly yet
  auto bad = span(7, "ingress", SpanKind::kServer, 0, 50, 80, 40000, 1, "anomalous");
  a.add({bad}, 10 * ms, out);
  CHECK(out.empty());  // waits for late spans
  CHECK(pulls == 1);   // but its kept spans are out of the keep-buffer already
  CHECK(a.counters().spans_recovered_exact == 1);
  a.add({span(7, "edge", SpanKind::kServer, 0, 51, 79, 39000, 5, "anomalous")}, 50 * ms, out);
  CHECK(pulls == 1);  // once per trace when its anomalies arrive
  a.expire(99 * ms, out);
  CHECK(out.empty());
  a.expire(100 * ms, out);
  REQUIRE(out.size() == 4);
  CHECK(pulls == 2);  // and once more as it goes out, for spans kept while it was flagged
  auto kept = std::find_if(out.begin(), out.end(), [](const Span& s) { return s.decision == "kept"; });
  REQUIRE(kept != out.end());
  CHECK(std::count_if(out.begin(), out.end(), [](const Span& s) { return s.decision == "kept"; }) == 1);
  CHECK(a.counters().spans_recovered_exact == 1);
  CHECK(a.counters().traces_with_anomaly == 1);
  const auto kept_gw = kept->span_id;
  // A late span of a sent trace goes out at once, linked to the trace's spans.
  out.clear();
  a.add({span(7, "gw", SpanKind::kClient, 3, 47, 42000, 82, 2)}, 200 * ms, out);
  REQUIRE(out.size() == 1);
  CHECK(a.counters().late_spans == 1);
  CHECK(out[0].parent_span_id == kept_gw);
  CHECK(a.counters().late_spans_linked == 1);
}

TEST_CASE("traces without an anomaly go out as they are; memory is bounded", "[assembler]") {
  int pulls = 0;
  Assembler a(100 * ms, 2, 1024, [&](const Span&) { pulls++; return std::vector<Span>{}; }, nullptr,
              next_id);
  std::vector<Span> out;
  a.add({span(1, "fn", SpanKind::kServer, 0, 1, 1, 2, 3)}, 0, out);
  a.add({span(2, "fn", SpanKind::kServer, 0, 1, 1, 2, 3)}, 1, out);
  CHECK(out.empty());
  a.add({span(3, "fn", SpanKind::kServer, 0, 1, 1, 2, 3)}, 2, out);  // over the bound
  REQUIRE(out.size() == 1);
  CHECK(out[0].trace_id == trace(1));
  CHECK(a.counters().traces_sent_early == 1);
  CHECK(a.waiting() == 2);
  a.expire(0, out, /*flush=*/true);
  CHECK(out.size() == 3);
  CHECK(pulls == 0);
  // No trace id from a header: nothing to wait for.
  out.clear();
  auto lone = span(9, "fn", SpanKind::kServer, 0, 1, 1, 2, 3);
  lone.trace_from_header = false;
  a.add({lone}, 5, out);
  CHECK(out.size() == 1);
}

TEST_CASE("spans waiting and remembered are bounded too, not only traces", "[assembler]") {
  Assembler a(100 * ms, 1000, 6, [](const Span&) { return std::vector<Span>{}; }, nullptr,
              next_id);
  std::vector<Span> out;
  a.add(chain(1, 0), 0, out);  // five spans: under the bound
  CHECK(out.empty());
  CHECK(a.waiting_spans() == 5);
  a.add(chain(2, 10), 1, out);  // ten: the oldest trace leaves early
  CHECK(out.size() == 5);
  CHECK(out[0].trace_id == trace(1));
  CHECK(a.counters().traces_sent_early == 1);
  CHECK(a.waiting() == 1);
  CHECK(a.waiting_spans() == 5);
  CHECK(a.recent_spans() == 5);
  a.expire(0, out, /*flush=*/true);
  CHECK(out.size() == 10);
  CHECK(a.waiting_spans() == 0);
  // Trace 2 is remembered; trace 1 was forgotten to stay within 6 spans.
  CHECK(a.recent_spans() == 5);
  out.clear();
  a.add({span(1, "fn", SpanKind::kServer, 4, 46, 82, 42000, 3)}, 2, out);
  REQUIRE(out.size() == 1);
  CHECK(a.counters().late_spans == 1);
  CHECK(a.counters().late_spans_linked == 0);
  CHECK(a.recent_spans() == 5);
}

TEST_CASE("one trace id on every request does not make one endless trace", "[assembler]") {
  Assembler a(100 * ms, 1000, 1u << 20, [](const Span&) { return std::vector<Span>{}; },
              nullptr, next_id);
  std::vector<Span> out;
  const std::size_t n = Assembler::kMaxTraceSpans + 10;
  for (std::size_t i = 0; i < n; i++)
    a.add({span(4, "fn", SpanKind::kServer, i * 10, i * 10 + 5, 82, 42000, 3)}, i, out);
  // The trace went out when it reached the bound; the rest went out late, unlinked.
  CHECK(out.size() == n);
  CHECK(a.counters().traces_sent_early == 1);
  CHECK(a.counters().late_spans == 10);
  CHECK(a.counters().spans_past_trace_bound == 10);
  CHECK(a.waiting() == 0);
  CHECK(a.recent_spans() == Assembler::kMaxTraceSpans);
}

TEST_CASE("a warm-up span waits for its profile, then is judged", "[assembler]") {
  bool profile = false;
  Assembler a(
      100 * ms, 16, 1024, [](const Span&) { return std::vector<Span>{}; }, nullptr, next_id,
      [&](assembler::WaitingSpan& s) {
        if (!profile) return Assembler::Judgement::kNoProfileYet;
        s.threshold_ns = 10 * ms;
        if (s.duration_ns() <= s.threshold_ns) return Assembler::Judgement::kNormal;
        s.decision = "anomalous";
        s.reason = "latency";
        return Assembler::Judgement::kAnomalous;
      });
  std::vector<Span> out;
  auto s = span(4, "gw", SpanKind::kServer, 0, 300, 81, 41000, 2);
  s.threshold_ns = 0;
  s.reason = "warmup";
  a.add({s}, 0, out);
  a.expire(150 * ms, out);
  CHECK(out.empty());  // held: no profile yet
  profile = true;
  a.expire(250 * ms, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].decision == "anomalous");
  CHECK(a.counters().judged_anomalous == 1);
  CHECK(a.counters().traces_with_anomaly == 1);
}

TEST_CASE("a warm-up span without a profile goes out after the longest hold", "[assembler]") {
  Assembler a(100 * ms, 16, 1024, [](const Span&) { return std::vector<Span>{}; }, nullptr, next_id,
              [](assembler::WaitingSpan&) { return Assembler::Judgement::kNoProfileYet; });
  std::vector<Span> out;
  auto s = span(5, "gw", SpanKind::kServer, 0, 3, 81, 41000, 2);
  s.threshold_ns = 0;
  a.add({s}, 0, out);
  for (std::uint64_t t = 100; t < 1000; t += 100) a.expire(t * ms, out);
  CHECK(out.empty());
  a.expire(1000 * ms, out);
  CHECK(out.size() == 1);
}

TEST_CASE("under --no-filter nothing is estimated, not even for an anomaly", "[assembler]") {
  Estimator est([](const Span&) -> std::optional<Estimator::Profiled> { return std::nullopt; });
  assembler::Linker linker;
  for (std::uint8_t t = 1; t <= 4; t++) {
    auto c = chain(t, 100 * t);
    linker.link(c);
    est.learn(c);
  }
  Assembler a(100 * ms, 16, 1024, [](const Span&) { return std::vector<Span>{}; }, &est, next_id);
  std::vector<Span> out;
  auto normal = span(20, "fn", SpanKind::kServer, 0, 5, 82, 42000, 3, "full");
  normal.reason = "no_filter";
  a.add({normal}, 0, out);
  // The ingress answered 503 itself: it called nobody.
  auto own503 = span(21, "ingress", SpanKind::kServer, 0, 50, 80, 40000, 1, "anomalous");
  own503.status = 503;
  a.add({own503}, 0, out);
  a.expire(0, out, /*flush=*/true);
  CHECK(out.size() == 2);
  CHECK(a.counters().spans_estimated == 0);
}

TEST_CASE("late spans link by their texts, whatever the remembered traces' moves",
          "[assembler]") {
  // Remembered spans keep their texts in blocks of their trace (assembler/link_span.h):
  // traces sent before and after, and one forgotten (the others' entries move into its
  // place), must leave them readable. Texts past the 15 bytes a string holds in place.
  Assembler a(100 * ms, 32, 1u << 20, [](const Span&) { return std::vector<Span>{}; },
              nullptr, next_id);
  auto longer = [](Span s) {
    s.path = "/api/v1/orders/12345/items?expand=true&with=customer";
    s.method = "PROPFIND-LONGER-THAN-SSO";
    s.local.address = "2001:db8:85a3::8a2e:370:" + std::to_string(s.local.port);
    s.peer.address = "2001:db8:85a3::8a2e:370:" + std::to_string(s.peer.port);
    return s;
  };
  std::vector<Span> out;
  for (std::uint8_t tr = 1; tr <= 40; tr++) {
    std::vector<Span> spans;
    for (auto& s : chain(tr, tr)) spans.push_back(longer(s));
    spans.pop_back();  // each trace's fn SERVER span comes late
    a.add(std::move(spans), tr * ms, out);
  }
  a.expire(0, out, /*flush=*/true);
  CHECK(out.size() == 40 * 4);
  // The gw CLIENT's end is the late fn SERVER's peer: linked by address, port and target.
  for (std::uint8_t tr : {40, 9, 17}) {
    const auto gw_client = std::find_if(out.begin(), out.end(), [&](const Span& s) {
      return s.trace_id == trace(tr) && s.kind == SpanKind::kClient && s.service_name == "gw";
    });
    REQUIRE(gw_client != out.end());
    const auto parent = gw_client->span_id;
    std::vector<Span> late;
    a.add({longer(chain(tr, tr).back())}, 300 * ms, late);
    REQUIRE(late.size() == 1);
    CHECK(late[0].parent_span_id == parent);
  }
  CHECK(a.counters().late_spans == 3);
  CHECK(a.counters().late_spans_linked == 3);
  // Trace 1 was forgotten (32 remembered at most): its late span goes out unlinked.
  std::vector<Span> late;
  a.add({longer(chain(1, 1).back())}, 300 * ms, late);
  REQUIRE(late.size() == 1);
  CHECK_FALSE(late[0].parent_span_id);
}
