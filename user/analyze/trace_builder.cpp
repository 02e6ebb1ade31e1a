#include "analyze/trace_builder.h"

#include <utility>

namespace difftrace::analyze {

TraceBuilder::Pending* TraceBuilder::find_pending(const IdString& trace_id) {
  if (last_ && *last_id_ == trace_id) return last_;
  auto it = pending_.find(trace_id);
  if (it == pending_.end()) {
    if (done_.count(std::hash<IdString>{}(trace_id))) counters_.traces_split++;
    it = pending_.emplace(trace_id, Pending{}).first;
    it->second.spans.reserve(8);  // a platform request's hops, without regrowing
    order_.push_back(&it->first);
    it->second.order = std::prev(order_.end());
  } else {
    order_.splice(order_.end(), order_, it->second.order);  // most recently added now
  }
  last_id_ = &it->first;  // an element's address holds until it is erased
  last_ = &it->second;
  return last_;
}

void TraceBuilder::add(Span&& s) {
  if (s.end_ns > clock_) clock_ = s.end_ns;
  Pending& p = *find_pending(s.trace_id);
  p.last_clock = clock_;
  p.spans.push_back(std::move(s));
  spans_held_++;
  if (spans_held_ > counters_.max_spans_held) counters_.max_spans_held = spans_held_;

  while (!order_.empty()) {
    const Pending& oldest = pending_.at(*order_.front());
    if (oldest.last_clock + limits_.window_ns < clock_) {
      counters_.evicted_by_window++;
    } else if (pending_.size() > limits_.max_traces || spans_held_ > limits_.max_spans) {
      counters_.evicted_by_cap++;
    } else {
      break;
    }
    emit_front();
  }
}

void TraceBuilder::emit_front() {
  last_ = nullptr;
  last_id_ = nullptr;
  auto it = pending_.find(*order_.front());
  order_.pop_front();
  const std::size_t id_hash = std::hash<IdString>{}(it->first);
  std::vector<Span> spans = std::move(it->second.spans);
  pending_.erase(it);
  spans_held_ -= spans.size();
  counters_.traces++;
  if (done_.insert(id_hash).second) {
    done_order_.push_back(id_hash);
    if (done_order_.size() > limits_.max_traces) {
      done_.erase(done_order_.front());
      done_order_.pop_front();
    }
  }
  complete_(std::move(spans));
}

void TraceBuilder::finish() {
  while (!order_.empty()) emit_front();
}

}  // namespace difftrace::analyze
