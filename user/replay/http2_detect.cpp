#include "replay/http2_detect.h"

#include <cstring>

namespace difftrace::replay {
namespace {

constexpr char kPreface[] = "PRI * HTTP/2.0\r\n";
constexpr size_t kFrameHeader = 9;
constexpr uint32_t kMaxFrame = 16384;

enum FrameType : uint8_t {
  kData = 0,
  kHeaders = 1,
  kPriority = 2,
  kRstStream = 3,
  kSettings = 4,
  kPushPromise = 5,
  kPing = 6,
  kGoaway = 7,
  kWindowUpdate = 8,
  kContinuation = 9,
};

// One 9-byte frame header; `length` gets the payload length.
bool valid_frame_header(const uint8_t* h, uint32_t& length) {
  length = uint32_t{h[0]} << 16 | uint32_t{h[1]} << 8 | h[2];
  const uint8_t type = h[3];
  if (h[5] & 0x80) return false;  // reserved bit
  const uint32_t stream = uint32_t{h[5]} << 24 | uint32_t{h[6]} << 16 | uint32_t{h[7]} << 8 | h[8];
  if (length > kMaxFrame) return false;
  switch (type) {
    case kData:
    case kHeaders:
    case kPushPromise:
    case kContinuation: return stream != 0;
    case kPriority: return stream != 0 && length == 5;
    case kRstStream: return stream != 0 && length == 4;
    case kSettings: return stream == 0 && length % 6 == 0;
    case kPing: return stream == 0 && length == 8;
    case kGoaway: return stream == 0 && length >= 8;
    case kWindowUpdate: return length == 4;
    default: return false;  // unknown types are legal but say nothing here
  }
}

}  // namespace

bool looks_like_http2(std::span<const uint8_t> bytes) {
  const size_t preface_len = sizeof(kPreface) - 1;
  if (bytes.size() >= preface_len && std::memcmp(bytes.data(), kPreface, preface_len) == 0)
    return true;
  if (bytes.size() < kFrameHeader) return false;
  size_t at = 0;
  while (at + kFrameHeader <= bytes.size()) {
    uint32_t length = 0;
    if (!valid_frame_header(bytes.data() + at, length)) return false;
    at += kFrameHeader + length;
  }
  // A frame header cut by the segment's end is not checked: a later segment carries it.
  return true;
}

}  // namespace difftrace::replay
