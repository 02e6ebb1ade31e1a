#include "export/otlp_proto.h"

#include "export/resource.h"
#include "capture/request_target.h"
#include "export/span_attributes.h"
#include "export/utf8.h"

namespace difftrace::exporters {
namespace {

// proto3 strings must be UTF-8: a receiver refuses a request with one that is not.
std::string utf8(std::string_view s) { return is_valid_utf8(s) ? std::string(s) : valid_utf8(s); }

void str_attr(google::protobuf::RepeatedPtrField<otlp::KeyValue>& attrs, const char* key,
              std::string_view value) {
  auto* kv = attrs.Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(utf8(value));
}

void int_attr(google::protobuf::RepeatedPtrField<otlp::KeyValue>& attrs, const char* key,
              std::uint64_t value) {
  auto* kv = attrs.Add();
  kv->set_key(key);
  kv->mutable_value()->set_int_value(static_cast<std::int64_t>(value));
}

void fill_span(otlp::Span& out, const capture::Span& s) {
  out.set_trace_id(s.trace_id.data(), s.trace_id.size());
  out.set_span_id(s.span_id.data(), s.span_id.size());
  if (s.parent_span_id) out.set_parent_span_id(s.parent_span_id->data(), s.parent_span_id->size());
  out.set_name(utf8(capture::span_name(s)));
  out.set_kind(s.kind == capture::SpanKind::kServer ? otlp::Span::SPAN_KIND_SERVER
                                                    : otlp::Span::SPAN_KIND_CLIENT);
  out.set_start_time_unix_nano(s.start_unix_ns);
  out.set_end_time_unix_nano(s.end_unix_ns);
  auto& a = *out.mutable_attributes();
  for_each_otlp_attribute(
      s, [&](const char* key, std::string_view value) { str_attr(a, key, value); },
      [&](const char* key, std::uint64_t value) { int_attr(a, key, value); });
  if (s.is_error()) {
    auto* st = out.mutable_status();
    st->set_code(otlp::Status::STATUS_CODE_ERROR);
    st->set_message(s.error_text());
  }
}

}  // namespace

void fill_otlp_request(otlp::ExportTraceServiceRequest& req,
                       const std::vector<capture::Span>& spans, const std::string& host_name) {
  const std::vector<std::size_t> order = resource_order(spans);
  otlp::ScopeSpans* scope = nullptr;
  const capture::Span* resource_of = nullptr;
  for (std::size_t i : order) {
    const capture::Span& s = spans[i];
    if (!resource_of || !same_resource(s, *resource_of)) {
      resource_of = &s;
      auto* rs = req.add_resource_spans();
      auto& attrs = *rs->mutable_resource()->mutable_attributes();
      str_attr(attrs, "service.name", s.service_name);
      int_attr(attrs, "process.pid", s.pid);
      str_attr(attrs, "host.name", host_name);
      for (const auto& [key, value] : extra_resource(s)) str_attr(attrs, key.c_str(), value);
      scope = rs->add_scope_spans();
      scope->mutable_scope()->set_name("difftrace");
    }
    fill_span(*scope->add_spans(), s);
  }
}

std::string encode_otlp_request(const std::vector<capture::Span>& spans,
                                const std::string& host_name) {
  otlp::ExportTraceServiceRequest req;
  fill_otlp_request(req, spans, host_name);
  return req.SerializeAsString();
}

std::uint64_t otlp_rejected_spans(const std::string& response_body) {
  otlp::ExportTraceServiceResponse resp;
  if (response_body.empty() || !resp.ParseFromString(response_body)) return 0;
  const auto rejected = resp.partial_success().rejected_spans();
  return rejected > 0 ? static_cast<std::uint64_t>(rejected) : 0;
}

HttpEncoding otlp_http_encoding(const std::string& host_name) {
  return {"otlp-http", "application/x-protobuf",
          [host_name](const std::vector<capture::Span>& spans) {
            return encode_otlp_request(spans, host_name);
          },
          otlp_rejected_spans};
}

}  // namespace difftrace::exporters
