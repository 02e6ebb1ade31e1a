// The estimator: calls learned from linked traces, missing hops estimated where the
// learned placements put them; a parent that answered at once (202) is never stretched
// over its asynchronous child.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "assembler/estimator.h"
#include "assembler/linker.h"
#include "unit/assembler_samples.h"

using namespace difftrace;
using namespace difftrace::testing;
using assembler::Estimator;

namespace {

constexpr std::uint64_t us = 1'000;

std::string name(const Span& s) {
  return s.service_name + (s.kind == SpanKind::kServer ? "/S" : "/C");
}

std::map<std::string, Span> by_name(const std::vector<Span>& spans) {
  std::map<std::string, Span> out;
  for (const auto& s : spans) out[name(s)] = s;
  return out;
}

// Each span's parent by name ("-" for none), over the trace and its estimates.
std::map<std::string, std::string> parents(const std::vector<Span>& have,
                                           const std::vector<Span>& made) {
  std::vector<Span> all = have;
  all.insert(all.end(), made.begin(), made.end());
  std::map<std::string, std::string> out;
  auto idx = assembler::parent_index(all);
  for (std::size_t i = 0; i < all.size(); i++)
    out[name(all[i])] = idx[i] < 0 ? "-" : name(all[static_cast<std::size_t>(idx[i])]);
  return out;
}

Span at(Span s, std::uint64_t t0, std::uint64_t start_us, std::uint64_t end_us, int status) {
  s.start_unix_ns = t0 + start_us * us;
  s.end_unix_ns = t0 + end_us * us;
  s.status = status;
  return s;
}

// The demo's /fn-async/, in µs from t0: the ingress and the activator answer 202 at once
// (the activator after answer_us); 300 µs after answering the activator calls the
// function, and that call lasts as long as the function runs (run_ms).
// ingress S -> ingress C -> activator S ~> activator C -> fn S (linked as the Linker does).
std::vector<Span> async_call(std::uint8_t tr, std::uint64_t t0_ms, std::uint64_t answer_us,
                             std::uint64_t run_ms, const char* decision = "full") {
  const std::uint64_t t0 = t0_ms * ms, a = answer_us, run = run_ms * 1000;
  std::vector<Span> t = {
      at(span(tr, "ingress", SpanKind::kServer, 0, 0, 80, 40000, 1, decision), t0, 0, a + 400, 202),
      at(span(tr, "ingress", SpanKind::kClient, 0, 0, 41000, 81, 1, decision), t0, 100, a + 300, 202),
      at(span(tr, "activator", SpanKind::kServer, 0, 0, 81, 41000, 2, decision), t0, 200, a + 200, 202),
      at(span(tr, "activator", SpanKind::kClient, 0, 0, 42000, 82, 2, decision), t0, a + 500,
         a + 500 + run, 200),
      at(span(tr, "fn", SpanKind::kServer, 0, 0, 82, 42000, 3, decision), t0, a + 600, a + 400 + run,
         200)};
  for (std::size_t i = 1; i < t.size(); i++) t[i].parent_span_id = t[i - 1].span_id;
  return t;
}

// Nine async calls, answering in 150..350 µs (median 250), the function running 20..180 ms.
void learn_async(Estimator& est) {
  for (std::uint8_t k = 0; k < 9; k++)
    est.learn(async_call(k + 1, 1000 * k, 150 + 25 * k, 20 + 20 * ((k * 4) % 9)));
}

Estimator::Median fn_profile(std::uint64_t median_ns, std::uint64_t samples) {
  return [=](const Span& s) -> std::optional<Estimator::Profiled> {
    if (s.service_name == "fn") return Estimator::Profiled{median_ns, samples};
    return std::nullopt;  // the learned median
  };
}

}  // namespace

