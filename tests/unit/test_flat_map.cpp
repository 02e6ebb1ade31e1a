// assembler::FlatMap (a dense vector behind an open-addressing index, backward-shift
// deletion) on 32-byte keys as CausalJoin's index: keys placed on chosen home slots so that
// runs cross the table's end, growth with every entry still found, and a long random walk
// against std::map with a hash of few values (long runs, many of them wrapping around).
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "assembler/flat_map.h"

using difftrace::assembler::FlatMap;

namespace {

struct Key32 {  // CausalJoin::IndexKey's size
  std::uint64_t id = 0, home = 0, pad0 = 0, pad1 = 0;
  bool operator<(const Key32& o) const { return std::tie(id, home) < std::tie(o.id, o.home); }
};
struct Same {
  bool operator()(const Key32& a, const Key32& b) const { return a.id == b.id && a.home == b.home; }
};

// FlatMap's home slot is the high bits of hash * the golden ratio: a hash of
// (home << 60) / golden (mod 2^64) puts the key on slot `home` of a 16-slot table (and on
// 2 * home of a 32-slot one, ...).
constexpr std::uint64_t inverse(std::uint64_t a) {
  std::uint64_t x = a;  // Newton's iteration: right in 3, 6, 12, 24, 48, 96 bits
  for (int i = 0; i < 5; i++) x *= 2 - a * x;
  return x;
}
constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ull;
static_assert(inverse(kGolden) * kGolden == 1);
struct HomeHash {
  std::size_t operator()(const Key32& k) const { return (k.home << 60) * inverse(kGolden); }
};
// Keys on only 8 hash values: runs of many keys.
struct FewHash {
  std::size_t operator()(const Key32& k) const { return (k.id % 8) * 0x2545f4914f6cdd1dull; }
};

Key32 key(std::uint64_t id, std::uint64_t home) { return Key32{id, home, 0, 0}; }

}  // namespace

TEST_CASE("flat map: erasing shifts a run back across the table's end", "[assembler]") {
  FlatMap<Key32, std::vector<int>, HomeHash, Same> m;
  // 16 slots up to 7 entries: homes 14, 14, 15, 15, 0 fill slots 14, 15, 0, 1, 2.
  const std::vector<Key32> keys = {key(1, 14), key(2, 14), key(3, 15), key(4, 15), key(5, 0)};
  for (std::size_t i = 0; i < keys.size(); i++) {
    auto [v, made] = m.try_emplace(keys[i]);
    REQUIRE(made);
    v->push_back(static_cast<int>(i));
  }
  CHECK_FALSE(m.try_emplace(keys[2]).second);
  CHECK(m.find(key(6, 14)) == nullptr);  // a miss walks the whole run, across the end
  CHECK(m.find(key(6, 1)) == nullptr);

  // Out goes the run's first: each of the others must move back one slot to stay found,
  // the ones past the end moving to before it.
  std::vector<int> out;
  REQUIRE(m.take(keys[0], out));
  CHECK(out == std::vector<int>{0});
  CHECK(m.find(keys[0]) == nullptr);
  for (std::size_t i = 1; i < keys.size(); i++) {
    REQUIRE(m.find(keys[i]) != nullptr);
    CHECK(*m.find(keys[i]) == std::vector<int>{static_cast<int>(i)});
  }
  CHECK(m.size() == 4);
}

TEST_CASE("flat map: an entry at its home stays, one past the end moves back over it",
          "[assembler]") {
  FlatMap<Key32, int, HomeHash, Same> m;
  // A (home 15) on slot 15, B (home 0) on 0, C (home 15) on 1.
  *m.try_emplace(key(1, 15)).first = 1;
  *m.try_emplace(key(2, 0)).first = 2;
  *m.try_emplace(key(3, 15)).first = 3;
  REQUIRE(m.erase(key(1, 15)));  // B stays on its home, C comes back to 15
  CHECK(m.find(key(1, 15)) == nullptr);
  REQUIRE(m.find(key(2, 0)) != nullptr);
  CHECK(*m.find(key(2, 0)) == 2);
  REQUIRE(m.find(key(3, 15)) != nullptr);
  CHECK(*m.find(key(3, 15)) == 3);
  CHECK_FALSE(m.erase(key(1, 15)));
  // The slot C left is free again: a key homed on 1 is made there, and all are found.
  *m.try_emplace(key(4, 1)).first = 4;
  REQUIRE(m.erase(key(2, 0)));  // the key homed on 1 stays there
  CHECK(*m.find(key(3, 15)) == 3);
  CHECK(*m.find(key(4, 1)) == 4);
  CHECK(m.find(key(2, 0)) == nullptr);
  CHECK(m.size() == 2);
}

TEST_CASE("flat map: grows past its slots with every entry kept, and shrinks back",
          "[assembler]") {
  FlatMap<Key32, std::uint64_t, HomeHash, Same> m;
  // Homes crowd the table's end at every size: the runs wrap at each growth.
  for (std::uint64_t i = 0; i < 5000; i++) {
    auto [v, made] = m.try_emplace(key(i, 15 - i % 3));
    REQUIRE(made);
    *v = i * 3;
    if (i % 97 == 0)
      for (std::uint64_t j = 0; j <= i; j += 13) REQUIRE(*m.find(key(j, 15 - j % 3)) == j * 3);
  }
  CHECK(m.size() == 5000);
  for (std::uint64_t i = 0; i < 5000; i += 2) REQUIRE(m.erase(key(i, 15 - i % 3)));
  for (std::uint64_t i = 0; i < 4990; i++) {
    auto* v = m.find(key(i, 15 - i % 3));
    REQUIRE((v != nullptr) == (i % 2 == 1));
    if (v) REQUIRE(*v == i * 3);
    if (i % 2 == 1) REQUIRE(m.erase(key(i, 15 - i % 3)));
  }
  CHECK(m.size() == 5);
  for (std::uint64_t i = 4991; i < 5000; i += 2) CHECK(*m.find(key(i, 15 - i % 3)) == i * 3);
}

TEST_CASE("flat map: finds, makes and takes as a std::map, on few hash values",
          "[assembler]") {
  FlatMap<Key32, std::vector<std::uint64_t>, FewHash, Same> m;
  std::map<Key32, std::vector<std::uint64_t>> model;
  std::uint64_t seed = 3;
  for (int step = 0; step < 60000; step++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    const bool growing = (step / 10000) % 2 == 0;  // up to ~300 entries, down, up again
    const Key32 k = key((seed >> 33) % 400, 0);
    if ((seed >> 20) % 3 != 0 ? growing : !growing) {
      auto [v, made] = m.try_emplace(k);
      REQUIRE(made == (model.count(k) == 0));
      v->push_back(static_cast<std::uint64_t>(step));
      model[k].push_back(static_cast<std::uint64_t>(step));
    } else {
      std::vector<std::uint64_t> got;
      const auto it = model.find(k);
      REQUIRE(m.take(k, got) == (it != model.end()));
      if (it != model.end()) {
        REQUIRE(got == it->second);
        model.erase(it);
      }
    }
    REQUIRE(m.size() == model.size());
    const Key32 probe = key((seed >> 40) % 400, 0);
    const auto* found = m.find(probe);
    REQUIRE((found != nullptr) == (model.count(probe) > 0));
    if (found) REQUIRE(*found == model[probe]);
  }
  for (const auto& [k, v] : model) CHECK(*m.find(k) == v);
}
