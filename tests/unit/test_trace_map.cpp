// assembler::TraceMap (traces by id: a dense vector behind an open-addressing index) and
// assembler::SpanPool (each trace's spans a chain of slots), against std::map and vector
// models, on ids that differ in a few bytes only (as a generator's do).
#include <catch2/catch.hpp>

#include <map>
#include <vector>

#include "assembler_samples.h"
#include "assembler/span_pool.h"
#include "assembler/trace_map.h"

using difftrace::assembler::SpanPool;
using difftrace::assembler::TraceMap;
using difftrace::capture::Span;
using difftrace::capture::TraceId;

namespace {

TraceId id_of(std::uint64_t n) { return difftrace::testing::close_trace_id(n); }

Span span_named(std::uint64_t n) {
  Span s;
  s.path = "/a-path-longer-than-the-small-string-buffer/" + std::to_string(n);
  s.start_unix_ns = n;
  return s;
}

}  // namespace

TEST_CASE("trace map: finds, makes and takes as a std::map of the same ids", "[assembler]") {
  TraceMap<std::uint64_t> m;
  std::map<TraceId, std::uint64_t> model;
  std::uint64_t seed = 11;
  // Grows past 50,000 entries, then shrinks back (the table shrinks with it).
  for (int step = 0; step < 200000; step++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    const bool growing = step < 100000;
    const TraceId id = id_of((seed >> 33) % 60000);
    if ((seed >> 20) % 3 != 0 ? growing : !growing) {
      auto [v, made] = m.try_emplace(id);
      REQUIRE(made == (model.count(id) == 0));
      if (made) *v = step;
      model.emplace(id, *v);
    } else {
      std::uint64_t got = 0;
      const bool had = model.count(id) > 0;
      REQUIRE(m.take(id, got) == had);
      if (had) {
        REQUIRE(got == model[id]);
        model.erase(id);
      }
    }
    REQUIRE(m.size() == model.size());
    const TraceId probe = id_of((seed >> 40) % 60000);
    auto* found = m.find(probe);
    REQUIRE((found != nullptr) == (model.count(probe) > 0));
    if (found) REQUIRE(*found == model[probe]);
  }
  for (const auto& [id, v] : model) CHECK(*m.find(id) == v);
}

TEST_CASE("span pool: chains keep their spans in order through splices and reuse",
          "[assembler]") {
  SpanPool pool;
  std::vector<SpanPool::Chain> chains(50);
  std::vector<std::vector<std::uint64_t>> model(50);
  std::uint64_t seed = 5, n = 0;
  for (int step = 0; step < 20000; step++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    const std::size_t c = (seed >> 33) % chains.size();
    const int op = static_cast<int>((seed >> 50) % 10);
    if (op < 7) {
      pool.append(chains[c], span_named(n));
      model[c].push_back(n++);
    } else if (op < 8) {
      const std::size_t d = (seed >> 20) % chains.size();
      if (d == c) continue;
      pool.splice(chains[c], chains[d]);
      model[c].insert(model[c].end(), model[d].begin(), model[d].end());
      model[d].clear();
    } else {
      std::vector<Span> out;
      pool.take(chains[c], out);
      REQUIRE(out.size() == model[c].size());
      for (std::size_t i = 0; i < out.size(); i++) {
        REQUIRE(out[i].start_unix_ns == model[c][i]);
        REQUIRE(out[i].path == span_named(model[c][i]).path);
      }
      model[c].clear();
    }
    REQUIRE(chains[c].size == model[c].size());
  }
  std::size_t waiting = 0;
  for (std::size_t c = 0; c < chains.size(); c++) {
    std::vector<std::uint64_t> seen;
    pool.for_each(chains[c], [&](const difftrace::assembler::WaitingSpan& s) { seen.push_back(s.start_unix_ns); });
    CHECK(seen == model[c]);
    waiting += model[c].size();
  }
  CHECK(pool.in_use() == waiting);
}
