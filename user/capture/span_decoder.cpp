#include "capture/span_decoder.h"

#include "protocols/http1/message.h"  // method names
#include "protocols/http2/stream.h"  // H2_END_RESET

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include "capture/trace_context.h"

namespace difftrace::capture {

static_assert(sizeof(dt_span_event) % 8 == 0, "ring buffer records are 8-byte aligned");
static_assert(offsetof(dt_span_event, tuple) % 8 == 0);
static_assert(sizeof(dt_trace_ctx) == 56);
static_assert(capture::Span::kEndReset == DT_END_RESET && H2_END_RESET == DT_END_RESET);

const char* method_name(int method) {
  switch (method) {
    case HTTP_METHOD_GET: return "GET";
    case HTTP_METHOD_POST: return "POST";
    case HTTP_METHOD_PUT: return "PUT";
    case HTTP_METHOD_DELETE: return "DELETE";
    case HTTP_METHOD_HEAD: return "HEAD";
    case HTTP_METHOD_PATCH: return "PATCH";
    case HTTP_METHOD_OPTIONS: return "OPTIONS";
    case HTTP_METHOD_CONNECT: return "CONNECT";
    case HTTP_METHOD_TRACE: return "TRACE";
    default: return "UNKNOWN";
  }
}

int method_number(std::string_view name) {
  // The names as views made once: comparing with method_name(m)'s C strings measured each
  // (strlen) at every call, ~78 instructions a span looked up (the profiles, at judging).
  static const auto names = [] {
    std::array<std::string_view, 16> n{};
    for (int m = 1; m < 16; m++) n[m] = method_name(m);
    return n;
  }();
  for (int m = 1; m < 16; m++)
    if (name.size() == names[m].size() && name == names[m]) return m;
  return HTTP_METHOD_NONE;
}

const char* reason_name(int reason) {
  switch (reason) {
    case DT_REASON_NO_FILTER: return "no_filter";
    case DT_REASON_RESET: return "reset";
    case DT_REASON_TIMEOUT: return "timeout";
    case DT_REASON_STATUS: return "status";
    case DT_REASON_LATENCY: return "latency";
    case DT_REASON_FLAGGED_TRACE: return "flagged_trace";
    case DT_REASON_FUNCTION: return "function";
    case DT_REASON_WARMUP: return "warmup";
    case DT_REASON_DEGRADED: return "degraded";
    case DT_REASON_UNRESOLVED: return "unresolved";
    default: return "";
  }
}

const char* decision_name(int decision, int reason) {
  if (decision == DT_DECIDE_KEEP) return "kept";
  if (dt_reason_is_anomaly(static_cast<__u8>(reason))) return "anomalous";
  // No filter ran (reason none) or it was told not to: full tracing.
  if (reason == DT_REASON_NO_FILTER || reason == DT_REASON_NONE) return "full";
  return "reported";
}

std::string address_text(int family, const std::uint8_t (&addr)[16]) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET) {
    inet_ntop(AF_INET, addr, buf, sizeof buf);
  } else {
    // IPv4-mapped IPv6 (::ffff:a.b.c.d) reads better as IPv4.
    static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(addr, mapped, 12) == 0)
      inet_ntop(AF_INET, addr + 12, buf, sizeof buf);
    else
      inet_ntop(AF_INET6, addr, buf, sizeof buf);
  }
  return buf;
}

std::size_t SpanDecoder::AddressKeyHash::operator()(const AddressKey& k) const noexcept {
  TraceId bytes;
  std::memcpy(bytes.data(), k.data(), bytes.size());
  return TraceIdHash{}(bytes) ^ k[16];
}

const std::string& SpanDecoder::address_of(int family, const std::uint8_t (&addr)[16],
                                           int side) {
  AddressKey key;
  std::memcpy(key.data(), addr, 16);
  key[16] = static_cast<std::uint8_t>(family);
  LastAddress& last = last_address_[side];
  if (last.text) {
    std::uint64_t a[2], b[2];
    std::memcpy(a, key.data(), 16);
    std::memcpy(b, last.key.data(), 16);
    if (((a[0] ^ b[0]) | (a[1] ^ b[1])) == 0 && key[16] == last.key[16]) return *last.text;
  }
  auto it = address_cache_.find(key);
  if (it == address_cache_.end()) {
    if (address_cache_.size() >= 4096) {  // bounded
      address_cache_.clear();
      last_address_[0] = last_address_[1] = LastAddress{};
    }
    it = address_cache_.emplace(key, address_text(family, addr)).first;
  }
  last = {key, &it->second};
  return it->second;
}

