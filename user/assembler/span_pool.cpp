#include "assembler/span_pool.h"

namespace difftrace::assembler {

void SpanPool::append(Chain& chain, capture::Span&& span) {
  Index i;
  if (!free_.empty()) {
    i = free_.back();
    free_.pop_back();
  } else {
    i = static_cast<Index>(next_.size());
    if (i % kChunk == 0) chunks_.push_back(std::make_unique<WaitingSpan[]>(kChunk));
    next_.push_back(kNone);
  }
  at(i).pack(std::move(span));
  next_[i] = kNone;
  if (chain.last == kNone)
    chain.first = i;
  else
    next_[chain.last] = i;
  chain.last = i;
  chain.size++;
}

void SpanPool::splice(Chain& into, Chain& from) {
  if (from.first == kNone) return;
  if (into.last == kNone)
    into.first = from.first;
  else
    next_[into.last] = from.first;
  into.last = from.last;
  into.size += from.size;
  from = Chain{};
}

void SpanPool::take(Chain& chain, std::vector<capture::Span>& out) {
  for (Index i = chain.first; i != kNone;) {
    at(i).unpack_into(out.emplace_back());
    free_.push_back(i);
    i = next_[i];
  }
  chain = Chain{};
  if (free_.size() == next_.size() && chunks_.size() > 1) {  // nothing waits: let go
    chunks_ = std::vector<std::unique_ptr<WaitingSpan[]>>();
    next_ = std::vector<Index>();
    free_ = std::vector<Index>();
  }
}

}  // namespace difftrace::assembler
