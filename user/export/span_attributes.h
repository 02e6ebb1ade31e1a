// A span's OTLP attributes, in order: the one list that the OTLP JSON and the
// OTLP protobuf encodings both write (OpenTelemetry HTTP conventions plus
// difftrace's own). str(key, string) and num(key, uint64) write one each.
#pragma once

#include <cstdint>

#include "capture/span.h"

namespace difftrace::exporters {

template <typename Str, typename Num>
void for_each_otlp_attribute(const capture::Span& s, Str&& str, Num&& num) {
  if (s.http_version == 2) {
    str("network.protocol.name", std::string("http"));
    str("network.protocol.version", std::string("2"));
  }
  str("http.request.method", s.method);
  str("url.path", s.path);
  if (!s.query.empty()) str("url.query", s.query);
  if (!s.path_template.empty()) str("url.template", s.path_template);
  if (s.status) num("http.response.status_code", static_cast<std::uint64_t>(s.status));
  str("server.address", s.server().address);
  num("server.port", s.server().port);
  str("client.address", s.client().address);
  num("client.port", s.client().port);
  num("thread.id", s.tid);
  // Whole messages as they crossed the socket, headers included.
  num("http.request.size", s.request_bytes);
  num("http.response.size", s.response_bytes);
  if (s.rpc) {
    str("rpc.system", std::string("grpc"));
    if (!s.rpc->service.empty()) str("rpc.service", s.rpc->service);
    if (!s.rpc->method.empty()) str("rpc.method", s.rpc->method);
    if (s.rpc->grpc_status)
      num("rpc.grpc.status_code", static_cast<std::uint64_t>(*s.rpc->grpc_status));
  }
  if (s.unresolved_fields) num("difftrace.hpack.unresolved_fields", s.unresolved_fields);
  if (s.capture_gap) str("difftrace.capture_gap", std::string("true"));
  if (s.stream_reset()) str("difftrace.http2.reset", std::string("true"));
  // The request carried no trace header: the trace is its, the id difftrace's kernel gave.
  if (s.trace_from_kernel) str("difftrace.trace_id.origin", std::string("kernel"));
  str("difftrace.decision", s.decision);
  if (!s.reason.empty()) str("difftrace.reason", s.reason);
  if (s.threshold_ns) num("difftrace.threshold_ns", s.threshold_ns);
  if (!s.estimate_method.empty()) {
    str("difftrace.estimate.method", s.estimate_method);
    num("difftrace.estimate.samples", s.estimate_samples);
    if (s.estimate_profile_samples)
      num("difftrace.estimate.profile_samples", s.estimate_profile_samples);
  }
}

}  // namespace difftrace::exporters
