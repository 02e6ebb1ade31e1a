// The critical path and breakdown of hand-built traces: nested sync calls,
// parallel children, an async child after a 202, an estimated hop, clock skew.
#include <catch2/catch.hpp>

#include <random>

#include "analyze/critical_path.h"
#include "analyze_samples.h"

using difftrace::analyze::analyze_trace;
using difftrace::analyze::Category;
using difftrace::analyze::Kind;
using difftrace::analyze::Span;
using difftrace::analyze::TraceAnalysis;
using difftrace::testing::aspan;
using difftrace::testing::kMs;

namespace {

bool platform(const std::string& service) {
  return service == "gw" || service == "activator" || service == "queue-proxy";
}

std::vector<std::string> path_ids(const TraceAnalysis& a) {
  std::vector<std::string> ids;
  for (const auto& p : a.path) ids.push_back(p.span->span_id);
  return ids;
}

std::uint64_t self_of(const TraceAnalysis& a, const std::string& id) {
  for (const auto& p : a.path)
    if (p.span->span_id == id) return p.self_ns;
  FAIL("span " << id << " not on the path");
  return 0;
}

}  // namespace

TEST_CASE("nested sync calls: every hop on the path, gaps as network", "[analyze]") {
  std::vector<Span> t{
      aspan("t1", "a", "", "gw", Kind::kServer, 0, 100),
      aspan("t1", "b", "a", "gw", Kind::kClient, 5, 95),
      aspan("t1", "c", "b", "fn", Kind::kServer, 10, 90),
      aspan("t1", "d", "c", "fn", Kind::kClient, 20, 60),  // an untraced callee
  };
  TraceAnalysis a = analyze_trace(t, platform);
  CHECK(a.duration_ns == 100 * kMs);
  CHECK(path_ids(a) == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(self_of(a, "a") == 10 * kMs);
  CHECK(self_of(a, "b") == 10 * kMs);
  CHECK(self_of(a, "c") == 40 * kMs);
  CHECK(self_of(a, "d") == 40 * kMs);
  CHECK(a.breakdown[Category::kPlatform] == 10 * kMs);
  CHECK(a.breakdown[Category::kNetwork] == 10 * kMs);
  CHECK(a.breakdown[Category::kFunction] == 40 * kMs);
  CHECK(a.breakdown[Category::kDownstream] == 40 * kMs);
  CHECK(a.breakdown[Category::kAsyncWait] == 0);
  CHECK(a.breakdown.total() == a.duration_ns);
  CHECK_FALSE(a.async);
  CHECK(a.skew_clamped == 0);
  CHECK(a.path[3].depth == 3);
}

TEST_CASE("parallel children: the one that ends last; sequential ones before it too", "[analyze]") {
  SECTION("overlapping: only the later-ending one") {
    std::vector<Span> t{
        aspan("t", "r", "", "fn", Kind::kServer, 0, 100),
        aspan("t", "x", "r", "fn", Kind::kClient, 10, 50),
        aspan("t", "y", "r", "fn", Kind::kClient, 10, 80),
        aspan("t", "z", "r", "fn", Kind::kClient, 85, 95),
    };
    TraceAnalysis a = analyze_trace(t, platform);
    CHECK(path_ids(a) == std::vector<std::string>{"r", "y", "z"});
    CHECK(self_of(a, "r") == 20 * kMs);
    CHECK(self_of(a, "y") == 70 * kMs);
    CHECK(a.breakdown.total() == 100 * kMs);
  }
  SECTION("one after the other: both") {
    std::vector<Span> t{
        aspan("t", "r", "", "fn", Kind::kServer, 0, 100),
        aspan("t", "y", "r", "fn", Kind::kClient, 40, 80),
        aspan("t", "x", "r", "fn", Kind::kClient, 10, 30),
        aspan("t", "w", "r", "fn", Kind::kClient, 20, 35),  // overlaps x, ends later: it, not x
    };
    TraceAnalysis a = analyze_trace(t, platform);
    CHECK(path_ids(a) == std::vector<std::string>{"r", "w", "y"});
    CHECK(self_of(a, "r") == (20 + 5 + 20) * kMs);
  }
}

TEST_CASE("an async child after a 202: the path goes through the async function", "[analyze]") {
  std::vector<Span> t{
      aspan("t", "in", "", "gw", Kind::kServer, 0, 4),
      aspan("t", "inc", "in", "gw", Kind::kClient, 1, 3),
      aspan("t", "act", "inc", "activator", Kind::kServer, 1.5, 2.5),  // answers 202 at once
      aspan("t", "defer", "act", "activator", Kind::kClient, 50, 150),  // the deferred call
      aspan("t", "fn", "defer", "fn-async", Kind::kServer, 55, 145),
  };
  TraceAnalysis a = analyze_trace(t, platform);
  CHECK(a.duration_ns == 150 * kMs);
  CHECK(path_ids(a) == std::vector<std::string>{"in", "inc", "act", "defer", "fn"});
  CHECK(a.async);
  CHECK(a.path[3].async);
  CHECK_FALSE(a.path[4].async);
  CHECK(self_of(a, "fn") == 90 * kMs);
  CHECK(self_of(a, "defer") == 10 * kMs);
  // Before the calls: the ingress 0..1, its client 1..1.5 (network), the activator 1.5..2.5;
  // from its 202 to the deferred call (2.5..50) the request waited: async wait.
  CHECK(self_of(a, "in") == 1 * kMs);
  CHECK(self_of(a, "inc") == kMs / 2);
  CHECK(self_of(a, "act") == 1 * kMs);
  CHECK(a.breakdown[Category::kAsyncWait] == 47 * kMs + kMs / 2);
  CHECK(a.path[2].async_wait_ns == 47 * kMs + kMs / 2);  // the activator's, after its 202
  CHECK(a.breakdown[Category::kFunction] == 90 * kMs);
  CHECK(a.breakdown.total() == a.duration_ns);
}

TEST_CASE("a missing hop filled by an estimated span is marked on the path", "[analyze]") {
  std::vector<Span> t{
      aspan("t", "a", "", "gw", Kind::kServer, 0, 100),
      aspan("t", "b", "a", "gw", Kind::kClient, 5, 95),
      aspan("t", "q", "b", "queue-proxy", Kind::kServer, 10, 90),
      aspan("t", "f", "q", "fn", Kind::kServer, 20, 80),
  };
  t[2].estimated = true;
  TraceAnalysis a = analyze_trace(t, platform);
  REQUIRE(path_ids(a) == std::vector<std::string>{"a", "b", "q", "f"});
  CHECK(a.path[2].span->estimated);
  CHECK_FALSE(a.path[3].span->estimated);
  CHECK(a.breakdown.estimated_ns == 20 * kMs);
  CHECK(a.breakdown[Category::kPlatform] == 30 * kMs);  // gw 10 + the estimated queue-proxy 20
  CHECK(a.breakdown.total() == 100 * kMs);
}

TEST_CASE("clock skew: a child that starts before its parent is clamped and counted",
          "[analyze]") {
  SECTION("a SERVER child starting before and ending after its CLIENT parent") {
    std::vector<Span> t{
        aspan("t", "c", "", "gw", Kind::kClient, 10, 90),
        aspan("t", "s", "c", "fn", Kind::kServer, 5, 95),
    };
    TraceAnalysis a = analyze_trace(t, platform);
    CHECK(a.skew_clamped == 1);
    CHECK(a.duration_ns == 80 * kMs);
    CHECK(self_of(a, "s") == 80 * kMs);
    CHECK(self_of(a, "c") == 0);
    CHECK(a.breakdown.total() == a.duration_ns);
  }
  SECTION("a child entirely before its parent: zero long at the parent's start") {
    std::vector<Span> t{
        aspan("t", "p", "", "fn", Kind::kServer, 100, 200),
        aspan("t", "k", "p", "fn", Kind::kClient, 40, 60),
        aspan("t", "g", "k", "other", Kind::kServer, 45, 55),
    };
    TraceAnalysis a = analyze_trace(t, platform);
    CHECK(a.skew_clamped == 2);
    CHECK(a.duration_ns == 100 * kMs);
    CHECK(self_of(a, "p") == 100 * kMs);
    CHECK(a.breakdown.total() == a.duration_ns);
  }
}

TEST_CASE("a trace in pieces: the path from the earliest root, the rest counted", "[analyze]") {
  std::vector<Span> t{
      aspan("t", "late", "gone", "fn", Kind::kServer, 20, 30),  // its parent was never seen
      aspan("t", "r", "", "gw", Kind::kServer, 0, 50),
      aspan("t", "x", "y", "fn", Kind::kServer, 1, 2),  // x and y: a cycle
      aspan("t", "y", "x", "fn", Kind::kServer, 1, 2),
  };
  TraceAnalysis a = analyze_trace(t, platform);
  CHECK(path_ids(a) == std::vector<std::string>{"r"});
  CHECK(a.unlinked == 3);
  CHECK(a.duration_ns == 50 * kMs);
}

TEST_CASE("random trees: the categories and the path's times always add up to the duration",
          "[analyze]") {
  std::mt19937 rng(19);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trace = 0; trace < 500; trace++) {
    std::vector<Span> t;
    const int n = uniform(1, 12);
    for (int i = 0; i < n; i++) {
      // Parents among the spans before (or none); times anywhere, skew and async included.
      const int parent = i ? uniform(-1, i - 1) : -1;
      const double start = uniform(0, 100), length = uniform(0, 60);
      t.push_back(aspan("r", std::to_string(i), parent < 0 ? "" : std::to_string(parent),
                        uniform(0, 1) ? "gw" : "fn", uniform(0, 1) ? Kind::kServer : Kind::kClient,
                        start, start + length));
      t.back().estimated = uniform(0, 3) == 0;
    }
    TraceAnalysis a = analyze_trace(t, platform);
    REQUIRE_FALSE(a.path.empty());
    CHECK(a.breakdown.total() == a.duration_ns);
    std::uint64_t on_path = 0;
    for (const auto& p : a.path) on_path += p.self_ns + p.async_wait_ns;
    CHECK(on_path == a.duration_ns);
    CHECK(a.breakdown.estimated_ns <= a.duration_ns);
    CHECK(a.unlinked + a.path.size() <= t.size());
  }
}
