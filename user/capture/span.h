// A span as difftrace exports it: one HTTP request/response exchange seen at
// one process, SERVER (the process answered it) or CLIENT (it sent it).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "capture/label.h"

namespace difftrace::capture {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

// Trace ids as hash-map keys, 16 bytes as they are: no string per key. Header ids may
// differ in a few bytes only (a load generator's counter), so both halves are mixed.
struct TraceIdHash {
  std::size_t operator()(const TraceId& id) const noexcept {
    std::uint64_t lo, hi;
    std::memcpy(&lo, id.data(), 8);
    std::memcpy(&hi, id.data() + 8, 8);
    std::uint64_t h = (lo ^ (hi * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
    return static_cast<std::size_t>(h ^ (h >> 31));
  }
};

enum class SpanKind { kServer, kClient };

// OpenTelemetry resource attributes besides service.name, process.pid and host.name
// (container.id, k8s.*), in the order they are exported.
using ResourceAttributes = std::vector<std::pair<std::string, std::string>>;

struct Endpoint {
  std::string address;
  std::uint16_t port = 0;
};

// A gRPC call carried by an HTTP/2 stream (OpenTelemetry RPC conventions).
struct Rpc {
  std::string service;  // rpc.service: the :path's "/package.Service/" part
  std::string method;   // rpc.method
  std::optional<int> grpc_status;  // rpc.grpc.status_code: trailers, or a trailers-only response
};

// A span's fields other than its texts: what the assembler's pool keeps as it is while the
// span waits, its texts packed apart (assembler/waiting_span.h). A field added here is kept
// there with no more code; a text (std::string) belongs in Span below, and in WaitingSpan.
struct SpanFields {
  TraceId trace_id{};
  SpanId span_id{};
  std::optional<SpanId> parent_span_id;  // set by the assembler's linker
  bool trace_from_header = false;  // trace id came from traceparent/B3 (or traceresponse)
  // No header: the kernel gave the trace id (inherited along the request's path, or minted
  // at its root: bpf/lib/trace_inherit.bpf.h), so its filter and keep-buffer know the trace
  // by it. The trace is the request's; the id is difftrace's.
  bool trace_from_kernel = false;
  // The span id the request's trace header named as parent: for a SERVER
  // span its caller's (or, forwarded unchanged, a caller's caller's), for a
  // CLIENT span the one the process put on its outgoing request.
  std::optional<SpanId> header_parent_id;
  // A SERVER span's own id as its response named it (traceresponse); a
  // proxy passes its upstream's on, so the linker decides who owns it.
  std::optional<SpanId> announced_span_id;
  SpanKind kind = SpanKind::kServer;
  int status = 0;  // 0: no response (next to kind: no padding after either)
  std::uint64_t start_unix_ns = 0;
  std::uint64_t end_unix_ns = 0;
  std::uint32_t pid = 0;
  std::uint32_t tid = 0;
  std::uint64_t request_bytes = 0;
  std::uint64_t response_bytes = 0;
  std::uint64_t conn_id = 0;
  // What the kernel saw of causality (bpf/lib/causality.bpf.h): this exchange's number on
  // its connection (conn_id, exch_seq name it); the TCP sequence number of the request's
  // first byte, the same at both ends of the connection; a CLIENT span's cause (enum
  // dt_cause), and when found, the SERVER exchange of its process that caused it.
  std::uint32_t exch_seq = 0;
  std::optional<std::uint32_t> req_seq;
  std::uint8_t cause = 0;
  std::uint64_t cause_conn_id = 0;
  std::uint32_t cause_exch = 0;
  std::uint8_t flags = 0;       // dt_span_flags
  std::uint8_t end_reason = 0;  // dt_span_end
  std::uint16_t service_id = 0;  // the kernel filter's service (0: none matched)
  // The filter's verdict (ARCHITECTURE.md): decision is anomalous | reported | kept |
  // estimated | full; reason why it was reported (latency | status | reset | timeout |
  // flagged_trace | function | warmup | degraded | no_filter), empty when kept; the latency
  // threshold it was judged against, 0 when none was known.
  Label decision = "full";
  Label reason;
  std::uint64_t threshold_ns = 0;
  // For an estimated span (assembler/estimator.h): how it was placed
  // (difftrace.estimate.method: around_child | before_child | inside_parent |
  // after_parent), from how many learned calls (difftrace.estimate.samples), and, when
  // its length is the endpoint profile's median, that profile's spans
  // (difftrace.estimate.profile_samples; 0 otherwise).
  Label estimate_method;
  std::uint64_t estimate_samples = 0;
  std::uint64_t estimate_profile_samples = 0;
  int http_version = 1;          // 2: HTTP/2 (network.protocol.version), else HTTP/1.x
  // HPACK fields of its header blocks indexed into a table built before the capture or the
  // tracer started: counted, never guessed (difftrace.hpack.unresolved_fields).
  std::uint32_t unresolved_fields = 0;
  // gRPC; shared and never changed once set: most spans have none, and an optional<Rpc>
  // made every span (moved three times, waiting a second in the assembler) 64 bytes larger.
  std::shared_ptr<const Rpc> rpc;
  // Bytes of its connection were lost by the capture while it was open, between frames it did
  // not need (difftrace.capture_gap).
  bool capture_gap = false;
  // Set by the pipeline's enrichers (k8s/), shared by the spans of one process or container;
  // null when there are none.
  std::shared_ptr<const ResourceAttributes> resource;

  bool is_anomalous() const { return decision == "anomalous"; }
  bool is_estimated() const { return decision == "estimated"; }

  std::uint64_t duration_ns() const {
    return end_unix_ns > start_unix_ns ? end_unix_ns - start_unix_ns : 0;
  }
  // OpenTelemetry HTTP conventions: 5xx is an error for both kinds, 4xx only
  // for clients; no response at all is an error too. A gRPC call is an error when its status
  // is not OK, whatever the HTTP status.
  bool is_error() const {
    if (rpc_error() || stream_reset()) return true;
    return status == 0 || status >= 500 || (kind == SpanKind::kClient && status >= 400);
  }
  bool rpc_error() const { return rpc && rpc->grpc_status && *rpc->grpc_status != 0; }
  // An HTTP/2 stream reset (RST_STREAM) before its response ended (difftrace.http2.reset):
  // a cancelled call, a refused or failed stream. The value is capture.h's DT_END_RESET.
  static constexpr std::uint8_t kEndReset = 3;
  bool stream_reset() const { return http_version == 2 && end_reason == kEndReset; }
  // Why is_error(), as the exporters' status message says it: "grpc-status 14",
  // "stream reset", "HTTP 503", "no response".
  std::string error_text() const;
};

struct Span : SpanFields {
  std::string method;
  // The request target as captured (first 127 bytes), path and query, until the pipeline
  // splits it for export (capture/request_target.h): then url.path, without the query.
  std::string path;
  std::string query;          // url.query (no '?'), values redacted unless the config keeps them
  std::string path_template;  // url.template: the endpoint's template (/item/{n})
  std::string comm;
  std::string service_name;
  Endpoint local;
  Endpoint peer;

  const Endpoint& server() const { return kind == SpanKind::kServer ? local : peer; }
  const Endpoint& client() const { return kind == SpanKind::kServer ? peer : local; }
};

// Lowercase hex of n bytes into out (2 * n chars, no NUL), as ids are written.
void hex_into(char* out, const std::uint8_t* bytes, std::size_t n);
std::string to_hex(const std::uint8_t* bytes, std::size_t n);
template <std::size_t N>
std::string to_hex(const std::array<std::uint8_t, N>& a) {
  return to_hex(a.data(), N);
}

}  // namespace difftrace::capture
