#include "assembler/assembler.h"

#include <algorithm>
#include <cstring>

namespace difftrace::assembler {
Assembler::Assembler(std::uint64_t wait_ns, std::size_t max_traces, std::size_t max_spans,
                     Pull pull, Estimator* estimator, std::function<capture::SpanId()> next_id,
                     Judge judge)
    : wait_ns_(wait_ns),
      max_traces_(std::max<std::size_t>(max_traces, 1)),
      max_spans_(std::max<std::size_t>(max_spans, 1)),
      pull_(std::move(pull)),
      estimator_(estimator),
      next_id_(std::move(next_id)),
      judge_(std::move(judge)),
      sent_(std::min(4 * max_traces_, kMaxSentIds)),
      join_(kRecentWaits * wait_ns, std::min(8 * max_spans_, kMaxJoinEntries)) {}

bool Assembler::judge_all(Open& t) {
  if (!judge_) return false;
  bool pending = false;
  pool_.for_each(t.spans, [&](WaitingSpan& s) {
    // Views: their == compares sizes first (a string's == with a literal: strlen, memcmp).
    if (s.decision == std::string_view("anomalous") || s.threshold_ns ||
        s.reason == std::string_view("flagged_trace"))
      return;
    switch (judge_(s)) {
      case Judgement::kAnomalous:
        counters_.judged_anomalous++;
        t.anomaly = true;
        break;
      case Judgement::kNoProfileYet: pending = true; break;
      case Judgement::kNormal: break;
    }
  });
  return pending;
}

bool Assembler::add(std::vector<capture::Span>&& spans, std::uint64_t now_ns,
                    std::vector<capture::Span>& out, std::size_t max_out) {
  for (auto& s : spans) {
    // Under --no-filter every span is reported: nothing is missing to be
    // estimated (a hop that answered an error itself did not call the next).
    full_tracing_ |= s.reason == std::string_view("no_filter");
    // A span whose trace id was made up here has no trace to wait for,
    // unless the kernel saw what it is part of (assembler/causal_join.h).
    std::vector<Key> merged;
    Key key = s.trace_id;
    const Key own = key;
    const bool kernel_keyed = s.trace_from_header || s.trace_from_kernel;
    if (CausalJoin::joinable(s)) {
      auto j = join_.join(s, key, now_ns, s.trace_from_header);
      key = j.key;
      merged = std::move(j.merged);
      s.trace_id = key;
    } else if (!kernel_keyed) {
      out.push_back(std::move(s));
      continue;
    }
    // The groups the join merged into this one, out of open_ first (a trace taken out of
    // open_ moves another's entry: the trace's own is looked up after).
    std::vector<std::pair<Key, Open>> groups;
    for (const Key& m : merged) {
      Open g;
      if (m != key && open_.take(m, g)) groups.emplace_back(m, std::move(g));
    }
    // A trace waiting was not sent (send() takes it out of open_ first): most spans find
    // theirs there, one lookup.
    Open* t = open_.find(key);
    if (!t) {
      if (sent_.contains(key)) {
        for (auto& [m, g] : groups) send_merged_late(std::move(g), key, out);
        send_late(key, std::move(s), out);
        continue;
      }
      t = open_.try_emplace(key).first;
      t->first_ns = now_ns;
      t->deadline_ns = now_ns + wait_ns_;
      by_deadline_.emplace_back(t->deadline_ns, key);
    }
    for (auto& [m, g] : groups) merge_open(std::move(g), m, key, *t);
    const bool anomalous = s.decision == std::string_view("anomalous");  // sizes first
    t->anomaly |= anomalous;
    t->kernel_keyed |= kernel_keyed;
    t->from_header |= s.trace_from_header;
    if (s.trace_from_kernel) note_kept_as(*t, own, key);
    pool_.append(t->spans, std::move(s));
    open_spans_++;
    if (anomalous && kernel_keyed && !t->pulled) pull_now(*t, own, key);
    if (t->spans.size >= kMaxTraceSpans) {
      // Its by_deadline_ entry stays behind: expire() skips it (or, if the id
      // comes back once sent_ has forgotten it, sends that new trace early).
      counters_.traces_sent_early++;
      Open full;
      open_.take(key, full);
      open_spans_ -= full.spans.size;
      send(key, std::move(full), now_ns, out);
    }
  }
  // Over a bound: the oldest traces go out before their time.
  while ((open_.size() > max_traces_ || open_spans_ > max_spans_) && !by_deadline_.empty()) {
    const Key key = by_deadline_.front().second;
    by_deadline_.pop_front();
    Open t;
    if (!open_.take(key, t)) continue;
    counters_.traces_sent_early++;
    open_spans_ -= t.spans.size;
    send(key, std::move(t), now_ns, out);
  }
  return expire(now_ns, out, false, max_out);
}

// Group from joins the open trace into, key (assembler/causal_join.h): its spans take
// that trace's id, and it waits no longer than the earlier of the two.
// (The group was taken out of open_: its by_deadline_ entry stays behind, expire() skips it.)
void Assembler::merge_open(Open&& from, const Key& from_key, const Key& key, Open& into) {
  counters_.causal_merges++;
  into.anomaly |= from.anomaly;
  into.kernel_keyed |= from.kernel_keyed;
  into.from_header |= from.from_header;
  if (from.kernel_keyed) note_kept_as(into, from_key, key);
  for (const Key& k : from.also_kept_as) note_kept_as(into, k, key);
  into.first_ns = std::min(into.first_ns, from.first_ns);
  pool_.for_each(from.spans, [&](WaitingSpan& s) { s.trace_id = key; });
  pool_.splice(into.spans, from.spans);
}

// Trace t (key) holds spans the kernel's filter knows by trace id own: their kept spans are
// pulled with its own.
void Assembler::note_kept_as(Open& t, const Key& own, const Key& key) {
  if (own != key && std::find(t.also_kept_as.begin(), t.also_kept_as.end(), own) ==
                        t.also_kept_as.end())
    t.also_kept_as.push_back(own);
}

// Group from joins trace key, which went out already: its spans follow late.
void Assembler::send_merged_late(Open&& from, const Key& key, std::vector<capture::Span>& out) {
  open_spans_ -= from.spans.size;
  std::vector<capture::Span> spans;
  pool_.take(from.spans, spans);
  for (auto& s : spans) {
    s.trace_id = key;
    send_late(key, std::move(s), out);
  }
}

bool Assembler::expire(std::uint64_t now_ns, std::vector<capture::Span>& out, bool flush,
                       std::size_t max_out) {
  while (!by_deadline_.empty() && (flush || by_deadline_.front().first <= now_ns)) {
    if (out.size() >= max_out) return true;
    const Key key = by_deadline_.front().second;
    by_deadline_.pop_front();
    Open* waiting = open_.find(key);
    if (!waiting) continue;
    // Spans still unjudged for want of a profile: wait for it, a while.
    const bool judged = !flush && waiting->from_header;
    if (judged && judge_all(*waiting) && now_ns < waiting->first_ns + kMaxHoldWaits * wait_ns_) {
      waiting->deadline_ns = now_ns + wait_ns_;
      by_deadline_.emplace_back(waiting->deadline_ns, key);
      continue;
    }
    Open t;
    open_.take(key, t);
    open_spans_ -= t.spans.size;
    send(key, std::move(t), now_ns, out, judged);
  }
  forget_recent(now_ns);
  return false;
}

void Assembler::send(const Key& key, Open&& t, std::uint64_t now_ns,
                     std::vector<capture::Span>& out, bool judged) {
  // Judged just now (expire): the profiles have not changed since, nor would the verdicts.
  if (!judged) judge_all(t);
  counters_.traces_exported++;
  // The trace is linked, completed and remembered where it goes out: out[first..].
  const std::size_t first = out.size();
  pool_.take(t.spans, out);
  auto trace = [&] { return std::span<capture::Span>(out).subspan(first); };
  if (t.anomaly) {
    counters_.traces_with_anomaly++;
    if (pull_) {
      capture::Span of = out[first];
      const std::size_t before = out.size();
      for (auto& k : pull_(of)) out.push_back(std::move(k));
      // Groups joined into it under other kernel ids: theirs too, under its id now.
      for (const Key& other : t.also_kept_as) {
        of.trace_id = other;
        for (auto& k : pull_(of)) {
          k.trace_id = key;
          out.push_back(std::move(k));
        }
      }
      counters_.spans_recovered_exact += out.size() - before;
    }
  }
  linker_.link(trace());
  if (t.anomaly && estimator_ && !full_tracing_) {
    auto est = estimator_->estimate(trace(), next_id_);
    counters_.spans_estimated += est.size();
    for (auto& e : est) out.push_back(std::move(e));
  }
  // Learn the call graph from traces that likely hold all their hops: with
  // an anomaly (kept spans recovered), under --no-filter, or warming up. A
  // trace of function spans alone had its platform spans kept away. Under full tracing
  // nothing is ever estimated (above): learning would be work for nothing, a copy of every
  // span into the estimator's exemplars.
  if (estimator_ && !full_tracing_) {
    bool whole = t.anomaly;
    for (const auto& s : trace())
      whole |= s.decision == std::string_view("full") || s.reason == std::string_view("warmup");
    if (whole) estimator_->learn(trace());
  }
  remember_sent(key, trace(), now_ns);
}

// The keep-buffer is a direct-mapped table (include/filter_maps.h): any later trace whose id
// falls on the same slot takes it, so a kept trace is safe only for a while (at 2,800 traces/s
// over 8,192 slots, 29% of them are taken within the second a trace waits here). Its kept
// spans are pulled when the anomaly arrives: the kernel has flagged the trace by then, and its
// later spans are reported, not kept. send() pulls again for any kept while the flag was set.
void Assembler::pull_now(Open& t, const Key& own, const Key& key) {
  t.pulled = true;
  if (!pull_) return;
  capture::Span of;
  of.trace_id = own;
  for (auto& k : pull_(of)) {
    k.trace_id = key;
    pool_.append(t.spans, std::move(k));
    open_spans_++;
    counters_.spans_recovered_exact++;
  }
}

void Assembler::send_late(const Key& key, capture::Span&& s, std::vector<capture::Span>& out) {
  counters_.late_spans++;
  auto* sent = recent_.find(key);
  if (!sent) {
    // Too late to link: without its trace nothing tells a root hop (whose
    // header names its parent) from a forwarded header. No parent.
    s.parent_span_id.reset();
    out.push_back(std::move(s));
    return;
  }
  if (sent->size() >= kMaxTraceSpans) {
    counters_.spans_past_trace_bound++;
    s.parent_span_id.reset();
    out.push_back(std::move(s));
    return;
  }
  sent->add(s);
  recent_spans_++;
  auto& spans = sent->spans();
  linker_.link(spans, spans.size() - 1);
  // What the linker set: its parent, and its own id if it owns the one it announced.
  s.span_id = spans.back().span_id;
  s.parent_span_id = spans.back().parent_span_id;
  if (s.parent_span_id) counters_.late_spans_linked++;
  out.push_back(std::move(s));
}

void Assembler::remember_sent(const Key& key, std::span<const capture::Span> spans,
                              std::uint64_t now_ns) {
  sent_.insert(key);
  auto [linkable, fresh] = recent_.try_emplace(key);
  linkable->add(spans);
  recent_spans_ += spans.size();
  if (fresh) recent_order_.emplace_back(now_ns, key);
  while ((recent_.size() > std::min(max_traces_, kMaxRecentTraces) ||
          recent_spans_ > max_spans_) &&
         !recent_order_.empty())
    forget_oldest_recent();
}

void Assembler::forget_oldest_recent() {
  SentTrace gone;
  if (recent_.take(recent_order_.front().second, gone)) recent_spans_ -= gone.size();
  recent_order_.pop_front();
}

void Assembler::forget_recent(std::uint64_t now_ns) {
  const std::uint64_t keep_ns = kRecentWaits * wait_ns_;
  while (!recent_order_.empty() && recent_order_.front().first + keep_ns < now_ns)
    forget_oldest_recent();
}

}  // namespace difftrace::assembler
