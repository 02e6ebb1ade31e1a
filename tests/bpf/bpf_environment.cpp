#include "bpf_environment.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "check/require_features.h"
#include "env/environment.h"

namespace difftrace::testing {

void require_bpf_environment() {
  REQUIRE(geteuid() == 0);  // [bpf] tests load programs: run them as root
  env::route_libbpf_logs();
  check::require_kernel_features();  // what `trace` requires (BTF among it), as it says it
  env::ensure_tracefs();
}

}  // namespace difftrace::testing
