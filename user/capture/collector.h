// Drains the capture program's ring buffer into decoded spans.
#pragma once

#include <vector>

#include "bpf/links.h"
#include "capture/http2_blocks.h"
#include "capture/span_decoder.h"

namespace difftrace::capture {

class Collector {
 public:
  Collector(int ringbuf_fd, SpanDecoder& decoder);
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // At most this many spans are decoded before poll/drain return, so a busy
  // ring buffer cannot keep the loop (and memory) from export and signals.
  static constexpr std::size_t kMaxBatch = 1024;

  // Waits up to timeout_ms (or until the kernel has a batch ready), then
  // consumes up to kMaxBatch events.
  void poll(int timeout_ms);
  // Consumes up to kMaxBatch events without waiting; false when none were left.
  bool drain();
  std::vector<Span> take();
  std::uint64_t malformed() const { return malformed_; }
  const Http2BlockDecoder& http2_blocks() const { return h2_blocks_; }

 private:
  static int on_event(void* ctx, void* data, size_t size);

  bpf::RingBufferPtr rb_;
  // Decodes one ring-buffer record (a span event, and an HTTP/2 span's header blocks after it).
  void decode(const void* data, size_t size, Span& into);

  SpanDecoder& decoder_;
  Http2BlockDecoder h2_blocks_;
  std::vector<Span> pending_;
  bool full_ = false;
  std::uint64_t malformed_ = 0;
};

}  // namespace difftrace::capture
