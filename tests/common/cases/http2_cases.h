// Table-driven HTTP/2 frame follower cases (include/protocols/http2/): raw wire bytes as a
// connection's I/Os moved them, the streams that must finish and the header blocks that must be
// reported. Each case also runs with every I/O cut into 1-byte and 7-byte I/Os (frames split
// across chunks): the streams and blocks must not change.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/cases/protocol_cases.h"
#include "protocols/http2/http2.h"

namespace difftrace::testing {

struct H2Stream {
  std::uint32_t id = 0;
  int end_reason = H2_END_COMPLETE;
  int bits = 0;                  // enum h2_stream_bits, all of them
  std::uint64_t req_bytes = 0;   // 0: not checked
  std::uint64_t resp_bytes = 0;  // 0: not checked
};

struct H2Block {
  std::uint32_t stream = 0;
  int kind = 0;  // enum h2_block
  int dir = DT_DIR_INGRESS;
  std::string bytes;  // the fragments joined
};

struct H2Case {
  std::string name;
  std::vector<Step> steps;
  std::vector<H2Stream> streams;  // in the order they finish
  std::vector<H2Block> blocks;    // in the order they complete
  bool invalid = false;           // the connection ends up not followed
  int role = 1;                   // H2_ROLE_SERVER (checked unless invalid)
  std::uint32_t untracked = 0;    // streams opened while the table was full
  std::uint32_t open_after = 0;   // streams still open after the last step
};

// One HTTP/2 frame: 9-byte header and payload.
std::string h2_frame_bytes(int type, int flags, std::uint32_t stream, const std::string& payload);
extern const std::string kH2Preface;

const std::vector<H2Case>& http2_cases();

struct H2Result {
  std::vector<h2_stream> streams;
  std::vector<H2Block> blocks;
  h2_conn conn{};
  bool invalid = false;
};

// Runs a case on the host follower; split > 0 cuts every I/O into pieces of that many bytes.
H2Result run_h2_case(const H2Case& c, std::size_t split = 0);
// Empty when the result matches the case; else what differs, readable.
std::string check_h2_case(const H2Case& c, const H2Result& r);

}  // namespace difftrace::testing
