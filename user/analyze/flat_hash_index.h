// An open-addressing index from 64-bit hashes to small numbers (slots of a
// pool, positions of a ring), for analyze's trace builder: one flat array
// probed linearly, no node allocated per entry, no key re-hashed on growth
// (std::unordered_map allocated a node per trace and compared whole ids down
// its chains: a tenth of analyze's run). Several entries may share a hash:
// find() asks the caller which of them it wants. Erased entries leave no
// tombstone (the entries after them shift back).
#pragma once

#include <cstdint>
#include <vector>

namespace difftrace::analyze {

class FlatHashIndex {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  std::size_t size() const { return size_; }

  void insert(std::uint64_t hash, std::uint32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    insert_unchecked(key_of(hash), value);
    size_++;
  }

  // The value of the first entry with this hash that match(value) accepts; kNone when none.
  template <typename Match>
  std::uint32_t find(std::uint64_t hash, Match match) const {
    if (slots_.empty()) return kNone;
    const std::uint64_t key = key_of(hash);
    for (std::size_t i = key & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == 0) return kNone;
      if (s.key == key && match(s.value)) return s.value;
    }
  }

  // Removes the entry (hash, value); nothing when there is none.
  void erase(std::uint64_t hash, std::uint32_t value) {
    if (slots_.empty()) return;
    const std::uint64_t key = key_of(hash);
    std::size_t i = key & mask_;
    for (;; i = (i + 1) & mask_) {
      if (slots_[i].key == 0) return;
      if (slots_[i].key == key && slots_[i].value == value) break;
    }
    // Backward shift: each later entry of the run moves into the hole when its home is not
    // between the hole and itself.
    for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (slots_[j].key == 0) break;
      const std::size_t home = slots_[j].key & mask_;
      if (((j - home) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
    size_--;
  }

 private:
  struct Slot {
    std::uint64_t key = 0;  // 0: empty
    std::uint32_t value = 0;
  };
  // 0 marks an empty slot: the one hash that maps to it shares a key with 1 (find's match
  // tells such entries apart).
  static std::uint64_t key_of(std::uint64_t hash) { return hash ? hash : 1; }
  void insert_unchecked(std::uint64_t key, std::uint32_t value) {
    std::size_t i = key & mask_;
    while (slots_[i].key != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{key, value};
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old)
      if (s.key) insert_unchecked(s.key, s.value);
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace difftrace::analyze
