// The assembler: reported spans grouped by trace id. A trace waits a bounded
// time for late spans; then, if it holds an anomaly, its kept spans are
// pulled back from the keep-buffer (exact); its spans are linked to their
// parents (Linker), hops still missing are estimated (Estimator), and the
// whole trace goes out. Traces without an anomaly (function spans, warm-up,
// --no-filter) are linked and go out. Spans without a header trace id wait
// too when the kernel saw their causality: they are joined into one trace
// per request, under the root SERVER span's id (CausalJoin). Spans of a trace already sent go out
// at once, linked against the trace's spans while it is recent. Memory is
// bounded: at most max_traces traces and max_spans spans wait (the oldest
// trace leaves early when more come), and at most kMaxRecentTraces sent ones
// (and max_spans of their spans) are remembered for late spans, for at most
// kRecentWaits waits.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <span>
#include <vector>

#include "assembler/causal_join.h"
#include "assembler/estimator.h"
#include "assembler/link_span.h"
#include "assembler/linker.h"
#include "assembler/recent_ids.h"
#include "assembler/span_pool.h"
#include "assembler/trace_map.h"
#include "capture/span.h"

namespace difftrace::assembler {

struct AssemblerCounters {
  std::uint64_t traces_exported = 0;
  std::uint64_t traces_with_anomaly = 0;
  std::uint64_t spans_recovered_exact = 0;
  std::uint64_t spans_estimated = 0;
  std::uint64_t traces_sent_early = 0;  // the wait list was full (traces or spans)
  std::uint64_t late_spans = 0;         // arrived after their trace was sent
  std::uint64_t judged_anomalous = 0;   // warm-up spans found anomalous in user space
  std::uint64_t late_spans_linked = 0;  // late spans that found a parent in their sent trace
  std::uint64_t spans_past_trace_bound = 0;  // late spans of a trace at kMaxTraceSpans: not linked
  std::uint64_t causal_merges = 0;  // header-less groups joined into their caller's trace
};

class Assembler {
 public:
  // The kept spans of a trace (taken out of the keep-buffer), decoded.
  using Pull = std::function<std::vector<capture::Span>(const capture::Span& of_trace)>;
  // A span the kernel reported without judging its latency (its endpoint was
  // warming up) is judged against the profile as it is now: kJudged (and
  // marked anomalous if over), kJudgedNormal, or kNoProfileYet.
  enum class Judgement { kAnomalous, kNormal, kNoProfileYet };
  // The span waits in its packed form (its fields, and its texts to read).
  using Judge = std::function<Judgement(WaitingSpan& span)>;

  // A trace with spans not judged yet waits for their profile up to
  // kMaxHoldWaits times the wait.
  static constexpr int kMaxHoldWaits = 10;
  // A sent trace's spans stay linkable for late spans this many waits, at
  // most this many traces (copies of their spans: the memory bound).
  static constexpr int kRecentWaits = 10;
  // 4,096 traces remember kRecentWaits waits of up to 400 traces/s (the demo platform runs
  // 100); past that rate the window is shorter, as it was at 16,384 past 1,600 traces/s,
  // a quarter of the memory (copies of every span sent: ~12 MiB at 16,384 on nginx).
  static constexpr std::size_t kMaxRecentTraces = 4096;
  // Ids of sent traces (their late spans go out at once rather than wait as a new trace),
  // and the causal join's index entries (two to four a request): bounded on their own, not
  // by how many spans may wait. Under --no-filter on a busy
  // server (28,000 spans/s on nginx) these, sized by max_spans and max_traces, held most
  // of the tracer's memory: 262,144 ids and 524,288 join entries, now 65,536 each.
  static constexpr std::size_t kMaxSentIds = 65536;
  static constexpr std::size_t kMaxJoinEntries = 65536;
  // Linking is quadratic in a trace's spans, and one trace id on every
  // request (a load generator's fixed traceparent) would make one trace of
  // everything: a trace goes out once it holds this many spans, and its
  // later spans go out unlinked.
  static constexpr std::size_t kMaxTraceSpans = 1024;

  Assembler(std::uint64_t wait_ns, std::size_t max_traces, std::size_t max_spans, Pull pull,
            Estimator* estimator, std::function<capture::SpanId()> next_id, Judge judge = {});