TEST_CASE("the estimator learns linked chains and estimates the hops a trace lacks", "[assembler][estimator]") {
  assembler::Linker linker;
  auto linked = [&](std::vector<Span> t) {
    linker.link(t);
    return t;
  };
  CHECK(assembler::parent_index(linked(chain(1, 0))) == std::vector<int>{-1, 0, 1, 2, 3});

  Estimator est([](const Span& s) -> std::optional<Estimator::Profiled> {
    if (s.service_name == "fn") return Estimator::Profiled{20 * ms, 500};
    return std::nullopt;  // the learned median
  });
  for (std::uint8_t t = 1; t <= 4; t++) est.learn(linked(chain(t, 100 * t)));
  CHECK(est.nodes() == 5);

  // The anomaly at the ingress and the gateway's SERVER span are there; the ingress CLIENT,
  // the gateway CLIENT and the function are not.
  auto full = chain(9, 1000, "anomalous");
  std::vector<Span> have = {full[0], full[2]};
  auto made = est.estimate(have, next_id);
  std::map<std::string, int> by;
  for (const auto& m : made) {
    CHECK(m.decision == "estimated");
    CHECK(m.trace_id == trace(9));
    by[m.service_name + (m.kind == SpanKind::kServer ? "/S" : "/C")]++;
    CHECK(m.start_unix_ns >= full[0].start_unix_ns);
    CHECK(m.end_unix_ns <= full[0].end_unix_ns);
  }
  CHECK(by == std::map<std::string, int>{{"ingress/C", 1}, {"gw/C", 1}, {"fn/S", 1}});
  auto m = by_name(made);
  // The ingress CLIENT around the gateway SERVER it waited for, by the learned 1 ms margins.
  CHECK(m["ingress/C"].estimate_method == "around_child");
  CHECK(m["ingress/C"].start_unix_ns == full[1].start_unix_ns);
  CHECK(m["ingress/C"].end_unix_ns == full[1].end_unix_ns);
  // The gateway CLIENT inside its SERVER: the learned length (no profile), 1 ms before its end.
  CHECK(m["gw/C"].estimate_method == "inside_parent");
  CHECK(m["gw/C"].start_unix_ns == full[3].start_unix_ns);
  CHECK(m["gw/C"].end_unix_ns == full[3].end_unix_ns);
  CHECK(m["gw/C"].estimate_profile_samples == 0);
  // The function: the profile's median, ending 1 ms before its caller's end.
  CHECK(m["fn/S"].estimate_method == "inside_parent");
  CHECK(m["fn/S"].duration_ns() == 20 * ms);
  CHECK(m["fn/S"].end_unix_ns == full[4].end_unix_ns);
  CHECK(m["fn/S"].estimate_profile_samples == 500);
  for (const auto& e : made) CHECK(e.estimate_samples == 4);  // four traces learned
  // Linked by the calls that made them: ingress S <- ingress C~ <- gw S <- gw C~ <- fn S~.
  CHECK(parents(have, made) == std::map<std::string, std::string>{{"ingress/S", "-"},
                                                                  {"ingress/C", "ingress/S"},
                                                                  {"gw/S", "ingress/C"},
                                                                  {"gw/C", "gw/S"},
                                                                  {"fn/S", "gw/C"}});

  // A parent far shorter than the child's usual time did not call it (a 503 of its own).
  auto quick = span(10, "gw", SpanKind::kServer, 0, 1, 81, 41000, 2, "anomalous");
  quick.status = 503;
  std::vector<Span> alone{quick};
  auto made2 = est.estimate(alone, next_id);
  for (const auto& m : made2) CHECK(m.service_name != "fn");
}


TEST_CASE("a parent that waited for a slow child lasts as long as it, plus its margins",
          "[assembler][estimator]") {
  Estimator est(fn_profile(20 * ms, 500));
  for (std::uint8_t t = 1; t <= 4; t++) {
    auto c = chain(t, 100 * t);
    assembler::Linker().link(c);
    est.learn(c);
  }
  // Only the function's span, 142 ms instead of 42: everything above it waited for it.
  auto slow = span(9, "fn", SpanKind::kServer, 1004, 1146, 82, 42000, 3, "anomalous");
  std::vector<Span> have{slow};
  auto m = by_name(est.estimate(have, next_id));
  REQUIRE(m.size() == 4);
  std::uint64_t margin = 1;
  for (const char* n : {"gw/C", "gw/S", "ingress/C", "ingress/S"}) {
    CHECK(m[n].estimate_method == "around_child");
    CHECK(m[n].start_unix_ns == (1004 - margin) * ms);
    CHECK(m[n].end_unix_ns == (1146 + margin) * ms);
    margin++;
  }

  // With the gateway CLIENT's profile too (median 30 ms over the function's 20), its
  // margins add up to the 10 ms between the medians, split as the learned ones (1:1).
  Estimator profiled([](const Span& s) -> std::optional<Estimator::Profiled> {
    if (s.service_name == "fn") return Estimator::Profiled{20 * ms, 500};
    if (s.service_name == "gw" && s.kind == SpanKind::kClient) return Estimator::Profiled{30 * ms, 700};
    return std::nullopt;
  });
  for (std::uint8_t t = 1; t <= 4; t++) {
    auto c = chain(t, 100 * t);
    assembler::Linker().link(c);
    profiled.learn(c);
  }
  std::vector<Span> again{slow};
  auto gw = by_name(profiled.estimate(again, next_id))["gw/C"];
  CHECK(gw.start_unix_ns == 999 * ms);
  CHECK(gw.end_unix_ns == 1151 * ms);
  CHECK(gw.estimate_profile_samples == 700);
}

