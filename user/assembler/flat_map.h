// A hash map for the assembler's hot tables (traces by id, CausalJoin's index): the entries
// in one dense vector, found through an open-addressing index of 8-byte slots (linear
// probing, backward-shift deletion, as RecentIds). An std::unordered_map took a node and a
// cache miss per entry, and an allocation and a free for every entry that came and went:
// ~5% of the tracer's CPU under --no-filter for the traces, and most of CausalJoin's cost
// on nginx's one-span traces (see causal_join.h). Erasing moves the last entry into the
// hole, and growing moves them all: a pointer from find() or try_emplace() holds only until
// the next try_emplace() or erase(). Hash gives a well-mixed 64-bit value (the high bits of
// its product by the golden ratio pick the home slot); Eq compares two keys.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace difftrace::assembler {

template <typename K, typename V, typename Hash, typename Eq>
class FlatMap {
 public:
  using Key = K;

  V* find(const Key& key) {
    if (slots_.empty()) return nullptr;
    const std::uint32_t s = slots_[slot_of(key)].at;
    return s ? &entries_[s - 1].second : nullptr;
  }
  bool contains(const Key& key) { return find(key) != nullptr; }

  // The entry of key, made (V{}) if there was none; true when made.
  std::pair<V*, bool> try_emplace(const Key& key) {
    if (2 * (entries_.size() + 1) > slots_.size())
      rehash(std::max<std::size_t>(16, 2 * slots_.size()));
    const std::uint32_t tag = tag_of(key);
    const std::size_t slot = slot_of(key, tag);
    if (slots_[slot].at) return {&entries_[slots_[slot].at - 1].second, false};
    entries_.emplace_back(key, V{});
    slots_[slot] = {static_cast<std::uint32_t>(entries_.size()), tag};
    return {&entries_.back().second, true};
  }

  // Takes key's entry out (its value moved into out); false when there was none.
  bool take(const Key& key, V& out) {
    if (slots_.empty()) return false;
    const std::size_t slot = slot_of(key);
    if (!slots_[slot].at) return false;
    const std::size_t at = slots_[slot].at - 1;
    out = std::move(entries_[at].second);
    erase_slot(slot);
    if (at + 1 != entries_.size()) {  // the last entry fills the hole
      slots_[slot_of(entries_.back().first)].at = static_cast<std::uint32_t>(at + 1);
      entries_[at] = std::move(entries_.back());
    }
    entries_.pop_back();
    // After a burst, the memory goes back (a table 8 times too large shrinks by 4).
    if (slots_.size() > 64 && 16 * entries_.size() < slots_.size()) {
      rehash(slots_.size() / 4);
      entries_.shrink_to_fit();
    }
    return true;
  }
  bool erase(const Key& key) {
    V gone;
    return take(key, gone);
  }

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  // A slot: its entry, and the high half of the key's hash times the golden ratio (whose
  // high bits are the home slot). Probes read an entry only where the tags are alike, and
  // erasing finds where the run's entries belong from the tags alone: an entry read is a
  // cache miss when the entry is old, as every one CausalJoin forgets is.
  struct Slot {
    std::uint32_t at = 0;  // 0: empty, else 1 + the entry's place in entries_
    std::uint32_t tag = 0;
  };
  static std::uint32_t tag_of(const Key& key) {
    return static_cast<std::uint32_t>((Hash{}(key) * 0x9e3779b97f4a7c15ull) >> 32);
  }
  std::size_t home(std::uint32_t tag) const {  // at most 2^32 slots: shift_ >= 32
    return static_cast<std::size_t>(std::uint64_t{tag} >> (shift_ - 32));
  }
  // The slot holding key, or the empty one where it would go.
  std::size_t slot_of(const Key& key) const { return slot_of(key, tag_of(key)); }
  std::size_t slot_of(const Key& key, std::uint32_t tag) const {
    std::size_t i = home(tag);
    while (slots_[i].at &&
           !(slots_[i].tag == tag && Eq{}(entries_[slots_[i].at - 1].first, key)))
      i = (i + 1) & mask_;
    return i;
  }
  void erase_slot(std::size_t hole) {
    for (std::size_t j = (hole + 1) & mask_; slots_[j].at; j = (j + 1) & mask_) {
      const std::size_t k = home(slots_[j].tag);
      const bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
      if (stays) continue;
      slots_[hole] = slots_[j];
      hole = j;
    }
    slots_[hole] = Slot{};
  }
  void rehash(std::size_t n) {  // n: a power of two
    int bits = 0;
    while ((std::size_t{1} << bits) < n) bits++;
    std::vector<Slot> old(std::size_t{1} << bits);
    slots_.swap(old);
    mask_ = slots_.size() - 1;
    shift_ = 64 - bits;
    for (const Slot& s : old) {
      if (!s.at) continue;
      std::size_t i = home(s.tag);
      while (slots_[i].at) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<std::pair<Key, V>> entries_;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  int shift_ = 64;
};

}  // namespace difftrace::assembler
