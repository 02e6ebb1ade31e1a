// The HTTP/1.x boundary logic of include/protocols/http1/, compiled on the
// host: every case of the shared table, plus the pieces on their own.
#include <catch2/catch.hpp>
#include <cstring>

#include "common/cases/http1_cases.h"

using namespace difftrace::testing;

TEST_CASE("every boundary case gives the expected exchanges on the host", "[http]") {
  HostDriver host;
  for (const auto& c : http_cases()) {
    SECTION(c.name) {
      auto r = run_case(c, host);
      INFO(c.name);
      CHECK(check_case(c, r) == "");
    }
  }
}

namespace {
int classify(const std::string& s) {
  auto in = make_input(s);
  return http1_infer(&in.win, in.win_len);
}
}  // namespace

TEST_CASE("the start of a message is classified from its first bytes", "[http]") {
  struct Row {
    const char* bytes;
    int kind;
  };
  const Row rows[] = {
      {"GET / HTTP/1.1\r\n", DT_START_REQUEST},
      {"POST /x HTTP/1.1\r\n", DT_START_REQUEST},
      {"DELETE /x HTTP/1.1\r\n", DT_START_REQUEST},
      {"OPTIONS * HTTP/1.1\r\n", DT_START_REQUEST},
      {"GET http://a/b HTTP/1.1\r\n", DT_START_REQUEST},
      {"CONNECT example.com:443 HTTP/1.1\r\n", DT_START_REQUEST},
      {"HTTP/1.1 200 OK\r\n", DT_START_RESPONSE},
      {"HTTP/1.0 503 Service Unavailable\r\n", DT_START_RESPONSE},
      {"HTTP/1.1 200\r\n", DT_START_RESPONSE},
      {"get / HTTP/1.1\r\n", DT_START_NONE},  // methods are case-sensitive
      {"GET", DT_START_NONE},
      {"GETX / HTTP/1.1", DT_START_NONE},
      {"GET  / HTTP/1.1", DT_START_NONE},
      {"HTTP/2.0 200 OK\r\n", DT_START_NONE},
      {"HTTP/1.1 099 Low\r\n", DT_START_NONE},
      {"HTTP/1.1 600 High\r\n", DT_START_NONE},
      {"HTTP/1.1 20x OK\r\n", DT_START_NONE},
      {"HTTP/1.1 2000 OK\r\n", DT_START_NONE},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", DT_START_NONE},  // HTTP/2 preface
      {"", DT_START_NONE},
  };
  for (const auto& row : rows) {
    INFO(row.bytes);
    CHECK(classify(row.bytes) == row.kind);
  }
}

TEST_CASE("chunked end is recognised only as a whole zero chunk", "[http]") {
  struct Row {
    std::string data;
    bool ends;
  };
  const Row rows[] = {
      {"0\r\n\r\n", true},
      {"abc\r\n0\r\n\r\n", true},
      {"0\r\n\r\nX", false},
      {"10\r\n\r\n", false},  // "10" is not the zero chunk
      {"\r\n\r\n", false},
      {"x0\r\n\r\n", false},
  };
  for (const auto& row : rows) {
    auto in = make_input(row.data);
    dt_chunk ch = chunk_of(in);
    INFO(row.data);
    CHECK(bool(ht_ends_chunked(&ch)) == row.ends);
  }
}

TEST_CASE("a chunk's tail comes from its window when the window holds it all", "[http]") {
  auto in = make_input("HTTP/1.1 200 OK\r\n\r\n0\r\n\r\n");
  dt_chunk ch{};
  ch.win_len = in.win_len;
  ch.total_len = in.total_len;
  dt_tail_from_window(&in.win, &ch);
  REQUIRE(ch.tail_len == DT_TAIL);
  CHECK(std::string(reinterpret_cast<char*>(ch.tail), DT_TAIL) == "\n\r\n0\r\n\r\n");
}

TEST_CASE("request targets collapse into bounded endpoint templates", "[http][template]") {
  for (const auto& c : path_template_cases()) {
    INFO("path: " << c.path);
    CHECK(host_path_template(c.path) == c.want);
  }
}

// The scan's word tests mark exactly the bytes that pass, whatever their
// neighbours: every byte value at every position, among fillers that make a
// subtracting test borrow or carry.
TEST_CASE("the word-at-a-time byte tests are exact for every byte", "[http]") {
  const __u8 fillers[] = {0x00, 0x01, 0x0a, 0x0b, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff};
  auto unprintable = [](__u8 c) { return c < 0x20 || c >= 0x7f; };
  int wrong = 0;
  for (__u8 f : fillers)
    for (int p = 0; p < 8; p++)
      for (int v = 0; v < 256; v++) {
        __u8 bytes[8];
        std::memset(bytes, f, sizeof bytes);
        bytes[p] = static_cast<__u8>(v);
        __u64 w;
        std::memcpy(&w, bytes, sizeof w);
        __u64 want_nl = 0, want_unprintable = 0;
        for (int i = 0; i < 8; i++) {
          if (bytes[i] == '\n') want_nl |= 0x80ULL << (8 * i);
          if (unprintable(bytes[i])) want_unprintable |= 0x80ULL << (8 * i);
        }
        wrong += ht_bytes_eq(w, '\n') != want_nl;
        wrong += ht_bytes_unprintable(w) != want_unprintable;
      }
  CHECK(wrong == 0);
}
