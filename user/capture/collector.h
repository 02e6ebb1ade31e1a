// Drains the capture program's ring buffer into decoded spans.
#pragma once

#include <vector>

#include "bpf/links.h"
#include "capture/span_decoder.h"

namespace difftrace::capture {

class Collector {
 public:
  Collector(int ringbuf_fd, SpanDecoder& decoder);
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Waits up to timeout_ms for events; returns how many were consumed.
  int poll(int timeout_ms);
  // Consumes whatever is there without waiting.
  int drain();
  std::vector<Span> take();
  std::uint64_t malformed() const { return malformed_; }

 private:
  static int on_event(void* ctx, void* data, size_t size);

  bpf::RingBufferPtr rb_;
  SpanDecoder& decoder_;
  std::vector<Span> pending_;
  std::uint64_t malformed_ = 0;
};

}  // namespace difftrace::capture
