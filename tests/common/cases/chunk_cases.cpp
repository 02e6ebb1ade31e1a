#include "common/cases/chunk_cases.h"

#include <cstring>
#include <sstream>

namespace difftrace::testing {
namespace {

// n printable bytes that differ from their neighbours (an off-by-one shows), from seed on.
std::string pat(std::size_t n, unsigned seed = 0) {
  std::string s(n, ' ');
  for (std::size_t i = 0; i < n; i++) s[i] = static_cast<char>('!' + (i + seed) % 94);
  return s;
}

std::string last(const std::string& s, std::size_t n) { return s.substr(s.size() - n); }

ChunkCase buf(std::string name, std::string data, std::uint32_t win_len, std::string tail) {
  ChunkCase c;
  c.name = std::move(name);
  c.layout = DT_IO_BUF;
  c.len = data.size();
  c.win_len = win_len;
  c.window = data.substr(0, win_len);
  c.tail = std::move(tail);
  c.iovs = {std::move(data)};
  return c;
}

ChunkCase iov(std::string name, std::vector<std::string> iovs, std::uint64_t len,
              std::uint32_t win_len, std::string tail) {
  ChunkCase c;
  c.name = std::move(name);
  c.layout = DT_IO_IOV;
  c.len = len;
  c.win_len = win_len;
  c.window = iovs.empty() ? "" : iovs[0].substr(0, win_len);
  c.tail = std::move(tail);
  c.iovs = std::move(iovs);
  return c;
}

std::uint64_t sum(const std::vector<std::string>& v) {
  std::uint64_t n = 0;
  for (const auto& s : v) n += s.size();
  return n;
}

std::vector<ChunkCase> build_cases() {
  std::vector<ChunkCase> cases;

  // One buffer (read, recvfrom, write, sendto). An I/O that moved nothing is no I/O.
  cases.push_back(buf("1 byte", "x", 1, "x"));
  cases.push_back(buf("7 bytes: the tail is all of them", "abcdefg", 7, "abcdefg"));
  cases.push_back(buf("8 bytes: the tail is all of them", "abcdefgh", 8, "abcdefgh"));
  cases.push_back(buf("9 bytes: the tail is the last 8", "abcdefghi", 9, "bcdefghi"));
  {
    std::string d = pat(DT_WIN);
    cases.push_back(buf("exactly DT_WIN bytes: the tail comes from the window", d, DT_WIN,
                        last(d, DT_TAIL)));
  }
  {
    std::string d = pat(DT_WIN + 1, 3);
    cases.push_back(buf("DT_WIN + 1 bytes: the tail is read past the window", d, DT_WIN,
                        last(d, DT_TAIL)));
  }
  {
    const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string d = head + pat(100 * 1024 - head.size() - 7, 5) + "\r\n0\r\n\r\n";
    cases.push_back(buf("100 KB ending in a chunked body's end", d, DT_WIN,
                        std::string(1, d[d.size() - 8]) + "\r\n0\r\n\r\n"));
  }
  {
    // The buffer holds more than the syscall moved.
    ChunkCase c = buf("a short write from one buffer", pat(2000, 7), DT_WIN, "");
    c.len = 1500;
    c.tail = c.iovs[0].substr(1492, 8);
    cases.push_back(c);
  }

  // An iovec array (readv, writev, sendmsg, recvmsg). The window holds the first iovec's
  // data only; the tail may span the last two non-empty iovecs that hold data.
  cases.push_back(iov("one iovec holds all the data", {"GET / HTTP/1.1\r\n\r\n"}, 18, 18,
                      "/1.1\r\n\r\n"));
  cases.push_back(iov("data in the first iovec only, empty ones after it",
                      {"hello world", "", ""}, 11, 11, "lo world"));
  {
    std::vector<std::string> v = {pat(3000, 1), pat(500, 2)};
    cases.push_back(iov("the first iovec longer than the data moved (a short write)", v, 1000,
                        1000, v[0].substr(992, 8)));
    cases.push_back(iov("a short write that ends in the second iovec", v, 3100, DT_WIN,
                        v[1].substr(92, 8)));
  }
  {
    std::vector<std::string> v = {pat(1998, 4) + "\r\n", "0\r\n\r\n"};
    cases.push_back(iov("the tail spans two iovecs: a chunk's CRLF, then the last chunk", v,
                        sum(v), DT_WIN, last(v[0], 3) + "0\r\n\r\n"));
  }
  cases.push_back(iov("small iovecs: the window holds the first one only",
                      {"HTTP/1.1 200 OK\r\n", "Content-Length: 2\r\n\r\n", "ok"}, 40, 17,
                      " 2\r\n\r\nok"));
  {
    std::vector<std::string> v = {pat(100, 9), "\n"};
    cases.push_back(
        iov("an iovec of 1 byte at the end", v, 101, 100, last(v[0], 7) + "\n"));
  }
  cases.push_back(iov("iovecs of 1 byte: the tail holds the last two only",
                      {"a", "b", "c", "d", "e"}, 5, 1, "de"));
  {
    std::vector<std::string> v = {pat(1498, 11) + "\r\n", "", "0\r\n\r\n", "", ""};
    cases.push_back(iov("empty iovecs between and at the end", v, sum(v), DT_WIN,
                        last(v[0], 3) + "0\r\n\r\n"));
  }
  cases.push_back(iov("an empty first iovec: the window is empty, the tail is read",
                      {"", "hello world"}, 11, 0, "lo world"));
  {
    std::vector<std::string> v;
    for (unsigned i = 0; i < 20; i++) v.push_back(pat(100, i * 13));
    cases.push_back(
        iov("20 iovecs: the tail is in the last", v, sum(v), 100, last(v[19], DT_TAIL)));
    cases.push_back(iov("20 iovecs, a short write that ends in the 12th", v, 1150, 100,
                        v[11].substr(42, 8)));
  }
  {
    std::vector<std::string> v = {pat(600, 1), pat(600, 2), pat(600, 3)};
    cases.push_back(iov("the data ends exactly at an iovec's end", v, 1200, 600,
                        last(v[1], DT_TAIL)));
  }
  {
    std::vector<std::string> v;
    for (unsigned i = 0; i < 300; i++) v.push_back(pat(3, i));
    cases.push_back(iov("300 iovecs of 3 bytes: the tail is the last two", v, sum(v), 3,
                        v[298] + v[299]));
  }
  {
    // UIO_MAXIOV iovecs, the walk's bound: the last one is still found.
    std::vector<std::string> v;
    for (unsigned i = 0; i < DT_MAX_IOVS; i++) v.push_back(pat(2, i));
    cases.push_back(iov("DT_MAX_IOVS iovecs of 2 bytes: the tail is the last two", v, sum(v), 2,
                        v[DT_MAX_IOVS - 2] + v[DT_MAX_IOVS - 1]));
  }

  // Bytes moved that are not in the process's memory (sendfile): counted, not read.
  {
    ChunkCase c;
    c.name = "sendfile: no data in memory";
    c.layout = DT_IO_NODATA;
    c.len = 65536;
    cases.push_back(c);
  }
  return cases;
}

std::string printable(const std::string& s) {
  std::ostringstream o;
  for (unsigned char ch : s) {
    if (ch == '\r')
      o << "\\r";
    else if (ch == '\n')
      o << "\\n";
    else if (ch < 0x20 || ch > 0x7e)
      o << "\\x" << std::hex << int(ch) << std::dec;
    else
      o << ch;
  }
  return o.str();
}

std::string tail_of(const ChunkOut& out) {
  return std::string(reinterpret_cast<const char*>(out.ch.tail),
                     out.ch.tail_len < DT_TAIL ? out.ch.tail_len : DT_TAIL);
}

std::string window_of(const ChunkOut& out) {
  return std::string(reinterpret_cast<const char*>(out.win.data),
                     out.ch.win_len < DT_WIN ? out.ch.win_len : DT_WIN);
}

}  // namespace

const std::vector<ChunkCase>& chunk_cases() {
  static const std::vector<ChunkCase> cases = build_cases();
  return cases;
}

ChunkIo::ChunkIo(const ChunkCase& c) : bufs_(c.iovs) {
  io_.len = c.len;
  io_.layout = static_cast<__u8>(c.layout);
  io_.dir = DT_DIR_EGRESS;
  io_.ts_enter = kChunkTs;
  if (c.layout == DT_IO_BUF) {
    io_.data = reinterpret_cast<std::uintptr_t>(bufs_.at(0).data());
  } else if (c.layout == DT_IO_IOV) {
    for (const auto& b : bufs_)
      iov_.push_back({reinterpret_cast<std::uintptr_t>(b.data()), b.size()});
    io_.data = reinterpret_cast<std::uintptr_t>(iov_.data());
  }
}

ChunkOut host_chunk(const dt_io& io) {
  ChunkOut out;
  out.ret = dt_chunk_window(&io, &out.win, &out.ch);
  if (out.ret == 0) dt_chunk_tail(&io, &out.win, &out.ch);
  return out;
}

std::string check_chunk(const ChunkCase& c, const ChunkOut& out) {
  std::ostringstream err;
  if (out.ret != 0) return "dt_chunk_window answered " + std::to_string(out.ret) + "\n";
  if (out.ch.win_len != c.win_len) err << "win_len " << out.ch.win_len << ", expected " << c.win_len << "\n";
  if (out.ch.total_len != c.len) err << "total_len " << out.ch.total_len << ", expected " << c.len << "\n";
  if (window_of(out) != c.window.substr(0, out.ch.win_len)) err << "the window's bytes differ\n";
  if (out.ch.tail_len != c.tail.size())
    err << "tail_len " << out.ch.tail_len << ", expected " << c.tail.size() << "\n";
  if (tail_of(out) != c.tail)
    err << "tail \"" << printable(tail_of(out)) << "\", expected \"" << printable(c.tail) << "\"\n";
  if (out.ch.dir != DT_DIR_EGRESS) err << "dir " << int(out.ch.dir) << ", expected egress\n";
  if (out.ch.ts_enter != ChunkIo::kChunkTs) err << "ts_enter " << out.ch.ts_enter << "\n";
  return err.str();
}

std::string chunk_diff(const ChunkOut& a, const ChunkOut& b) {
  std::ostringstream err;
  if (a.ret != b.ret) err << "dt_chunk_window answered " << a.ret << " against " << b.ret << "\n";
  if (a.ch.win_len != b.ch.win_len) err << "win_len " << a.ch.win_len << " against " << b.ch.win_len << "\n";
  if (a.ch.total_len != b.ch.total_len)
    err << "total_len " << a.ch.total_len << " against " << b.ch.total_len << "\n";
  if (window_of(a) != window_of(b)) err << "the window's bytes differ\n";
  if (a.ch.tail_len != b.ch.tail_len) err << "tail_len " << a.ch.tail_len << " against " << b.ch.tail_len << "\n";
  if (tail_of(a) != tail_of(b))
    err << "tail \"" << printable(tail_of(a)) << "\" against \"" << printable(tail_of(b)) << "\"\n";
  if (a.ch.dir != b.ch.dir) err << "dir " << int(a.ch.dir) << " against " << int(b.ch.dir) << "\n";
  if (a.ch.ts_enter != b.ch.ts_enter) err << "ts_enter " << a.ch.ts_enter << " against " << b.ch.ts_enter << "\n";
  return err.str();
}

}  // namespace difftrace::testing
