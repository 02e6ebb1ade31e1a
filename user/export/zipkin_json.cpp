#include "export/zipkin_json.h"

#include <arpa/inet.h>

#include "capture/request_target.h"
#include "export/otlp_json.h"
#include "export/resource.h"

namespace difftrace::exporters {
namespace {

// "key":"value" after a comma unless first; Zipkin tags are strings only.
void tag(fmt::memory_buffer& out, bool& first, std::string_view key, std::string_view value) {
  if (!first) out.push_back(',');
  first = false;
  append_json_string(out, key);
  out.push_back(':');
  append_json_string(out, value);
}

void tag(fmt::memory_buffer& out, bool& first, std::string_view key, std::uint64_t value) {
  tag(out, first, key, std::string_view(fmt::format_int(value).c_str()));
}

// {"serviceName":..,"ipv4"|"ipv6":..,"port":..}: an address that is neither
// (it should not happen) is left out rather than sent to fail validation.
void append_endpoint(fmt::memory_buffer& out, const capture::Endpoint& e,
                     std::string_view service_name) {
  bool first = true;
  out.push_back('{');
  auto field = [&](std::string_view key) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, key);
    out.push_back(':');
  };
  if (!service_name.empty()) {
    field("serviceName");
    append_json_string(out, service_name);
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, e.address.c_str(), buf) == 1) {
    field("ipv4");
    append_json_string(out, e.address);
  } else if (inet_pton(AF_INET6, e.address.c_str(), buf) == 1) {
    field("ipv6");
    append_json_string(out, e.address);
  }
  if (e.port) {
    field("port");
    append_uint(out, e.port);
  }
  out.push_back('}');
}

void append_span(fmt::memory_buffer& out, const capture::Span& s, const std::string& host_name) {
  append(out, "{\"traceId\":");
  append_hex(out, s.trace_id.data(), s.trace_id.size());
  append(out, ",\"id\":");
  append_hex(out, s.span_id.data(), s.span_id.size());
  if (s.parent_span_id) {
    append(out, ",\"parentId\":");
    append_hex(out, s.parent_span_id->data(), s.parent_span_id->size());
  }
  append(out, s.kind == capture::SpanKind::kServer ? ",\"kind\":\"SERVER\"" : ",\"kind\":\"CLIENT\"");
  append(out, ",\"name\":");
  append_json_string(out, capture::span_name(s));
  // Microseconds; Zipkin wants a duration of at least 1.
  append(out, ",\"timestamp\":");
  append_uint(out, s.start_unix_ns / 1000);
  append(out, ",\"duration\":");
  append_uint(out, std::max<std::uint64_t>(1, (s.duration_ns() + 999) / 1000));
  append(out, ",\"localEndpoint\":");
  append_endpoint(out, s.local, s.service_name);
  append(out, ",\"remoteEndpoint\":");
  append_endpoint(out, s.peer, "");
  append(out, ",\"tags\":{");
  bool first = true;
  tag(out, first, "http.method", s.method);
  tag(out, first, "http.path", s.path);
  if (!s.query.empty()) tag(out, first, "url.query", s.query);
  if (!s.path_template.empty()) tag(out, first, "url.template", s.path_template);
  if (s.status) tag(out, first, "http.status_code", static_cast<std::uint64_t>(s.status));
  if (s.rpc) {
    tag(out, first, "rpc.system", std::string("grpc"));
    if (!s.rpc->service.empty()) tag(out, first, "rpc.service", s.rpc->service);
    if (!s.rpc->method.empty()) tag(out, first, "rpc.method", s.rpc->method);
    if (s.rpc->grpc_status)
      tag(out, first, "rpc.grpc.status_code", static_cast<std::uint64_t>(*s.rpc->grpc_status));
  }
  if (s.is_error()) {
    tag(out, first, "error", s.error_text());
    tag(out, first, "otel.status_code", "ERROR");
  }
  tag(out, first, "server.address", s.server().address);
  tag(out, first, "server.port", s.server().port);
  tag(out, first, "client.address", s.client().address);
  tag(out, first, "client.port", s.client().port);
  tag(out, first, "thread.id", s.tid);
  tag(out, first, "http.request.size", s.request_bytes);
  tag(out, first, "http.response.size", s.response_bytes);
  tag(out, first, "process.pid", s.pid);
  tag(out, first, "host.name", host_name);
  for (const auto& [key, value] : extra_resource(s))
    tag(out, first, std::string_view(key), std::string_view(value));
  if (s.trace_from_kernel) tag(out, first, "difftrace.trace_id.origin", std::string_view("kernel"));
  tag(out, first, "difftrace.decision", s.decision);
  if (!s.reason.empty()) tag(out, first, "difftrace.reason", s.reason);
  if (s.threshold_ns) tag(out, first, "difftrace.threshold_ns", s.threshold_ns);
  if (!s.estimate_method.empty()) {
    tag(out, first, "difftrace.estimate.method", s.estimate_method);
    tag(out, first, "difftrace.estimate.samples", s.estimate_samples);
    if (s.estimate_profile_samples)
      tag(out, first, "difftrace.estimate.profile_samples", s.estimate_profile_samples);
  }
  append(out, "}}");
}

}  // namespace

void append_zipkin_spans(fmt::memory_buffer& out, const std::vector<capture::Span>& spans,
                         const std::string& host_name) {
  out.push_back('[');
  for (std::size_t i = 0; i < spans.size(); i++) {
    if (i) out.push_back(',');
    append_span(out, spans[i], host_name);
  }
  out.push_back(']');
}

HttpEncoding zipkin_encoding(const std::string& host_name) {
  return {"zipkin", "application/json",
          [host_name](const std::vector<capture::Span>& spans) {
            fmt::memory_buffer b;
            append_zipkin_spans(b, spans, host_name);
            return std::string(b.data(), b.size());
          },
          {}};
}

}  // namespace difftrace::exporters