SpanId SpanDecoder::new_span_id() {
  SpanId id{};
  do {
    std::uint64_t v = rng_();
    std::memcpy(id.data(), &v, id.size());
  } while (id == SpanId{});
  return id;
}

TraceId SpanDecoder::new_trace_id() {
  TraceId id{};
  do {
    for (std::size_t i = 0; i < id.size(); i += 8) {
      std::uint64_t v = rng_();
      std::memcpy(id.data() + i, &v, 8);
    }
  } while (id == TraceId{});
  return id;
}

Span SpanDecoder::decode(const dt_span_event& ev) {
  Span s;
  decode(ev, s);
  return s;
}

void SpanDecoder::decode(const dt_span_event& ev, Span& s) {
  s.kind = ev.kind == DT_SPAN_CLIENT ? SpanKind::kClient : SpanKind::kServer;
  s.method = method_name(ev.method);
  s.path.assign(ev.path, strnlen(ev.path, std::min<std::size_t>(ev.path_len, DT_TARGET_MAX - 1)));
  s.status = ev.status;
  s.start_unix_ns = clock_.from_monotonic(ev.start_ns);
  s.end_unix_ns = clock_.from_monotonic(ev.end_ns);
  s.pid = ev.pid;
  s.tid = ev.tid;
  s.comm.assign(ev.comm, strnlen(ev.comm, sizeof ev.comm));
  s.service_name = s.comm;
  // Assigned in place: the span's strings keep what they hold, no temporary Endpoint.
  s.local.address = address_of(ev.tuple.family, ev.tuple.local_addr, 0);
  s.local.port = ev.tuple.local_port;
  s.peer.address = address_of(ev.tuple.family, ev.tuple.peer_addr, 1);
  s.peer.port = ev.tuple.peer_port;
  s.request_bytes = ev.req_bytes;
  s.response_bytes = ev.resp_bytes;
  s.conn_id = ev.conn_id;
  s.exch_seq = ev.exch_seq;
  if (ev.flags & DT_SPAN_F_SEQ) s.req_seq = ev.req_seq;
  s.cause = ev.cause;
  // Every span's process is looked at (once per pid), so that the kernel learns of a Go
  // process at its first span, not at its first cause.
  bool go_cause_dropped = false;
  if (go_.is_go(ev.pid) && ev.cause == DT_CAUSE_FOUND && !ev.go_cause) {
    // Goroutines move between threads: the thread's open request is no cause (a cause found
    // by goroutine, bpf/lib/go_causality.bpf.h, is).
    s.cause = DT_CAUSE_UNKNOWN;
    go_causes_dropped_++;
    go_cause_dropped = true;
  }
  if (s.cause == DT_CAUSE_FOUND) {
    s.cause_conn_id = ev.cause_conn_id;
    s.cause_exch = ev.cause_exch;
  }
  s.flags = ev.flags;
  s.end_reason = ev.end_reason;
  s.span_id = new_span_id();
  s.decision = Label::of_static(decision_name(ev.decision, ev.reason));
  s.reason = Label::of_static(reason_name(ev.reason));
  s.threshold_ns = std::uint64_t{ev.threshold_us} * 1000;
  s.service_id = ev.service;

  auto ctx = decode_trace_context(ev.ctx_kind, ev.trace_id, ev.parent_id, ev.trace_flags);
  if (ev.ctx_kind != DT_CTX_NONE && !ctx) invalid_ctx_++;
  if (ctx && ev.ctx_kind == DT_CTX_KERNEL && go_cause_dropped) {
    // The kernel took it from the cause dropped above (before it knew the process).
    go_traces_renewed_++;
    s.trace_id = new_trace_id();
  } else if (ctx && ev.ctx_kind == DT_CTX_KERNEL) {
    // The request had no trace header: the kernel's id (bpf/lib/trace_inherit.bpf.h), no
    // parent named by anyone.
    s.trace_id = ctx->trace_id;
    s.trace_from_kernel = true;
  } else if (ctx) {
    s.trace_id = ctx->trace_id;
    s.trace_from_header = true;
    // Parents are the linker's (assembler/linker.h): the header's parent id
    // is the caller's span only when nothing forwarded it unchanged.
    s.header_parent_id = ctx->parent_id;
  } else {
    s.trace_id = new_trace_id();
  }
  if (ev.flags & DT_SPAN_F_RESP_SPAN_ID) s.announced_span_id = decode_span_id(ev.resp_span_id);
}

}  // namespace difftrace::capture
