#include "capture/collector.h"

#include <cerrno>
#include <cstring>

#include "error.h"

namespace difftrace::capture {

Collector::Collector(int ringbuf_fd, SpanDecoder& decoder) : decoder_(decoder) {
  ring_buffer* rb = ring_buffer__new(ringbuf_fd, &Collector::on_event, this, nullptr);
  if (!rb) throw FatalError(ExitCode::kEnvironment, errno_message("creating the ring buffer reader", errno));
  rb_.reset(rb);
}

namespace {
// Returned by the sample callback to make libbpf stop consuming: any
// negative value does, and poll/consume hand it back.
constexpr int kBatchFull = -ENOBUFS;
}  // namespace

int Collector::on_event(void* ctx, void* data, size_t size) {
  auto* self = static_cast<Collector*>(ctx);
  if (size < sizeof(dt_span_event)) {
    self->malformed_++;
  } else {
    self->pending_.push_back(self->decode(data, size));
  }
  if (self->pending_.size() >= kMaxBatch) {
    self->full_ = true;
    return kBatchFull;
  }
  return 0;
}

// An HTTP/2 span event carries its header blocks after it (include/protocols/http2/span.h).
Span Collector::decode(const void* data, size_t size) {
  dt_span_event ev;
  std::memcpy(&ev, data, sizeof ev);
  if (ev.protocol != DT_PROTO_HTTP2 || size < sizeof ev + sizeof(h2_span_tail))
    return decoder_.decode(ev);
  h2_span_tail tail;
  std::memcpy(&tail, static_cast<const char*>(data) + sizeof ev, sizeof tail);
  std::uint32_t unresolved = 0;
  std::optional<Rpc> rpc = h2_blocks_.decode(ev, tail, unresolved);
  Span s = decoder_.decode(ev);
  s.http_version = 2;
  s.rpc = std::move(rpc);
  s.unresolved_fields = unresolved;
  return s;
}

void Collector::poll(int timeout_ms) {
  full_ = false;
  int n = ring_buffer__poll(rb_.get(), timeout_ms);
  if (n < 0 && n != -EINTR && n != kBatchFull)
    throw FatalError(ExitCode::kEnvironment, errno_message("reading the ring buffer", n));
  // The kernel wakes us only once a batch is waiting: take what is there
  // when the wait timed out too.
  if (!full_) drain();
}

bool Collector::drain() {
  full_ = false;
  int n = ring_buffer__consume(rb_.get());
  if (n < 0 && n != kBatchFull)
    throw FatalError(ExitCode::kEnvironment, errno_message("reading the ring buffer", n));
  return full_;
}

std::vector<Span> Collector::take() {
  std::vector<Span> out;
  out.swap(pending_);
  return out;
}

}  // namespace difftrace::capture
