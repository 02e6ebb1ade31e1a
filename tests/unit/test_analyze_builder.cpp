// The trace builder's own tables: the open-addressing index of trace ids (entries sharing a
// hash, erasure that shifts the run back, growth) against a std::multimap, and the ring of
// recently completed traces that counts late fragments.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <vector>

#include "analyze/flat_hash_index.h"
#include "analyze/trace_builder.h"
#include "analyze_samples.h"

using difftrace::analyze::FlatHashIndex;

TEST_CASE("flat hash index: finds, erases and grows like a multimap, collisions and all",
          "[analyze]") {
  FlatHashIndex index;
  std::multimap<std::uint64_t, std::uint32_t> want;
  std::mt19937_64 rng(7);
  // Few distinct hashes, many sharing their low bits (one home slot, long runs that wrap
  // around the table's end), 0 among them (the empty slot's key).
  const std::uint64_t hashes[] = {0, 1, 63, 64, 127, 128, 1ull << 40, (1ull << 40) + 63,
                                  ~0ull, 0x9E3779B97F4A7C15ull};
  std::uint32_t next_value = 0;
  for (int step = 0; step < 20000; step++) {
    const std::uint64_t h = hashes[rng() % std::size(hashes)];
    const int op = static_cast<int>(rng() % 3);
    if (op == 0 || want.empty()) {
      index.insert(h, next_value);
      want.emplace(h, next_value);
      next_value++;
    } else if (op == 1) {
      auto it = want.begin();
      std::advance(it, static_cast<long>(rng() % want.size()));
      index.erase(it->first, it->second);
      want.erase(it);
    } else {
      // Each value under h is found when asked for; a value not there is not.
      auto [first, last] = want.equal_range(h);
      for (auto it = first; it != last; ++it) {
        const std::uint32_t v = it->second;
        REQUIRE(index.find(h, [&](std::uint32_t x) { return x == v; }) == v);
      }
      REQUIRE(index.find(h, [&](std::uint32_t x) { return x == next_value; }) ==
              FlatHashIndex::kNone);
    }
    REQUIRE(index.size() == want.size());
  }
  for (const auto& [h, v] : want) {
    const std::uint32_t value = v;
    CHECK(index.find(h, [&](std::uint32_t x) { return x == value; }) == value);
  }
}

TEST_CASE("the trace builder counts a late span of a recently completed trace as a split",
          "[analyze]") {
  namespace analyze = difftrace::analyze;
  using difftrace::testing::aspan;
  analyze::BuilderLimits limits;
  limits.max_traces = 3;  // three traces wait at most; the ids of the last three out are kept
  std::vector<std::string> done;
  analyze::TraceBuilder b(limits, [&](std::vector<analyze::Span>&& t) {
    done.push_back(t.front().trace_id.str());
  });
  double at = 0;
  auto add = [&](const std::string& trace) {
    at += 1;
    b.add(aspan(trace, trace + "-" + std::to_string(static_cast<int>(at)), "", "s",
                analyze::Kind::kServer, at, at + 0.5));
  };
  for (int i = 0; i < 10; i++) add("t" + std::to_string(i));  // t0..t6 out, t4..t6 recent
  CHECK(done == std::vector<std::string>{"t0", "t1", "t2", "t3", "t4", "t5", "t6"});
  add("t5");  // recent: a split; t7 goes out (recent: t5 t6 t7)
  CHECK(b.counters().traces_split == 1);
  add("t1");  // out long ago: not counted; t8 goes out (t6 t7 t8)
  add("t4");  // t9 out (t7 t8 t9)
  CHECK(b.counters().traces_split == 1);
  add("t8");  // recent: a split; the second t5 goes out (t8 t9 t5)
  CHECK(b.counters().traces_split == 2);
  add("t7");  // no longer recent
  CHECK(b.counters().traces_split == 2);
  CHECK(b.counters().evicted_by_cap == 12);
  b.finish();
  CHECK(done == std::vector<std::string>{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8",
                                         "t9", "t5", "t1", "t4", "t8", "t7"});
  CHECK(b.spans_held() == 0);
}
