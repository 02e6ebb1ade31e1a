// Who runs the HTTP/1.x boundary functions for replay: the host's compile of
// include/http1_boundary.h by default. A [bpf] test substitutes the kernel's
// (the loaded test entry) to check that both make the same decisions on
// every captured stream.
#pragma once

#include <cstdint>

#include "http1_boundary.h"

namespace difftrace::replay {

class BoundaryEngine {
 public:
  virtual ~BoundaryEngine() = default;
  // w and ch may change: an interim (1xx) response is cut off their front.
  virtual int feed(http_exchange& x, http_window& w, http_chunk& ch, http_exchange& done) {
    return http_feed(&x, &w, &ch, &done);
  }
  virtual int close(http_exchange& x, std::uint64_t ts, http_exchange& done) {
    return http_close(&x, ts, &done);
  }
};

}  // namespace difftrace::replay
