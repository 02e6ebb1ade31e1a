#include "capture/collector.h"

#include <cerrno>

#include "error.h"

namespace difftrace::capture {

Collector::Collector(int ringbuf_fd, SpanDecoder& decoder) : decoder_(decoder) {
  ring_buffer* rb = ring_buffer__new(ringbuf_fd, &Collector::on_event, this, nullptr);
  if (!rb) throw FatalError(ExitCode::kEnvironment, errno_message("creating the ring buffer reader", errno));
  rb_.reset(rb);
}

int Collector::on_event(void* ctx, void* data, size_t size) {
  auto* self = static_cast<Collector*>(ctx);
  if (size < sizeof(dt_span_event)) {
    self->malformed_++;
    return 0;
  }
  self->pending_.push_back(self->decoder_.decode(*static_cast<const dt_span_event*>(data)));
  return 0;
}

int Collector::poll(int timeout_ms) {
  int n = ring_buffer__poll(rb_.get(), timeout_ms);
  return n == -EINTR ? 0 : n;
}

int Collector::drain() { return ring_buffer__consume(rb_.get()); }

std::vector<Span> Collector::take() {
  std::vector<Span> out;
  out.swap(pending_);
  return out;
}

}  // namespace difftrace::capture
