// Turns the kernel's struct dt_span_event into a Span: wall-clock times,
// addresses as text, trace ids from the request's headers or fresh ones.
#pragma once

#include <array>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>

#include "capture.h"
#include "capture/clock.h"
#include "capture/go_process.h"
#include "capture/span.h"

namespace difftrace::capture {

class SpanDecoder {
 public:
  explicit SpanDecoder(const WallClock& clock) : clock_(clock), rng_(std::random_device{}()) {}
  Span decode(const dt_span_event& ev);
  // The same into a span just constructed (the collector's batch: no temporary to move).
  void decode(const dt_span_event& ev, Span& into);
  std::uint64_t invalid_trace_contexts() const { return invalid_ctx_; }
  // CLIENT spans of Go processes whose kernel cause was not believed (go_process.h).
  std::uint64_t go_causes_dropped() const { return go_causes_dropped_; }

  // Told each process found to run Go (before its span is decoded): the kernel should judge
  // no causes of its threads.
  void on_go_process(std::function<void(std::uint32_t)> found) { go_.on_found(std::move(found)); }
  // Looks at process pid now (a --pid target), not at its first span: a Go one is announced
  // before its first request.
  void look_at_process(std::uint32_t pid) { go_.is_go(pid); }
  // CLIENT spans of Go processes whose trace id the kernel took from a cause not believed.
  std::uint64_t go_traces_renewed() const { return go_traces_renewed_; }

  SpanId new_span_id();
  TraceId new_trace_id();

 private:
  // side: 0 for the local address, 1 for the peer's (each remembers the last it found).
  const std::string& address_of(int family, const std::uint8_t (&addr)[16], int side);

  const WallClock& clock_;
  std::mt19937_64 rng_;
  // Address texts seen lately: a connection's addresses repeat in every span,
  // and formatting them was a visible share of the tracer's CPU. Keyed by the
  // address's 16 bytes and its family, as they are.
  using AddressKey = std::array<std::uint8_t, 17>;
  struct AddressKeyHash {
    std::size_t operator()(const AddressKey& k) const noexcept;
  };
  std::unordered_map<AddressKey, std::string, AddressKeyHash> address_cache_;
  // The address each side found last, and its text in address_cache_ (whose elements stay
  // where they are until the cache is cleared): a server's own address is the same in all
  // its spans, a keep-alive connection's peer in a run of them. Compared in two words and a
  // byte before the hash lookup, which cost ~110 instructions an address.
  struct LastAddress {
    AddressKey key{};
    const std::string* text = nullptr;
  };
  LastAddress last_address_[2];
  std::uint64_t invalid_ctx_ = 0;
  GoProcesses go_;
  std::uint64_t go_causes_dropped_ = 0;
  std::uint64_t go_traces_renewed_ = 0;
};

const char* method_name(int method);
// enum http_method of a name, HTTP_METHOD_NONE for others.
int method_number(std::string_view name);
// The filter's verdict as exported: decision and reason names.
const char* decision_name(int decision, int reason);
const char* reason_name(int reason);
std::string address_text(int family, const std::uint8_t (&addr)[16]);

}  // namespace difftrace::capture