  // Takes reported spans seen at now_ns; what is ready goes to out: spans that go out at
  // once, then traces whose wait is over as expire() sends them, up to max_out spans (true:
  // more are due; the caller exports out and calls expire()).
  bool add(std::vector<capture::Span>&& spans, std::uint64_t now_ns,
           std::vector<capture::Span>& out, std::size_t max_out = SIZE_MAX);
  // Sends the traces whose wait is over at now_ns (all of them if flush), whole traces
  // until out holds max_out spans or more; true when it stopped there, with more to send
  // (the caller exports out and calls again: its buffers stay the size of one batch).
  bool expire(std::uint64_t now_ns, std::vector<capture::Span>& out, bool flush = false,
              std::size_t max_out = SIZE_MAX);

  const AssemblerCounters& counters() const { return counters_; }
  const LinkerCounters& link_counters() const { return linker_.counters(); }
  std::size_t waiting() const { return open_.size(); }
  std::size_t waiting_spans() const { return open_spans_; }
  std::size_t recent_spans() const { return recent_spans_; }

 private:
  // A trace id as it is, 16 bytes (CausalJoin's keys too).
  using Key = capture::TraceId;
  using KeyHash = capture::TraceIdHash;
  struct Open {
    SpanPool::Chain spans;  // in pool_ (12 bytes: the flags below fill the 4 after it)
    bool anomaly = false;
    // A span whose trace id the kernel's filter knows (a header's, or the kernel's own) is
    // in it: an anomaly pulls its kept spans. A trace of spans with user-space ids alone
    // (joined by the kernel's causality) has none to pull.
    bool kernel_keyed = false;
    // Its kept spans were pulled when its first anomaly arrived (pull_now).
    bool pulled = false;
    // A span with a header trace id is in it: only such a trace waits for the profiles of
    // its warm-up spans (kMaxHoldWaits). One without headers goes out after the wait, as
    // before the kernel gave it an id; its warm-up spans are still judged when it does.
    bool from_header = false;
    std::uint64_t deadline_ns = 0;
    std::uint64_t first_ns = 0;
    // Other trace ids the kernel's filter knows its spans by (groups joined into it, whose
    // kernel ids differed): their kept spans are pulled too.
    std::vector<Key> also_kept_as;
  };
  // judged: its spans were just judged (judge_all), with the profiles as they are now.
  void send(const Key& key, Open&& t, std::uint64_t now_ns, std::vector<capture::Span>& out,
            bool judged = false);
  void send_late(const Key& key, capture::Span&& s, std::vector<capture::Span>& out);
  // Trace t (key) has just had an anomaly: its kept spans (the kernel's filter keeps them
  // under own), out of the keep-buffer now, to wait with it.
  void pull_now(Open& t, const Key& own, const Key& key);
  void merge_open(Open&& from, const Key& from_key, const Key& key, Open& into);
  static void note_kept_as(Open& t, const Key& own, const Key& key);
  void send_merged_late(Open&& from, const Key& key, std::vector<capture::Span>& out);
  // Judges the trace's unjudged spans; true when some still lack a profile.
  bool judge_all(Open& t);
  void remember_sent(const Key& key, std::span<const capture::Span> spans,
                     std::uint64_t now_ns);
  void forget_recent(std::uint64_t now_ns);
  void forget_oldest_recent();

  std::uint64_t wait_ns_;
  std::size_t max_traces_;
  std::size_t max_spans_;
  std::size_t open_spans_ = 0;    // spans in open_
  std::size_t recent_spans_ = 0;  // spans in recent_
  Pull pull_;
  Estimator* estimator_;
  std::function<capture::SpanId()> next_id_;
  Judge judge_;
  SpanPool pool_;  // the spans of open_'s traces
  TraceMap<Open> open_;
  std::deque<std::pair<std::uint64_t, Key>> by_deadline_;  // deadlines grow with arrival
  RecentIds sent_;  // the last min(4 x max_traces, kMaxSentIds) sent
  Linker linker_;
  CausalJoin join_;
  // Sent, for late spans: what the linker needs of each span (a third of a capture::Span).
  TraceMap<SentTrace> recent_;
  std::deque<std::pair<std::uint64_t, Key>> recent_order_;
  AssemblerCounters counters_;
  bool full_tracing_ = false;  // spans reported by --no-filter seen: estimate nothing
};

}  // namespace difftrace::assembler
