// The spans waiting in the assembler, in one pool: each trace a chain of slots (first,
// last, next), so a span is packed once into its slot (assembler/waiting_span.h: 384 bytes,
// its texts in one buffer) and expanded once into the export batch. A vector per trace grew
// 1, 2, 4, 8 (about one more move per span of a 600-byte span with 13 strings) and was an
// allocation per trace. Slots are reused through a free list and the pool is let go once
// nothing waits (after a burst, the memory goes back).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "assembler/waiting_span.h"
#include "capture/span.h"

namespace difftrace::assembler {

class SpanPool {
 public:
  using Index = std::uint32_t;
  static constexpr Index kNone = UINT32_MAX;
  // One trace's spans, in the order they came.
  struct Chain {
    Index first = kNone;
    Index last = kNone;
    std::uint32_t size = 0;
  };

  void append(Chain& chain, capture::Span&& span);
  // from's spans after into's, in their order; from is left empty.
  void splice(Chain& into, Chain& from);
  // Expands the chain's spans into out, in their order; the chain is left empty.
  void take(Chain& chain, std::vector<capture::Span>& out);

  template <typename F>
  void for_each(const Chain& chain, F&& f) {
    for (Index i = chain.first; i != kNone; i = next_[i]) f(at(i));
  }
  std::size_t in_use() const { return next_.size() - free_.size(); }

 private:
  // Slots in chunks of kChunk: growing moves no span.
  static constexpr std::size_t kChunk = 64;
  WaitingSpan& at(Index i) { return chunks_[i / kChunk][i % kChunk]; }

  std::vector<std::unique_ptr<WaitingSpan[]>> chunks_;
  std::vector<Index> next_;  // per slot made: the chain's next slot, kNone at its end
  std::vector<Index> free_;
};

}  // namespace difftrace::assembler
