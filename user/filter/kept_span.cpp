#include "filter/kept_span.h"

#include <algorithm>
#include <cstring>

namespace difftrace::filter {

static_assert(sizeof(dt_tuple) == sizeof(dt_kept_span::tuple));

dt_span_event event_of(const dt_kept_span& k, const dt_trace_key& trace) {
  dt_span_event e{};
  e.start_ns = k.start_ns;
  e.end_ns = k.end_ns;
  e.req_bytes = k.req_bytes;
  e.resp_bytes = k.resp_bytes;
  e.cause_conn_id = k.cause_conn_id;
  e.cause_exch = k.cause_exch;
  e.exch_seq = k.exch_seq;
  e.req_seq = k.req_seq;
  e.cause = k.cause;
  e.protocol = k.protocol;
  e.grpc_status = k.grpc_status;
  e.conn_id = k.conn_id;
  e.pid = k.pid;
  e.tid = k.tid;
  e.status = k.status;
  e.kind = k.kind;
  e.method = k.method;
  e.flags = k.flags;
  e.end_reason = k.end_reason;
  e.path_len = k.path_len;
  e.ctx_kind = k.ctx_kind;
  e.path_unresolved = k.path_unresolved;
  e.decision = DT_DECIDE_KEEP;
  e.reason = DT_REASON_NONE;
  e.service = k.service;
  std::memcpy(&e.tuple, k.tuple, sizeof e.tuple);
  std::memcpy(e.trace_id, trace.id, sizeof e.trace_id);
  std::memcpy(e.parent_id, k.parent_id, sizeof e.parent_id);
  std::memcpy(e.trace_flags, k.trace_flags, sizeof e.trace_flags);
  std::memcpy(e.resp_span_id, k.resp_span_id, sizeof e.resp_span_id);
  std::memcpy(e.comm, k.comm, sizeof e.comm);
  std::memcpy(e.path, k.path, sizeof k.path);
  return e;
}

std::vector<dt_kept_span> written_spans(const dt_kept_trace& kept, std::uint8_t keep_spans) {
  const std::uint32_t n = std::min<std::uint32_t>(
      kept.count, std::min<std::uint32_t>(keep_spans, DT_KEEP_SPANS));
  return std::vector<dt_kept_span>(kept.spans, kept.spans + n);
}

}  // namespace difftrace::filter
