// Writes JSON pieces through a plain pointer into room reserved up front in a
// fmt::memory_buffer, for the JSON report's traces (every trace of the run is
// written: 230 bytes a span; appending each piece through the buffer, a size
// check and a call each, cost more than analyzing the trace). Strings that
// need no escape are copied as they are; any other goes through
// exporters::append_json_string, the one escaper.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <string_view>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "export/otlp_json.h"

namespace difftrace::analyze {

class JsonOut {
 public:
  // Reserves `room` bytes after what out holds; every write after must fit in it, except
  // strings, which take what they need (2 bytes and their own length counted in room).
  JsonOut(fmt::memory_buffer& out, std::size_t room) : out_(out), room_(room) { reserve(out.size()); }
  // Gives the buffer back its true size.
  ~JsonOut() { out_.try_resize(static_cast<std::size_t>(p_ - out_.data())); }
  JsonOut(const JsonOut&) = delete;
  JsonOut& operator=(const JsonOut&) = delete;

  template <std::size_t N>
  void literal(const char (&s)[N]) {
    std::memcpy(p_, s, N - 1);
    p_ += N - 1;
  }
  void ch(char c) { *p_++ = c; }
  void raw(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void string(std::string_view s) {
    if (plain(s)) {
      *p_++ = '"';
      raw(s);
      *p_++ = '"';
      return;
    }
    const std::size_t at = static_cast<std::size_t>(p_ - out_.data());
    out_.try_resize(at);
    exporters::append_json_string(out_, s);
    reserve(out_.size());
  }
  void number(std::uint64_t v) {
    char digits[20];
    char* d = digits + sizeof digits;
    while (v >= 100) {
      d -= 2;
      std::memcpy(d, kPairs + (v % 100) * 2, 2);
      v /= 100;
    }
    if (v >= 10) {
      d -= 2;
      std::memcpy(d, kPairs + v * 2, 2);
    } else {
      *--d = static_cast<char>('0' + v);
    }
    raw(std::string_view(d, static_cast<std::size_t>(digits + sizeof digits - d)));
  }
  void number(std::int64_t v) {
    if (v < 0) {
      *p_++ = '-';
      number(~static_cast<std::uint64_t>(v) + 1);  // INT64_MIN too
    } else {
      number(static_cast<std::uint64_t>(v));
    }
  }
  void number(std::uint32_t v) { number(std::uint64_t{v}); }
  void number(int v) { number(std::int64_t{v}); }
  void boolean(bool v) {
    if (v)
      literal("true");
    else
      literal("false");
  }

 private:
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  // Printable ASCII but the quote and the backslash: written as it is.
  static bool plain(std::string_view s) {
    unsigned bad = 0;
#ifdef __SSE2__
    // 16 bytes at a time: below 0x20 or from 0x80 (one signed compare), 0x7f, '"', '\\'.
    while (s.size() >= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data()));
      const __m128i hit = _mm_or_si128(
          _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))),
          _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
      if (_mm_movemask_epi8(hit)) return false;
      s.remove_prefix(16);
    }
#endif
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      bad |= (u < 0x20) | (u >= 0x7f) | (u == '"') | (u == '\\');
    }
    return !bad;
  }
  void reserve(std::size_t at) {
    out_.try_resize(at + room_);
    p_ = out_.data() + at;
  }
  fmt::memory_buffer& out_;
  std::size_t room_;
  char* p_ = nullptr;
};

}  // namespace difftrace::analyze
