// StreamSink: what TCP reassembly hands on: connection open/close and each direction's bytes.
#pragma once

#include <cstdint>
#include <span>

#include "replay/conn_key.h"

namespace difftrace::replay {

enum class CloseReason : uint8_t {
  fin,             // both sides' FINs reached, every byte before them delivered or gapped
  reset,           // a RST from either side
  timeout,         // no segment for ReassemblyLimits::idle_timeout_ns (capture time)
  evicted,         // the connection table was full and this was the least recently active
  reused,          // a new SYN with another sequence number started a new connection
  end_of_capture,  // still open when the capture ended (TcpReassembler::finish)
};

const char* to_string(CloseReason reason);

// Events for one connection arrive in order: on_open, then on_data/on_gap for either direction
// in capture order (each direction's bytes in stream order), then on_close. The same ConnKey
// may open again after it closed (port reuse).
// Timestamps are the capture's (nanoseconds), so differences are wire durations.
class StreamSink {
 public:
  virtual ~StreamSink() = default;

  // `ts_ns`: the connection's first captured segment.
  virtual void on_open(const ConnKey& key, uint64_t ts_ns) = 0;
  // Contiguous stream bytes; `ts_ns` is when the segment carrying them was captured. The span is
  // valid only during the call.
  virtual void on_data(const ConnKey& key, Direction dir, uint64_t ts_ns,
                       std::span<const uint8_t> bytes) = 0;
  // `bytes` stream bytes are missing here (lost by the capture, dropped for memory, or cut by
  // the snaplen); the next on_data continues after them. `ts_ns`: when the gap became certain.
  virtual void on_gap(const ConnKey& key, Direction dir, uint64_t ts_ns, uint64_t bytes) = 0;
  // Last event for this connection. For timeout, eviction and end of capture, `ts_ns` is the
  // connection's last captured segment; otherwise the segment that closed it.
  virtual void on_close(const ConnKey& key, uint64_t ts_ns, CloseReason reason) = 0;
};

}  // namespace difftrace::replay
