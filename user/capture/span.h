// A span as difftrace exports it: one HTTP request/response exchange seen at
// one process, SERVER (the process answered it) or CLIENT (it sent it).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace difftrace::capture {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

enum class SpanKind { kServer, kClient };

// OpenTelemetry resource attributes besides service.name, process.pid and host.name
// (container.id, k8s.*), in the order they are exported.
using ResourceAttributes = std::vector<std::pair<std::string, std::string>>;

struct Endpoint {
  std::string address;
  std::uint16_t port = 0;
};

struct Span {
  TraceId trace_id{};
  SpanId span_id{};
  std::optional<SpanId> parent_span_id;  // set by the assembler's linker
  bool trace_from_header = false;  // trace id came from traceparent/B3 (or traceresponse)
  // The span id the request's trace header named as parent: for a SERVER
  // span its caller's (or, forwarded unchanged, a caller's caller's), for a
  // CLIENT span the one the process put on its outgoing request.
  std::optional<SpanId> header_parent_id;
  // A SERVER span's own id as its response named it (traceresponse); a
  // proxy passes its upstream's on, so the linker decides who owns it.
  std::optional<SpanId> announced_span_id;
  SpanKind kind = SpanKind::kServer;
  std::string method;
  // The request target as captured (first 127 bytes), path and query, until the pipeline
  // splits it for export (capture/request_target.h): then url.path, without the query.
  std::string path;
  std::string query;          // url.query (no '?'), values redacted unless the config keeps them
  std::string path_template;  // url.template: the endpoint's template (/item/{n})
  int status = 0;  // 0: no response
  std::uint64_t start_unix_ns = 0;
  std::uint64_t end_unix_ns = 0;
  std::uint32_t pid = 0;
  std::uint32_t tid = 0;
  std::string comm;
  std::string service_name;
  Endpoint local;
  Endpoint peer;
  std::uint64_t request_bytes = 0;
  std::uint64_t response_bytes = 0;
  std::uint64_t conn_id = 0;
  std::uint8_t flags = 0;       // dt_span_flags
  std::uint8_t end_reason = 0;  // dt_span_end
  // The filter's verdict (ARCHITECTURE.md): decision is anomalous | reported | kept |
  // estimated | full; reason why it was reported (latency | status | reset | timeout |
  // flagged_trace | function | warmup | degraded | no_filter), empty when kept; the latency
  // threshold it was judged against, 0 when none was known.
  std::string decision = "full";
  std::string reason;
  std::uint64_t threshold_ns = 0;
  std::uint16_t service_id = 0;  // the kernel filter's service (0: none matched)
  // Set by the pipeline's enrichers (k8s/), shared by the spans of one process or container;
  // null when there are none.
  std::shared_ptr<const ResourceAttributes> resource;

  bool is_anomalous() const { return decision == "anomalous"; }
  bool is_estimated() const { return decision == "estimated"; }

  std::uint64_t duration_ns() const {
    return end_unix_ns > start_unix_ns ? end_unix_ns - start_unix_ns : 0;
  }
  // OpenTelemetry HTTP conventions: 5xx is an error for both kinds, 4xx only
  // for clients; no response at all is an error too.
  bool is_error() const {
    return status == 0 || status >= 500 || (kind == SpanKind::kClient && status >= 400);
  }
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
