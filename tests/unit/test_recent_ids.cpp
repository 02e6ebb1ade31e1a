// assembler::RecentIds, the sent trace ids: the last N distinct ids, oldest forgotten first,
// against a deque + set model on ids that differ in a few bytes only (as a generator's do).
#include <catch2/catch.hpp>

#include <deque>
#include <set>

#include "assembler_samples.h"
#include "assembler/recent_ids.h"

using difftrace::assembler::RecentIds;
using difftrace::capture::TraceId;

namespace {

TraceId id_of(std::uint64_t n) { return difftrace::testing::close_trace_id(n); }

}  // namespace

TEST_CASE("recent ids: an id inserted twice is one id", "[assembler]") {
  RecentIds r(4);
  CHECK(r.insert(id_of(1)));
  CHECK_FALSE(r.insert(id_of(1)));
  CHECK(r.contains(id_of(1)));
  CHECK_FALSE(r.contains(id_of(2)));
  CHECK(r.size() == 1);
}

TEST_CASE("recent ids: the oldest id goes first, as a deque and a set of the same ids",
          "[assembler]") {
  for (std::size_t capacity : {1u, 3u, 64u, 1000u}) {
    RecentIds r(capacity);
    std::deque<TraceId> order;
    std::set<TraceId> model;
    std::uint64_t seed = 7;
    for (int step = 0; step < 20000; step++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      // Mostly new ids, some repeats of recent ones, some of long-forgotten ones.
      const std::uint64_t n = (seed >> 33) % 4 == 0 ? (seed >> 40) % (2 * capacity + 5) : step;
      const TraceId id = id_of(n);
      const bool fresh = model.insert(id).second;
      if (fresh) {
        order.push_back(id);
        if (order.size() > capacity) {
          model.erase(order.front());
          order.pop_front();
        }
      }
      REQUIRE(r.insert(id) == fresh);
      REQUIRE(r.size() == order.size());
      const TraceId probe = id_of((seed >> 20) % (step + 2));
      REQUIRE(r.contains(probe) == (model.count(probe) > 0));
    }
    for (const auto& id : order) CHECK(r.contains(id));
  }
}
