// Who runs the HTTP/1.x boundary functions for replay: the host's compile of
// include/protocols/http1/ by default. A [bpf] test substitutes the kernel's
// (the loaded test entry) to check that both make the same decisions on
// every captured stream.
#pragma once

#include <cstdint>

#include "dt/chunk_build.h"
#include "protocols/http1/http1.h"

namespace difftrace::replay {

class BoundaryEngine {
 public:
  virtual ~BoundaryEngine() = default;
  // w and ch may change: an interim (1xx) response is cut off their front.
  virtual int feed(http_exchange& x, dt_window& w, dt_chunk& ch, http_exchange& done) {
    return http1_feed(&x, &w, &ch, &done);
  }
  virtual int close(http_exchange& x, std::uint64_t ts, http_exchange& done) {
    return http1_close(&x, ts, &done);
  }
};

}  // namespace difftrace::replay
