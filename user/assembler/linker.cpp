#include "assembler/linker.h"

#include <algorithm>

#include "assembler/link_span.h"
#include "capture.h"

namespace difftrace::assembler {
namespace {

using capture::SpanKind;

template <typename S>
bool overlap(const S& a, const S& b) {
  return a.start_unix_ns <= b.end_unix_ns && b.start_unix_ns <= a.end_unix_ns;
}

// outer holds inner in time.
template <typename S>
bool holds(const S& outer, const S& inner) {
  return outer.start_unix_ns <= inner.start_unix_ns && inner.end_unix_ns <= outer.end_unix_ns;
}

// The two ends of one connection: the server's peer is the client's own end. The server
// end is not compared: DNAT on the way (a Kubernetes ClusterIP, kube-proxy) rewrites it, so
// the client may have dialled another address and port than the server answered on. A
// client end is one socket at a time, and the caller must also be in the same trace and
// hold the server's span in time (overlap), so another client is not taken for it.
template <typename S>
bool mirrored(const S& client, const S& server) {
  return client.local.port == server.peer.port && client.local.address == server.peer.address;
}

// The same request byte at both ends of one connection: the kernel's TCP sequence number.
template <typename S>
bool same_request_byte(const S& client, const S& server) {
  return client.req_seq && server.req_seq && *client.req_seq == *server.req_seq &&
         mirrored(client, server);
}

// The SERVER span of trace that the kernel named as c's cause, if it is there.
template <typename S>
const S* kernel_cause(std::span<S> trace, const S& c) {
  if (c.cause != DT_CAUSE_FOUND) return nullptr;
  for (const S& s : trace)
    if (s.kind == SpanKind::kServer && !s.is_estimated() && s.pid == c.pid &&
        s.conn_id == c.cause_conn_id && s.exch_seq == c.cause_exch)
      return &s;
  return nullptr;
}

template <typename S>
bool same_target(const S& a, const S& b) { return a.method == b.method && a.path == b.path; }

template <typename S>
bool owns_announced_id(const S& s) {
  return s.announced_span_id && *s.announced_span_id == s.span_id;
}

// The one span of pool that every other holds in time, strictly narrower.
template <typename S>
const S* innermost(const std::vector<const S*>& pool) {
  const S* best = nullptr;
  for (const S* s : pool)
    if (!best || s->duration_ns() < best->duration_ns()) best = s;
  for (const S* s : pool) {
    if (s == best) continue;
    if (!holds(*s, *best) || s->duration_ns() == best->duration_ns()) return nullptr;
  }
  return best;
}

template <typename S, typename Keep>
std::vector<const S*> narrowed(const std::vector<const S*>& pool, Keep keep) {
  std::vector<const S*> out;
  for (const S* s : pool)
    if (keep(*s)) out.push_back(s);
  return out;
}

}  // namespace

const Linker::ProcessHabits* Linker::habits(std::uint32_t pid) const {
  auto it = habits_.find(pid);
  return it == habits_.end() ? nullptr : &it->second;
}

Linker::ProcessHabits& Linker::habits_of(std::uint32_t pid) {
  auto it = habits_.find(pid);
  if (it == habits_.end()) {
    if (habits_.size() >= kMaxProcesses) habits_.clear();  // bounded; relearned
    it = habits_.emplace(pid, ProcessHabits{}).first;
  }
  return it->second;
}

template <typename S>
void Linker::learn(const S& client, const S& server) {
  auto& h = habits_of(client.pid);
  (client.tid == server.tid ? h.same_thread : h.other_thread)++;
  (same_target(client, server) ? h.same_target : h.other_target)++;
}

template <typename S>
void Linker::note_served(const S& s) {
  auto& h = habits_of(s.pid);
  if (h.shares_threads) return;
  for (const auto& r : h.recent)
    if (r.end && r.tid == s.tid && r.start < s.end_unix_ns && s.start_unix_ns < r.end &&
        !(r.start == s.start_unix_ns && r.end == s.end_unix_ns))
      h.shares_threads = true;
  h.recent[h.next++ % h.recent.size()] = {s.tid, s.start_unix_ns, s.end_unix_ns};
}

template <typename S>
void Linker::adopt_announced_ids(std::span<S> trace, std::size_t first) {
  for (std::size_t i = first; i < trace.size(); i++) {
    S& s = trace[i];
    if (s.kind != SpanKind::kServer || !s.announced_span_id || s.is_estimated()) continue;
    const capture::SpanId id = *s.announced_span_id;
    bool owner = true;
    for (std::size_t j = 0; j < trace.size() && owner; j++) {
      if (j == i) continue;
      const S& o = trace[j];
      if (o.span_id == id) owner = false;  // taken (by an earlier owner)
      // Another span announcing it that s does not sit inside: s passed it on.
      if (o.kind == SpanKind::kServer && o.announced_span_id == id &&
          (!holds(o, s) || o.duration_ns() == s.duration_ns()))
        owner = false;
    }
    if (owner) s.span_id = id;
  }
}

template <typename S>
std::optional<capture::SpanId> Linker::server_parent(std::span<S> trace,
                                                     std::size_t i) {
  const S& s = trace[i];
  const S* caller = nullptr;
  int callers = 0;
  for (std::size_t j = 0; j < trace.size(); j++) {
    const S& c = trace[j];
    if (j != i && c.kind == SpanKind::kClient && !c.is_estimated() && same_request_byte(c, s)) {
      caller = &c;
      callers++;
    }
  }
  if (callers == 1) {
    counters_.parents_by_seq++;
    return caller->span_id;
  }
  caller = nullptr;
  callers = 0;
  for (std::size_t j = 0; j < trace.size(); j++) {
    const S& c = trace[j];
    if (j == i || c.kind != SpanKind::kClient || c.is_estimated()) continue;
    // Both ends' sequence numbers, and not the same: another connection whose client end
    // has the same address and port (one host gives one ephemeral port to connections to
    // different servers at once).
    if (c.req_seq && s.req_seq) continue;
    if (mirrored(c, s) && overlap(c, s)) {
      caller = &c;
      callers++;
    }
  }
  if (callers == 1) {
    counters_.parents_by_connection++;
    return caller->span_id;
  }
  if (callers > 1) {
    counters_.left_ambiguous++;
    return std::nullopt;
  }
  // The caller is traced but its CLIENT span is not in the trace.
  if ((s.flags & DT_SPAN_F_PEER_TRACED) || !s.header_parent_id) {
    counters_.left_unlinked++;
    return std::nullopt;
  }
  // A span that had the same header before this one: it was forwarded
  // unchanged, and names a caller's caller.
  for (std::size_t j = 0; j < trace.size(); j++) {
    const S& o = trace[j];
    if (j != i && o.header_parent_id == s.header_parent_id &&
        o.start_unix_ns < s.start_unix_ns) {
      counters_.left_unlinked++;
      return std::nullopt;
    }
  }
  counters_.parents_by_header++;
  return s.header_parent_id;
}

// A CLIENT span's parent: the traceresponse rule (headers), then the kernel's cause, then
// (traces with headers only) the process's SERVER spans by time, thread and target.
template <typename S>
std::optional<capture::SpanId> Linker::client_parent(std::span<S> trace,
                                                     std::size_t i) {
  const S& c = trace[i];
  std::vector<const S*> servers;
  for (std::size_t j = 0; j < trace.size(); j++) {
    const S& s = trace[j];
    if (j != i && s.kind == SpanKind::kServer && !s.is_estimated() && s.pid == c.pid)
      servers.push_back(&s);
  }
  // The outgoing header names a span the process announced as its own,
  // unless a request it was serving then came with that header: then it
  // only forwarded it.
  bool forwarded = false;
  for (const S* s : servers)
    forwarded |= c.header_parent_id && s->header_parent_id == c.header_parent_id && holds(*s, c);
  if (c.header_parent_id && !forwarded)
    for (const S* s : servers)
      if (owns_announced_id(*s) && s->span_id == *c.header_parent_id) {
        const S* cause = kernel_cause(trace, c);
        if (cause && cause != s) counters_.cause_disagreements++;  // the header's stands
        counters_.parents_by_response++;
        return s->span_id;
      }

  if (const S* cause = kernel_cause(trace, c)) {
    counters_.parents_by_cause++;
    return cause->span_id;
  }
  if (!c.trace_from_header) {
    // No header tells which request this trace is: nothing but the kernel decides.
    (c.cause == DT_CAUSE_AMBIGUOUS ? counters_.left_ambiguous : counters_.left_unlinked)++;
    return std::nullopt;
  }
  std::vector<const S*> pool = narrowed(servers, [&](const S& s) { return holds(s, c); });
  if (pool.empty()) {
    counters_.left_unlinked++;
    return std::nullopt;
  }
  // What the process was learned to do before this span (a lone candidate
  // teaches, but must not unteach what would exclude it).
  const ProcessHabits* h = habits(c.pid);
  const bool by_thread = h && h->thread_per_request();
  const bool by_target = h && h->forwards_target();
  if (pool.size() == 1) learn(c, *pool[0]);
  if (by_thread) pool = narrowed(pool, [&](const S& s) { return s.tid == c.tid; });
  if (by_target) pool = narrowed(pool, [&](const S& s) { return same_target(s, c); });
  if (pool.size() > 1) {
    auto same = narrowed(pool, [&](const S& s) { return same_target(s, c); });
    if (!same.empty()) pool = std::move(same);
  }
  const S* parent = nullptr;
  if (pool.size() == 1)
    parent = pool[0];
  else if (pool.size() > 1)
    parent = innermost(pool);
  if (!parent) {
    (pool.empty() ? counters_.left_unlinked : counters_.left_ambiguous)++;
    return std::nullopt;
  }
  counters_.parents_in_process++;
  return parent->span_id;
}

template <typename S>
void Linker::link(std::span<S> trace, std::size_t first) {
  adopt_announced_ids(trace, first);
  for (std::size_t i = first; i < trace.size(); i++)
    if (trace[i].kind == SpanKind::kServer && !trace[i].is_estimated()) note_served(trace[i]);
  for (std::size_t i = first; i < trace.size(); i++) {
    if (trace[i].is_estimated()) continue;
    trace[i].parent_span_id =
        trace[i].kind == SpanKind::kServer ? server_parent(trace, i) : client_parent(trace, i);
  }
}

template void Linker::link(std::span<capture::Span>, std::size_t);
template void Linker::link(std::span<LinkSpan>, std::size_t);

}  // namespace difftrace::assembler
