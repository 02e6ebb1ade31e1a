// Http2BlockDecoder: the header blocks the kernel sends after a reported HTTP/2 span event
// (struct h2_span_tail, include/protocols/http2/span.h), decoded with HPACK (libnghttp2, by way
// of replay's HpackDecoder) into what replay gives the same stream: method, path, status,
// trace context, the gRPC call, and how many fields were unresolved.
//
// Blocks come in the order their spans finish, not in wire order, so each carries its place
// in its direction's dynamic table (h2_block_copy.pos): an index resolves only against an
// entry this decoder saw added at that place, never against a guess. Entries added by blocks
// that never crossed (streams the filter kept, streams opened before the tracer) leave the
// fields that name them unresolved, and counted.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "capture.h"
#include "capture/span.h"
#include "protocols/http2/span.h"
#include "replay/hpack_decoder.h"

namespace difftrace::capture {

class Http2BlockDecoder {
 public:
  // Fills ev's method, path, status and trace context from the blocks (what resolved), and
  // returns the gRPC call, if the stream is one. unresolved: fields left unresolved.
  std::optional<Rpc> decode(dt_span_event& ev, const h2_span_tail& tail, std::uint32_t& unresolved);

  // Streams whose :path both the kernel's shadow and the decoder read: the same text (the
  // kernel's is the first H2S_PATH_MAX bytes), or not (a defect in the shadow).
  std::uint64_t kernel_paths_agreed() const { return paths_agreed_; }
  std::uint64_t kernel_paths_differed() const { return paths_differed_; }

 private:
  // One decoder per connection and direction (requests' and responses').
  std::unordered_map<std::uint64_t, replay::HpackDecoder> tables_;
  replay::HpackDecoder& table(std::uint64_t conn_id, int dir);
  std::uint64_t paths_agreed_ = 0;
  std::uint64_t paths_differed_ = 0;
};

}  // namespace difftrace::capture
