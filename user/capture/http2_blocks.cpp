#include "capture/http2_blocks.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "protocols/http2/hpack_shadow.h"  // H2S_PATH_MAX
#include "replay/http2_span.h"

namespace difftrace::capture {
namespace {

// Connections whose tables are kept: past it they start again (fields unresolved, not wrong).
constexpr std::size_t kMaxTables = 8192;

replay::HeaderBlock decode_copy(replay::HpackDecoder& d, const h2_block_copy& b) {
  const std::size_t n = std::min<std::size_t>(b.len, H2_TAIL_BLOCK);
  std::optional<std::uint64_t> pos;
  if (b.pos != H2_POS_UNKNOWN) pos = b.pos;
  return d.decode_at(std::span<const std::uint8_t>(b.bytes, n), pos, b.truncated != 0);
}

}  // namespace

replay::HpackDecoder& Http2BlockDecoder::table(std::uint64_t conn_id, int dir) {
  if (tables_.size() >= kMaxTables) tables_.clear();
  return tables_[conn_id << 1 | static_cast<std::uint64_t>(dir & 1)];
}

std::optional<Rpc> Http2BlockDecoder::decode(dt_span_event& ev, const h2_span_tail& tail,
                                             std::uint32_t& unresolved) {
  replay::Http2Exchange x;
  const h2_block_copy& req = tail.block[H2_TAIL_REQUEST];
  const h2_block_copy& resp = tail.block[H2_TAIL_RESPONSE];
  const h2_block_copy& trl = tail.block[H2_TAIL_TRAILERS];
  if (req.present) x.request = decode_copy(table(ev.conn_id, 0), req);
  if (resp.present) {
    x.response = decode_copy(table(ev.conn_id, 1), resp);
    x.has_response = true;
  }
  if (trl.present) {
    x.trailers = decode_copy(table(ev.conn_id, 1), trl);
    x.has_trailers = true;
  }
  unresolved = x.request.unresolved + x.response.unresolved + x.trailers.unresolved;
  // What the kernel's shadow resolved stays when a block could not say (cut, unresolved).
  const dt_span_event kernel = ev;
  std::memset(ev.path, 0, sizeof ev.path);
  ev.path_len = 0;
  replay::http2_event_fields(ev, x);
  if (!ev.status) ev.status = kernel.status;
  if (!ev.method) ev.method = kernel.method;
  if (ev.path_len && kernel.path_len) {
    // the decoder is the source of truth; the kernel's copy is checked against it
    const std::size_t n = std::min<std::size_t>(ev.path_len, H2S_PATH_MAX);
    const bool same = kernel.path_len == n && std::memcmp(kernel.path, ev.path, n) == 0;
    (same ? paths_agreed_ : paths_differed_)++;
  }
  if (ev.path_len) {
    ev.path_unresolved = 0;
  } else {  // the decoder could not say (a cut block): the kernel's, if it read one
    std::memcpy(ev.path, kernel.path, sizeof ev.path);
    ev.path_len = kernel.path_len;
  }
  std::optional<Rpc> rpc = replay::http2_grpc_call(x);
  if (kernel.flags & DT_SPAN_F_GRPC_STATUS) {
    if (!rpc) rpc = Rpc{};  // a grpc-status field: a gRPC call
    if (!rpc->grpc_status) rpc->grpc_status = kernel.grpc_status;
  }
  // An indexed :path whose entry was added by a stream that stayed in the kernel (kept, as
  // most normal ones are) is unresolved here, but the kernel's shadow kept its text.
  if (rpc && rpc->service.empty() && ev.path_len)
    replay::grpc_method_of_path(*rpc, std::string_view(ev.path, ev.path_len));
  return rpc;
}

}  // namespace difftrace::capture
