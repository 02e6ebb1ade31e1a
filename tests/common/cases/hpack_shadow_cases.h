// Table-driven cases for the kernel's HPACK shadow (include/protocols/http2/hpack_shadow.h):
// header blocks of one direction, in order, as encoders write them (libnghttp2's deflater,
// which Huffman-codes a string whenever that is shorter, as grpc-go does; or raw bytes by
// hand, as grpc-core may send them), with the traceparent and the :path each must give. The host unit test
// checks the expectations; the [bpf] parity test runs the same blocks through the kernel.
#pragma once

#include <string>
#include <vector>

namespace difftrace::testing {

struct ShadowBlock {
  std::string bytes;
  bool request = true;       // a request block: its traceparent is read
  std::string traceparent;   // what must be read; empty: none
  unsigned unread = 0;       // traceparent fields that must be counted as unread
  // The :path that must be read (its first H2S_PATH_MAX bytes), when path_state says so.
  int path_state = kPathUnchecked;
  std::string path = "";

  static constexpr int kPathUnchecked = -1;  // else enum h2s_path_state
};

struct ShadowCase {
  std::string name;
  std::vector<ShadowBlock> blocks;  // one direction, one dynamic table, in order
};

const std::vector<ShadowCase>& hpack_shadow_cases();

}  // namespace difftrace::testing
