// Chunk building in the kernel: every I/O layout of tests/common/cases/chunk_cases.cpp goes
// through the loaded test entry (bpf/http_test.bpf.c, DT_HTTP_TEST_CHUNK), which calls the
// same dt_chunk_window and dt_chunk_tail as the capture program's syscall source
// (bpf/sources/syscalls.bpf.h) and reads this process's memory with bpf_probe_read_user; the
// result must be the table's and the host's (tests/unit/test_chunk_build.cpp).
#include <catch2/catch.hpp>

#include "bpf_test_support.h"
#include "common/cases/chunk_cases.h"
#include "kernel_driver.h"

using namespace difftrace::testing;

TEST_CASE("kernel and host build the same window and chunk from every I/O layout",
          "[bpf][chunk]") {
  require_bpf_environment();
  KernelDriver kernel;
  for (const auto& c : chunk_cases()) {
    INFO(c.name);
    ChunkIo io(c);
    auto k = kernel.chunk(io.io());
    auto h = host_chunk(io.io());
    CHECK(check_chunk(c, k) == "");
    CHECK(chunk_diff(k, h) == "");
  }
}
