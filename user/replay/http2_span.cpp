#include "replay/http2_span.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "capture/span_decoder.h"
#include "dt/trace_context.h"
#include "protocols/http1/message.h"  // enum http_method, which the event uses for both

namespace difftrace::replay {
namespace {

// A B3 trace id of 32 or 16 hex digits at the start of v, the whole of it or before a '-':
// its length, 0 if none.
std::size_t b3_trace_len(const std::string& v) {
  for (std::size_t n : {32u, 16u})
    if (v.size() == n || (v.size() > n && v[n] == '-')) return n;
  return 0;
}

// The trace id as the event holds it: a 16-digit B3 id padded with zeros to 32.
void b3_trace_id(dt_span_event& ev, const std::string& v, std::size_t n) {
  std::memset(ev.trace_id, '0', sizeof(ev.trace_id) - n);
  std::memcpy(ev.trace_id + sizeof(ev.trace_id) - n, v.data(), n);
}

// B3, single (b3: {traceid}-{spanid}[-{sampled}[-{parentspanid}]]) or multi (x-b3-traceid and
// x-b3-spanid), read as the HTTP/1 header scan reads it (include/protocols/http1/headers.h).
bool b3_context(dt_span_event& ev, const HeaderBlock& request) {
  if (const std::string* b3 = request.find("b3")) {
    const std::size_t n = b3_trace_len(*b3);
    if (n && b3->size() >= n + 17 && (*b3)[n] == '-') {
      b3_trace_id(ev, *b3, n);
      std::memcpy(ev.parent_id, b3->data() + n + 1, sizeof(ev.parent_id));
      return true;
    }
  }
  const std::string* trace = request.find("x-b3-traceid");
  const std::string* span = request.find("x-b3-spanid");
  const std::size_t n = trace ? b3_trace_len(*trace) : 0;
  if (!n || !span || span->size() < sizeof(ev.parent_id)) return false;
  b3_trace_id(ev, *trace, n);
  std::memcpy(ev.parent_id, span->data(), sizeof(ev.parent_id));
  return true;
}

// A traceparent-shaped value (traceparent, traceresponse): 00-<32 hex trace id>-<16 hex
// parent id>-<2 hex flags>, its length and dashes checked as dt_parse_traceparent checks them
// (the decoder checks the hex).
bool traceparent_shaped(const std::string* v) {
  return v && v->size() >= DT_TP_LEN && (*v)[DT_TP_TRACE - 1] == '-' &&
         (*v)[DT_TP_PARENT - 1] == '-' && (*v)[DT_TP_FLAGS - 1] == '-';
}

// traceparent, copied as the HTTP/1 header scan copies it; else B3, sampled.
void trace_context(dt_span_event& ev, const HeaderBlock& request) {
  const std::string* tp = request.find("traceparent");
  if (traceparent_shaped(tp)) {
    std::memcpy(ev.trace_id, tp->data() + DT_TP_TRACE, sizeof(ev.trace_id));
    std::memcpy(ev.parent_id, tp->data() + DT_TP_PARENT, sizeof(ev.parent_id));
    std::memcpy(ev.trace_flags, tp->data() + DT_TP_FLAGS, sizeof(ev.trace_flags));
    ev.ctx_kind = DT_CTX_W3C;
  } else if (b3_context(ev, request)) {
    std::memcpy(ev.trace_flags, "01", sizeof(ev.trace_flags));
    ev.ctx_kind = DT_CTX_B3;
  }
}

// A SERVER's response may name its span in traceresponse (W3C Trace Context level 2), as the
// demo's ingress does for a request it started a trace for: read as the HTTP/1 header scan
// reads it (http1_span_resp_ctx): the trace, when the request carried none, and the server's
// own span id, when the trace is the span's.
void response_context(dt_span_event& ev, const Http2Exchange& x) {
  const std::string* tr = x.has_response ? x.response.find("traceresponse") : nullptr;
  if (ev.kind != DT_SPAN_SERVER || !traceparent_shaped(tr)) return;
  if (ev.ctx_kind == DT_CTX_NONE) {
    ev.ctx_kind = DT_CTX_W3C_RESPONSE;
    std::memcpy(ev.trace_id, tr->data() + DT_TP_TRACE, sizeof(ev.trace_id));
    std::memset(ev.parent_id, 0, sizeof(ev.parent_id));
    std::memcpy(ev.trace_flags, tr->data() + DT_TP_FLAGS, sizeof(ev.trace_flags));
  } else if (!dt_same_trace_id(ev.trace_id, tr->data() + DT_TP_TRACE)) {
    return;  // the server went on in a trace of its own
  }
  std::memcpy(ev.resp_span_id, tr->data() + DT_TP_PARENT, sizeof(ev.resp_span_id));
  ev.flags |= DT_SPAN_F_RESP_SPAN_ID;
}

bool is_grpc_content(const std::string* content_type) {
  return content_type && content_type->rfind("application/grpc", 0) == 0;
}

}  // namespace

void http2_event_fields(dt_span_event& ev, const Http2Exchange& x) {
  const std::string* method = x.request.find(":method");
  const std::string* path = x.request.find(":path");
  ev.method = static_cast<__u8>(method ? capture::method_number(*method) : HTTP_METHOD_NONE);
  if (path) {
    const size_t n = std::min<size_t>(path->size(), DT_TARGET_MAX - 1);
    std::memcpy(ev.path, path->data(), n);
    ev.path_len = static_cast<__u8>(n);
    if (path->size() > n) ev.flags |= DT_SPAN_F_PATH_TRUNCATED;
  }
  const std::string* status = x.has_response ? x.response.find(":status") : nullptr;
  if (status) ev.status = static_cast<__u16>(std::atoi(status->c_str()));
  // As the kernel's shadow: the last response block named entries from before the capture
  // and no grpc-status was read, so the status is unknown (reported, not judged).
  const HeaderBlock* last = x.has_trailers ? &x.trailers : x.has_response ? &x.response : nullptr;
  const bool grpc_status = (x.has_trailers && x.trailers.find("grpc-status")) ||
                           (x.has_response && x.response.find("grpc-status"));
  if (last && last->unresolved && !grpc_status) ev.status_unresolved = 1;
  trace_context(ev, x.request);
  response_context(ev, x);
}

std::optional<capture::Rpc> http2_grpc_call(const Http2Exchange& x) {
  const std::string* grpc_status = x.has_trailers ? x.trailers.find("grpc-status") : nullptr;
  if (!grpc_status && x.has_response) grpc_status = x.response.find("grpc-status");
  if (!is_grpc_content(x.request.find("content-type")) &&
      !is_grpc_content(x.response.find("content-type")) && !grpc_status)
    return std::nullopt;
  capture::Rpc rpc;
  if (const std::string* path = x.request.find(":path")) grpc_method_of_path(rpc, *path);
  if (grpc_status) rpc.grpc_status = std::atoi(grpc_status->c_str());
  return rpc;
}

void grpc_method_of_path(capture::Rpc& rpc, std::string_view path) {
  const size_t slash = path.find('/', 1);
  if (path.size() >= 4 && path[0] == '/' && slash != std::string_view::npos &&
      slash + 1 < path.size()) {
    rpc.service = std::string(path.substr(1, slash - 1));
    rpc.method = std::string(path.substr(slash + 1));
  }
}

}  // namespace difftrace::replay
