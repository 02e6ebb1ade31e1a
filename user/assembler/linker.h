// Parent links inside one trace, from what the wire shows. A parent is
// correct or absent, never a guess between candidates:
//
//   SERVER span: the CLIENT span on the other end of its connection (the
//     server's peer is the client's own end, times overlap; the server end
//     may differ, rewritten by DNAT). Without one in the trace: absent when the
//     kernel saw that its caller is traced (DT_SPAN_F_PEER_TRACED: that
//     CLIENT span exists, it is just not here) or when another span of the
//     trace carried the same header parent earlier (the header was
//     forwarded unchanged, so it names a caller's caller); otherwise the
//     header's parent, the caller outside (the root hop).
//   CLIENT span: the SERVER span of its own process it was sent for:
//     - the one whose own id (its traceresponse) the outgoing header names
//       as parent: exact, and the only link for a request sent after the
//       answer (an async invocation);
//     - else the SERVER spans of the process that hold it in time, narrowed
//       by what tells them apart: the same thread where the process serves
//       each request on one thread (learned), the same method and target
//       where the process forwards them (a proxy, learned), the innermost
//       window when the windows nest; still more than one: absent.
//
// Before those, what the kernel saw (bpf/lib/causality.bpf.h), exact where it is there:
//   SERVER span: the CLIENT span with its client end and the same TCP sequence number of
//     the request's first byte (one byte of one connection: NAT and pools cannot fool it);
//   CLIENT span: the SERVER exchange the kernel named as its cause. Never over a link from
//     the headers (the traceresponse rule): where the two differ, the header's stands and
//     the disagreement is counted. A CLIENT span the kernel found ambiguous gets no parent
//     in a trace without headers: the time, thread and target rules are for traces whose
//     headers already tell the spans' request.
//
// A SERVER span's announced id (traceresponse) becomes its span id when it
// owns it: a proxy passes its upstream's traceresponse back unchanged, so of
// the spans announcing one id the innermost owns it.
// Estimated spans are linked by the estimator, from its learned edges.
#pragma once

#include <cstddef>
#include <array>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "capture/span.h"

namespace difftrace::assembler {

struct LinkerCounters {
  std::uint64_t parents_by_connection = 0;  // SERVER <- CLIENT over one connection
  std::uint64_t parents_by_header = 0;      // root SERVER spans: the caller outside
  std::uint64_t parents_by_response = 0;    // CLIENT <- SERVER whose traceresponse it names
  std::uint64_t parents_in_process = 0;     // CLIENT <- SERVER by thread, target and time
  std::uint64_t parents_by_seq = 0;         // SERVER <- CLIENT: same client end and TCP seq
  std::uint64_t parents_by_cause = 0;       // CLIENT <- SERVER the kernel named as its cause
  std::uint64_t cause_disagreements = 0;    // kernel cause != the header-based parent
  std::uint64_t left_ambiguous = 0;         // several candidates: no parent
  std::uint64_t left_unlinked = 0;          // no candidate (caller not in the trace, ...)
};

class Linker {
 public:
  // What is learned of a process, from CLIENT spans with one candidate.
  struct ProcessHabits {
    std::uint32_t same_thread = 0, other_thread = 0;
    std::uint32_t same_target = 0, other_target = 0;
    // Two requests served at once with the same thread reading them: an
    // event loop or goroutines, not a thread per request.
    bool shares_threads = false;
    struct Served {
      std::uint32_t tid = 0;
      std::uint64_t start = 0, end = 0;
    };
    std::array<Served, 8> recent{};  // its latest SERVER spans
    std::size_t next = 0;
    // Serves each request on one thread (Python's ThreadingHTTPServer, a
    // thread pool): its CLIENT spans run on their SERVER span's thread,
    // always, and never two requests at once on one thread. A Go server's
    // goroutines mostly stay on their thread too (at low load for dozens of
    // requests in a row), so one miss tells it is not, as does one thread
    // reading two requests served at once.
    bool thread_per_request() const {
      return !shares_threads && same_thread >= kThreadSamples && other_thread == 0;
    }
    // Forwards requests as they came (method and target): a proxy.
    bool forwards_target() const { return decided(same_target, other_target); }

   private:
    // At least kMinSamples, at most 1 in 20 otherwise (a lost SERVER span
    // makes a lone wrong candidate now and then).
    static bool decided(std::uint32_t yes, std::uint32_t no) {
      return yes >= kMinSamples && no * 20 <= yes;
    }
  };
  static constexpr std::uint32_t kMinSamples = 16;
  // Believing a server thread-per-request costs a link for each CLIENT span
  // on another thread until one shows it: ask for many first.
  static constexpr std::uint32_t kThreadSamples = 64;

  // Sets the parents of trace[first..] (and adopts their announced ids).
  // Spans before first went out already: they can be parents, nothing of
  // theirs changes. Estimated spans are left as the estimator made them.
  // S: capture::Span, or the LinkSpan of a span sent already (assembler/link_span.h).
  // The trace is any run of spans in one vector: the assembler links a trace where it
  // sits in the export batch (assembler.cpp), the late spans' LinkSpans in their own.
  template <typename S>
  void link(std::span<S> trace, std::size_t first = 0);
  template <typename S>
  void link(std::vector<S>& trace, std::size_t first = 0) {
    link(std::span<S>(trace), first);
  }

  const LinkerCounters& counters() const { return counters_; }
  const ProcessHabits* habits(std::uint32_t pid) const;

 private:
  template <typename S>
  void adopt_announced_ids(std::span<S> trace, std::size_t first);
  template <typename S>
  std::optional<capture::SpanId> server_parent(std::span<S> trace, std::size_t i);
  template <typename S>
  std::optional<capture::SpanId> client_parent(std::span<S> trace, std::size_t i);
  template <typename S>
  void learn(const S& client, const S& server);
  template <typename S>
  void note_served(const S& server);
  ProcessHabits& habits_of(std::uint32_t pid);

  std::unordered_map<std::uint32_t, ProcessHabits> habits_;
  static constexpr std::size_t kMaxProcesses = 4096;
  LinkerCounters counters_;
};

}  // namespace difftrace::assembler
