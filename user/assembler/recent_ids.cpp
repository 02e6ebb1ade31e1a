#include "assembler/recent_ids.h"

#include <algorithm>

#include "assembler/trace_map.h"

namespace difftrace::assembler {

RecentIds::RecentIds(std::size_t capacity) : ring_(std::max<std::size_t>(capacity, 1)) {
  std::size_t n = 2;
  int bits = 1;
  while (n < 2 * ring_.size()) {
    n *= 2;
    bits++;
  }
  slots_.assign(n, 0);
  mask_ = n - 1;
  shift_ = 64 - bits;
}

// The id's hash, multiplied again and its top bits taken: a power-of-two table needs every
// bit of the hash to count (trace ids of one generator often differ only in a few bytes).
std::size_t RecentIds::home(const capture::TraceId& id) const {
  const std::uint64_t h = capture::TraceIdHash{}(id) * 0x9e3779b97f4a7c15ull;
  return static_cast<std::size_t>(h >> shift_);
}

std::size_t RecentIds::find(const capture::TraceId& id) const {
  std::size_t i = home(id);
  while (slots_[i] != 0 && !same_trace_id(ring_[slots_[i] - 1], id))
    i = (i + 1) & mask_;
  return i;
}

// Backward-shift deletion: the entries after the slot that probed past it move up, so
// every entry stays reachable from its home without tombstones.
void RecentIds::erase_slot(std::size_t hole) {
  for (std::size_t j = (hole + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
    const std::size_t k = home(ring_[slots_[j] - 1]);
    // Entry j may fill the hole unless its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
    if (stays) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole] = 0;
}

bool RecentIds::insert(const capture::TraceId& id) {
  std::size_t slot = find(id);
  if (slots_[slot] != 0) return false;
  std::size_t place;
  if (size_ == ring_.size()) {  // full: the oldest goes, its place is the new one's
    place = oldest_;
    erase_slot(find(ring_[place]));
    oldest_ = (oldest_ + 1) % ring_.size();
    slot = find(id);  // the deletion may have moved the empty slot
  } else {
    place = (oldest_ + size_) % ring_.size();
    size_++;
  }
  ring_[place] = id;
  slots_[slot] = static_cast<std::uint32_t>(place + 1);
  return true;
}

}  // namespace difftrace::assembler
