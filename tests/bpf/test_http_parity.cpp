// The boundary cases of tests/common/cases/http1_cases.cpp, run in the kernel
// through the loaded test entry (bpf/http_test.bpf.c, which calls the same
// http1_feed/http1_close as the capture program) and compared with the host,
// step by step and byte for byte (parity_diff, common/cases/protocol_cases.h).
#include <catch2/catch.hpp>
#include <cstring>

#include "bpf_test_support.h"
#include "common/cases/filter_cases.h"
#include "common/cases/http1_cases.h"
#include "kernel_driver.h"

using namespace difftrace::testing;

TEST_CASE("kernel and host agree on every boundary case", "[bpf][http]") {
  require_bpf_environment();
  KernelDriver kernel;
  HostDriver host;
  for (const auto& c : http_cases()) {
    INFO(c.name);
    auto k = run_case(c, kernel);
    auto h = run_case(c, host);
    CHECK(check_case(c, k) == "");
    CHECK(parity_diff(k, h) == "");
  }
}

TEST_CASE("kernel and host make the same endpoint templates", "[bpf][template]") {
  require_bpf_environment();
  KernelDriver kernel;
  for (const auto& c : path_template_cases()) {
    INFO("path: " << c.path);
    CHECK(kernel.path_template(c.path) == c.want);
    CHECK(kernel.path_template(c.path) == host_path_template(c.path));
  }
}

TEST_CASE("kernel and host make the same filter decisions", "[bpf][filter]") {
  require_bpf_environment();
  KernelDriver kernel;
  for (const auto& c : filter_cases()) {
    INFO(c.name);
    auto k = kernel.filter_decide(c.in);
    auto h = dt_filter_decide(&c.in);
    CHECK(int(k.decision) == c.decision);
    CHECK(int(k.reason) == c.reason);
    CHECK(k.decision == h.decision);
    CHECK(k.reason == h.reason);
  }
}

TEST_CASE("kernel and host put durations in the same histogram buckets", "[bpf][hist]") {
  require_bpf_environment();
  KernelDriver kernel;
  int checked = 0;
  for (std::uint64_t v = 0; v < (1ull << 44); v = v < 32 ? v + 1 : v + v / 3 + 1, checked++) {
    INFO("v=" << v);
    CHECK(kernel.hist_bucket(v) == dt_hist_bucket(v));
  }
  CHECK(kernel.hist_bucket(~0ull) == dt_hist_bucket(~0ull));
  CHECK(checked > 100);
}
