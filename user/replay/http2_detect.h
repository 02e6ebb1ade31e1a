// Recognizes HTTP/2 (and so gRPC) traffic, which replay does not parse yet: such connections are
// counted as http2_not_supported instead of being fed to the HTTP/1.x boundary code, where they
// would only be "not HTTP".
#pragma once

#include <cstdint>
#include <span>

namespace difftrace::replay {

// True when `bytes`, the start of a data segment, is the HTTP/2 client connection preface
// ("PRI * HTTP/2.0\r\n...") or a run of well-formed HTTP/2 frame headers (a connection picked up
// mid-stream). Frame headers are checked against RFC 9113: a known type, the reserved bit clear,
// the stream id rules and fixed lengths of each type, and at most 16384 payload bytes (the
// default SETTINGS_MAX_FRAME_SIZE; larger frames need a setting the capture may not show, and
// the bound keeps binary protocols from passing for HTTP/2). Every frame header that starts
// inside `bytes` must pass.
bool looks_like_http2(std::span<const uint8_t> bytes);

}  // namespace difftrace::replay
