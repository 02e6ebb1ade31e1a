// Table-driven cases of chunk building (include/dt/chunk_build.h: dt_chunk_window and
// dt_chunk_tail): I/O layouts as a syscall hands them over (one buffer, an iovec array, data
// not in memory), and the window and chunk that must come out. Run on the host
// (tests/unit/test_chunk_build.cpp) and in the kernel through the test entry
// (bpf/http_test.bpf.c, DT_HTTP_TEST_CHUNK; tests/bpf/test_chunk_parity.cpp), both over the
// same real memory of the test process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dt/chunk_build.h"

namespace difftrace::testing {

struct ChunkCase {
  std::string name;
  int layout = DT_IO_BUF;         // enum dt_io_layout
  std::vector<std::string> iovs;  // DT_IO_BUF: the buffer alone; DT_IO_IOV: each iovec's
                                  // bytes ("" is an empty iovec); DT_IO_NODATA: none
  std::uint64_t len = 0;          // bytes the I/O moved (> 0); less than the buffers hold
                                  // for a short write
  // What must come out (total_len is len):
  std::uint32_t win_len = 0;
  std::string window;  // the window's bytes [0, win_len)
  std::string tail;    // the chunk's tail (tail_len is its size)
};

const std::vector<ChunkCase>& chunk_cases();

// A case's I/O laid out in this process's memory: its buffers, its iovec array and the
// dt_io over them (direction DT_DIR_EGRESS, ts_enter kChunkTs). Not copyable: the dt_io
// points into it.
class ChunkIo {
 public:
  static constexpr std::uint64_t kChunkTs = 4242;
  explicit ChunkIo(const ChunkCase& c);
  ChunkIo(const ChunkIo&) = delete;
  ChunkIo& operator=(const ChunkIo&) = delete;
  const dt_io& io() const { return io_; }

 private:
  std::vector<std::string> bufs_;
  std::vector<dt_iovec> iov_;
  dt_io io_{};
};

// What chunk building made of one I/O.
struct ChunkOut {
  int ret = -1;  // dt_chunk_window's answer: 0 when the data was read
  dt_window win{};
  dt_chunk ch{};
};

// dt_chunk_window and dt_chunk_tail compiled on the host, over this process's memory.
ChunkOut host_chunk(const dt_io& io);
// Empty when out is what the case expects; else what differs, readable.
std::string check_chunk(const ChunkCase& c, const ChunkOut& out);
// Two runs of the same I/O (kernel/host parity): empty when the window's [0, win_len), the
// lengths, direction, entry time and tail are the same.
std::string chunk_diff(const ChunkOut& a, const ChunkOut& b);

}  // namespace difftrace::testing
