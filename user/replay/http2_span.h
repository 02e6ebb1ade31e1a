// A finished HTTP/2 stream's decoded header blocks as span data: the event fields the filter
// reads (method, path, status, trace context) and the gRPC call (OpenTelemetry RPC conventions).
// The follower's own part of the event (times, bytes, how it ended) is h2_span_fill's.
#pragma once

#include <optional>
#include <string_view>

#include "capture.h"
#include "capture/span.h"
#include "replay/http2_session.h"

namespace difftrace::replay {

// :method, :path, the final response's :status and the request's W3C traceparent into ev, when
// resolved (an unresolved :path leaves the path empty, an unresolved :status 0).
void http2_event_fields(dt_span_event& ev, const Http2Exchange& x);

// The gRPC call, if the stream is one (content-type application/grpc*, or a grpc-status field):
// service and method from :path ("/package.Service/Method"; empty when unresolved), grpc-status
// from the trailers or a trailers-only response.
std::optional<capture::Rpc> http2_grpc_call(const Http2Exchange& x);

// rpc.service and rpc.method of a gRPC :path ("/package.Service/Method"); left empty when the
// path is not of that shape. Also for a kept span pulled back, whose path the kernel read.
void grpc_method_of_path(capture::Rpc& rpc, std::string_view path);

}  // namespace difftrace::replay
