#include "analyze/trace_builder.h"

#include <utility>

namespace difftrace::analyze {
namespace {

// A slot's spans past this many are given back when the trace goes out (a huge trace does
// not keep its memory in the pool).
constexpr std::size_t kKeptCapacity = 64;

}  // namespace

void TraceBuilder::unlink(std::uint32_t slot) {
  Pending& p = slots_[slot];
  (p.prev == kNone ? head_ : slots_[p.prev].next) = p.next;
  (p.next == kNone ? tail_ : slots_[p.next].prev) = p.prev;
  p.prev = p.next = kNone;
}

void TraceBuilder::link_last(std::uint32_t slot) {
  Pending& p = slots_[slot];
  p.prev = tail_;
  p.next = kNone;
  (tail_ == kNone ? head_ : slots_[tail_].next) = slot;
  tail_ = slot;
}

bool TraceBuilder::recently_done(std::uint64_t hash) const {
  return done_.find(hash, [](std::uint32_t) { return true; }) != kNone;
}

void TraceBuilder::remember_done(std::uint64_t hash) {
  if (recently_done(hash) || limits_.max_traces == 0) return;
  if (done_ring_.size() < limits_.max_traces) {
    done_.insert(hash, static_cast<std::uint32_t>(done_ring_.size()));
    done_ring_.push_back(hash);
    return;
  }
  // Full: the oldest goes.
  const auto pos = static_cast<std::uint32_t>(done_next_);
  done_.erase(done_ring_[pos], pos);
  done_ring_[pos] = hash;
  done_.insert(hash, pos);
  done_next_ = (done_next_ + 1) % done_ring_.size();
}

std::uint32_t TraceBuilder::find_or_add(const IdString& trace_id) {
  if (last_ != kNone && slots_[last_].id == trace_id) return last_;
  const std::uint64_t hash = trace_id.hash();
  std::uint32_t slot =
      pending_.find(hash, [&](std::uint32_t s) { return slots_[s].id == trace_id; });
  if (slot == kNone) {
    if (recently_done(hash)) counters_.traces_split++;
    if (free_.empty()) {
      slot = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
      slots_.back().spans.reserve(8);  // a platform request's hops, without regrowing
    } else {
      slot = free_.back();
      free_.pop_back();
    }
    Pending& p = slots_[slot];
    p.id = trace_id;
    p.hash = hash;
    pending_.insert(hash, slot);
    traces_held_++;
    link_last(slot);
  } else if (slot != tail_) {
    unlink(slot);  // most recently added now
    link_last(slot);
  }
  last_ = slot;
  return slot;
}

void TraceBuilder::add(Span&& s) {
  if (s.end_ns > clock_) clock_ = s.end_ns;
  Pending& p = slots_[find_or_add(s.trace_id)];
  p.last_clock = clock_;
  p.spans.push_back(std::move(s));
  spans_held_++;
  if (spans_held_ > counters_.max_spans_held) counters_.max_spans_held = spans_held_;

  while (head_ != kNone) {
    const Pending& oldest = slots_[head_];
    if (oldest.last_clock + limits_.window_ns < clock_) {
      counters_.evicted_by_window++;
    } else if (traces_held_ > limits_.max_traces || spans_held_ > limits_.max_spans) {
      counters_.evicted_by_cap++;
    } else {
      break;
    }
    emit_front();
  }
}

void TraceBuilder::emit_front() {
  last_ = kNone;
  const std::uint32_t slot = head_;
  unlink(slot);
  Pending& p = slots_[slot];
  pending_.erase(p.hash, slot);
  traces_held_--;
  spans_held_ -= p.spans.size();
  counters_.traces++;
  remember_done(p.hash);
  // The callee may take the spans; when it does not, the slot keeps their memory.
  complete_(std::move(p.spans));
  if (p.spans.capacity() > kKeptCapacity) std::vector<Span>().swap(p.spans);
  p.spans.clear();
  free_.push_back(slot);
}

void TraceBuilder::finish() {
  while (head_ != kNone) emit_front();
}

}  // namespace difftrace::analyze
