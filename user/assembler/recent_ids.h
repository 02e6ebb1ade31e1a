// The last `capacity` distinct trace ids inserted, oldest forgotten first: the ids of sent
// traces, whose late spans go out at once. One ring of ids and an open-addressing index
// into it (linear probing, 4-byte slots, twice the capacity), both allocated once: 24
// bytes an id where an std::unordered_set and a deque of the same ids took ~70 and a cache
// miss per node. Every trace sent inserts, every new trace asks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "capture/span.h"

namespace difftrace::assembler {

class RecentIds {
 public:
  explicit RecentIds(std::size_t capacity);

  bool contains(const capture::TraceId& id) const { return slots_[find(id)] != 0; }
  // Adds id unless it is there (then false); the oldest id goes when capacity are there.
  bool insert(const capture::TraceId& id);
  std::size_t size() const { return size_; }

 private:
  std::size_t home(const capture::TraceId& id) const;
  // The slot holding id, or the empty slot where it would go.
  std::size_t find(const capture::TraceId& id) const;
  void erase_slot(std::size_t slot);

  std::vector<capture::TraceId> ring_;
  std::vector<std::uint32_t> slots_;  // 0: empty, else 1 + the id's place in ring_
  std::size_t mask_ = 0;
  int shift_ = 0;
  std::size_t oldest_ = 0, size_ = 0;
};

}  // namespace difftrace::assembler
