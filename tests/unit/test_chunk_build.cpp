// Chunk building (include/dt/chunk_build.h) compiled on the host: every I/O layout of the
// shared table (tests/common/cases/chunk_cases.cpp) over this process's memory. The same table
// runs in the kernel in tests/bpf/test_chunk_parity.cpp.
#include <catch2/catch.hpp>

#include "common/cases/chunk_cases.h"

using namespace difftrace::testing;

TEST_CASE("every chunk case gives the expected window and tail on the host", "[chunk]") {
  for (const auto& c : chunk_cases()) {
    INFO(c.name);
    ChunkIo io(c);
    CHECK(check_chunk(c, host_chunk(io.io())) == "");
  }
}

TEST_CASE("the chunk table covers every layout", "[chunk]") {
  int layouts[3] = {};
  for (const auto& c : chunk_cases()) {
    INFO(c.name);
    CHECK(c.len > 0);  // an I/O that moved nothing is no I/O
    CHECK(c.window.size() == c.win_len);
    CHECK(c.tail.size() <= DT_TAIL);
    REQUIRE(c.layout >= 0);
    REQUIRE(c.layout < 3);
    layouts[c.layout]++;
  }
  CHECK(layouts[DT_IO_BUF] > 0);
  CHECK(layouts[DT_IO_IOV] > 0);
  CHECK(layouts[DT_IO_NODATA] > 0);
}