TEST_CASE("a parent that answered 202 at once is short and sits before its async child",
          "[assembler][estimator]") {
  Estimator est(fn_profile(40 * ms, 300));
  learn_async(est);
  // What is left of a request whose function failed after 170 ms: the activator's call
  // and the function (the hops that answered 202 were kept, and the keep-buffer lost them).
  auto full = async_call(20, 50'000, 260, 170, "anomalous");
  std::vector<Span> have = {full[3], full[4]};
  have[0].parent_span_id.reset();
  auto made = est.estimate(have, next_id);
  auto m = by_name(made);
  REQUIRE(m.size() == 3);
  const Span& call = have[0];

  // The activator answered in its learned median (250 µs), 550 µs before its call began.
  CHECK(m["activator/S"].estimate_method == "before_child");
  CHECK(m["activator/S"].duration_ns() == 250 * us);
  CHECK(m["activator/S"].start_unix_ns == call.start_unix_ns - 550 * us);
  CHECK(m["activator/S"].end_unix_ns <= call.start_unix_ns);
  // The ingress waited for the activator's 202: around it by its 100 µs margins, and so
  // short as well, not stretched over the function's 170 ms.
  CHECK(m["ingress/C"].estimate_method == "around_child");
  CHECK(m["ingress/C"].start_unix_ns == m["activator/S"].start_unix_ns - 100 * us);
  CHECK(m["ingress/C"].end_unix_ns == m["activator/S"].end_unix_ns + 100 * us);
  CHECK(m["ingress/S"].duration_ns() == 650 * us);
  CHECK(m["ingress/S"].end_unix_ns < call.start_unix_ns);
  for (const auto& e : made) {
    CHECK(e.estimate_samples == 9);  // nine calls learned
    CHECK(e.estimate_profile_samples == 0);
    CHECK(e.duration_ns() < ms);
  }
  // Within 10 µs of the real ones (this activator answered in 260 µs, the median is 250).
  for (std::size_t i = 0; i < 3; i++) {
    CHECK(m[name(full[i])].start_unix_ns == full[i].start_unix_ns + 10 * us);
    CHECK(m[name(full[i])].duration_ns() + 10 * us == full[i].duration_ns());
  }
  CHECK(parents(have, made) == std::map<std::string, std::string>{{"ingress/S", "-"},
                                                                  {"ingress/C", "ingress/S"},
                                                                  {"activator/S", "ingress/C"},
                                                                  {"activator/C", "activator/S"},
                                                                  {"fn/S", "activator/C"}});

  // The activator's profile holds its 202s alone (the call never waited): its median is
  // the length, and the profile's spans are counted.
  Estimator profiled([](const Span& s) -> std::optional<Estimator::Profiled> {
    if (s.service_name == "activator" && s.kind == SpanKind::kServer)
      return Estimator::Profiled{240 * us, 5000};
    return std::nullopt;
  });
  learn_async(profiled);
  std::vector<Span> again = {full[3], full[4]};
  again[0].parent_span_id.reset();
  auto act = by_name(profiled.estimate(again, next_id))["activator/S"];
  CHECK(act.estimate_method == "before_child");
  CHECK(act.duration_ns() == 240 * us);
  CHECK(act.estimate_profile_samples == 5000);
  CHECK(act.start_unix_ns == call.start_unix_ns - 550 * us);
}

TEST_CASE("an async child is estimated after its parent's 202, not squeezed into it",
          "[assembler][estimator]") {
  Estimator est(fn_profile(40 * ms, 300));
  learn_async(est);
  auto full = async_call(21, 60'000, 250, 100, "anomalous");
  std::vector<Span> have = {full[0], full[1], full[2]};
  auto made = est.estimate(have, next_id);
  auto m = by_name(made);
  REQUIRE(m.size() == 2);
  // The call: 550 µs after the activator's start (300 µs after its answer), the learned
  // median call (the function's runs: 100 ms).
  CHECK(m["activator/C"].estimate_method == "after_parent");
  CHECK(m["activator/C"].start_unix_ns == full[2].start_unix_ns + 550 * us);
  CHECK(m["activator/C"].start_unix_ns > full[2].end_unix_ns);
  CHECK(m["activator/C"].duration_ns() == 100 * ms);
  // The function inside the call it answered: its profile's median, 100 µs before the end.
  CHECK(m["fn/S"].estimate_method == "inside_parent");
  CHECK(m["fn/S"].duration_ns() == 40 * ms);
  CHECK(m["fn/S"].end_unix_ns == m["activator/C"].end_unix_ns - 100 * us);
  CHECK(m["fn/S"].estimate_profile_samples == 300);
  CHECK(parents(have, made)["activator/C"] == "activator/S");

  // An activator that answered 503 itself queued nothing: no call after it.
  auto failed = full[2];
  failed.status = 503;
  std::vector<Span> alone{failed};
  auto above = by_name(est.estimate(alone, next_id));
  CHECK(above.count("ingress/C") == 1);  // its callers are estimated, its call is not
  CHECK(above.count("activator/C") == 0);
  CHECK(above.count("fn/S") == 0);
}

TEST_CASE("estimate samples count the learned calls, up to the window", "[assembler][estimator]") {
  Estimator est(fn_profile(40 * ms, 300));
  est.learn(async_call(1, 0, 250, 50));
  auto full = async_call(2, 10'000, 250, 50, "anomalous");
  std::vector<Span> have = {full[3]};
  have[0].parent_span_id.reset();
  auto made = est.estimate(have, next_id);
  CHECK(made.size() == 4);  // the activator's SERVER span, the ingress's two, the function
  for (const auto& e : made) CHECK(e.estimate_samples == 1);
  // Estimated spans teach nothing (here the one span seen hangs under an estimated one).
  std::vector<Span> with_estimates = have;
  with_estimates.insert(with_estimates.end(), made.begin(), made.end());
  est.learn(with_estimates);
  for (const auto& e : est.estimate(have, next_id)) CHECK(e.estimate_samples == 1);

  for (std::uint8_t k = 0; k < 5; k++) est.learn(async_call(k + 3, 20'000 + k, 250, 50));
  for (const auto& e : est.estimate(have, next_id)) CHECK(e.estimate_samples == 6);
  for (std::uint8_t k = 0; k < 100; k++) est.learn(async_call(k + 10, 30'000 + k, 250, 50));
  made = est.estimate(have, next_id);
  CHECK(made.size() == 4);
  for (const auto& e : made) CHECK(e.estimate_samples == Estimator::kWindow);
}

TEST_CASE("a call seen both ways takes the way most of its calls went", "[assembler][estimator]") {
  Estimator est(fn_profile(40 * ms, 300));
  learn_async(est);  // nine that answered at once
  // Ten where the activator waited for the function (a synchronous call on the same node).
  for (std::uint8_t k = 0; k < 10; k++) {
    auto t = async_call(k + 40, 30'000 + 1000 * k, 250, 30);
    t[2].end_unix_ns = t[3].end_unix_ns + 100 * us;
    t[1].end_unix_ns = t[2].end_unix_ns + 100 * us;
    t[0].end_unix_ns = t[1].end_unix_ns + 100 * us;
    est.learn(t);
  }
  auto full = async_call(60, 90'000, 250, 70, "anomalous");
  std::vector<Span> have = {full[3]};
  have[0].parent_span_id.reset();
  auto m = by_name(est.estimate(have, next_id));
  CHECK(m["activator/S"].estimate_method == "around_child");
  CHECK(m["activator/S"].end_unix_ns == full[3].end_unix_ns + 100 * us);
  CHECK(m["activator/S"].estimate_samples == 10);
}
