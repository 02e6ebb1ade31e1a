// The HTTP/2 frame follower's case table (tests/common/cases/http2_cases.cpp) on the host: each
// case as its I/Os came, then with every I/O cut into 1-byte and 7-byte I/Os (frame heads,
// prefixes and header blocks split across chunks), which must give the same streams and blocks.
#include <catch2/catch.hpp>

#include "common/cases/http2_cases.h"

using namespace difftrace::testing;

TEST_CASE("http2 follower: the case table, whole and split", "[http2]") {
  for (const auto& c : http2_cases()) {
    for (std::size_t split : {0, 1, 7}) {
      DYNAMIC_SECTION(c.name << " (split " << split << ")") {
        CHECK(check_h2_case(c, run_h2_case(c, split)) == "");
      }
    }
  }
}

TEST_CASE("http2 inference: the preface, plausible frames, and not HTTP/2", "[http2]") {
  auto infer = [](const std::string& s) {
    StepInput in = make_input(s);
    return h2_infer(&in.win, in.win_len);
  };
  CHECK(infer(kH2Preface) == DT_START_REQUEST);
  CHECK(infer(h2_frame_bytes(H2_HEADERS, 4, 1, "abc")) == DT_START_FRAMES);
  CHECK(infer(h2_frame_bytes(H2_SETTINGS, 0, 0, std::string(6, '\0')) +
              h2_frame_bytes(H2_WINDOW_UPDATE, 0, 0, std::string(4, '\0'))) == DT_START_FRAMES);
  CHECK(infer(h2_frame_bytes(H2_DATA, 0, 3, std::string(100, 'x')).substr(0, 40)) ==
        DT_START_FRAMES);  // cut by the window's end: not judged
  CHECK(infer("GET / HTTP/1.1\r\n\r\n") == DT_START_NONE);
  CHECK(infer("HTTP/1.1 200 OK\r\n\r\n") == DT_START_NONE);
  CHECK(infer(std::string(200, '\0')) == DT_START_NONE);  // DATA on stream 0
  CHECK(infer(h2_frame_bytes(H2_HEADERS, 4, 0, "abc")) == DT_START_NONE);
  CHECK(infer(h2_frame_bytes(H2_SETTINGS, 0, 0, std::string(7, '\0'))) == DT_START_NONE);
  CHECK(infer(h2_frame_bytes(H2_HEADERS, 4, 1, "abc") + "GET / HTTP/1.1") == DT_START_NONE);
  CHECK(infer(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9)) == DT_START_NONE);  // TLS
  CHECK(infer(h2_frame_bytes(0x42, 0, 0, "x")) == DT_START_NONE);  // unknown type: says nothing
  // A ClientHello's cipher list from its 45th byte, as a traced echo server read it: HEADERS,
  // length 1043, flags 0x13 (two undefined), stream 0x02010000; refused for the flags.
  CHECK(infer(std::string("\x00\x04\x13\x01\x13\x02\x01\x00\x00\x0b\x00\x00\x00\x07"
                          "\x00\x05\x00\x00\x02\x64\x74", 21)) == DT_START_NONE);
  CHECK(infer(h2_frame_bytes(H2_HEADERS, 0x25, 1, "abc")) == DT_START_FRAMES);  // all defined
  CHECK(infer(h2_frame_bytes(H2_HEADERS, 0x02, 1, "abc")) == DT_START_NONE);
  CHECK(infer(h2_frame_bytes(H2_SETTINGS, 0x02, 0, "")) == DT_START_NONE);
  CHECK(infer("PRI *") == DT_START_REQUEST);  // a cut preface: the rest is checked as it comes
  CHECK(infer("PRI x") == DT_START_NONE);
}
