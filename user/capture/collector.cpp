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
    // Decoded straight into the batch, which has room for a whole one.
    if (self->pending_.capacity() == 0) self->pending_.reserve(kMaxBatch);
    self->decode(data, size, self->pending_.emplace_back());
  }
  if (self->pending_.size() >= kMaxBatch) {
    self->full_ = true;
    return kBatchFull;
  }
  return 0;
}

// An HTTP/2 span event carries its header blocks after it (include/protocols/http2/span.h).
void Collector::decode(const void* data, size_t size, Span& into) {
  const auto& ev = *static_cast<const dt_span_event*>(data);
  if (ev.protocol != DT_PROTO_HTTP2 || size < sizeof ev + sizeof(h2_span_tail)) {
    decoder_.decode(ev, into);
    return;
  }
  // The header blocks fill in what the kernel could not decide alone (status, method), so
  // they are read into a copy of the event before it is decoded.
  dt_span_event h2_ev = ev;
  h2_span_tail tail;
  std::memcpy(&tail, static_cast<const char*>(data) + sizeof ev, sizeof tail);
  std::uint32_t unresolved = 0;
  std::optional<Rpc> rpc = h2_blocks_.decode(h2_ev, tail, unresolved);
  decoder_.decode(h2_ev, into);
  into.http_version = 2;
  if (rpc) into.rpc = std::make_shared<const Rpc>(std::move(*rpc));
  into.unresolved_fields = unresolved;
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
