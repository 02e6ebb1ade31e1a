#include "capture/endpoint_template.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "path_template.h"

namespace difftrace::capture {

namespace {

// What a byte is to the scan: a digit (and so hex-ish), hex-ish (a-f, A-F, '-'), the
// segments' separator, or the target's end ('?', '#', NUL).
enum : std::uint8_t { kDigit = 1, kHexish = 2, kSlash = 4, kStop = 8 };
constexpr auto kByteClass = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = '0'; c <= '9'; c++) t[c] = kDigit | kHexish;
  for (int c = 'a'; c <= 'f'; c++) t[c] = t[c - 'a' + 'A'] = kHexish;
  t['-'] = kHexish;
  t['/'] = kSlash;
  t['?'] = t['#'] = t[0] = kStop;
  return t;
}();

}  // namespace

// The same steps as include/path_template.h's scan (pt_step, pt_end_segment), with its
// state in locals and a byte's class from a table: through the C code, a struct behind a
// pointer and a callback per byte, it cost ~490 instructions a span (16 a byte, and 256
// bytes cleared for the kernel's buffer), made once per span as it comes in. The unit tests
// compare the two on every byte value at every place and on random targets
// (test_request_target.cpp), so that a change to one that the other lacks fails there.
std::string path_template(std::string_view path) {
  const std::size_t n = std::min<std::size_t>(path.size(), DT_TARGET_MAX - 1);
  char out[DT_TEMPLATE_MAX];
  std::size_t len = 0;
  // The C code's pt_put: bytes past DT_TEMPLATE_MAX - 1 are dropped. Written anyway, at
  // out[DT_TEMPLATE_MAX - 1] (the NUL's place, not kept), without a branch.
  const auto put = [&](char c) {
    out[len] = c;
    len += len < DT_TEMPLATE_MAX - 1;
  };
  std::size_t seg_out = 0, seg_len = 0;
  // The segment's bytes' classes and-ed (all digits, all hex-ish) and or-ed (a digit).
  std::uint8_t all = kDigit | kHexish, any = 0;
  const auto end_segment = [&] {
    if (!seg_len) return;
    if (all & kDigit) {
      len = seg_out;
      put('{');
      put('n');
      put('}');
    } else if ((all & kHexish) && (any & kDigit) && seg_len >= DT_ID_MIN_LEN) {
      len = seg_out;
      put('{');
      put('i');
      put('d');
      put('}');
    }
  };
  for (std::size_t i = 0; i < n; i++) {
    const char c = path[i];
    const std::uint8_t f = kByteClass[static_cast<unsigned char>(c)];
    if (f & (kSlash | kStop)) {
      if (f & kStop) break;
      end_segment();
      put('/');
      seg_out = len;
      seg_len = 0;
      all = kDigit | kHexish;
      any = 0;
      continue;
    }
    all &= f;
    any |= f;
    seg_len++;
    put(c);
  }
  end_segment();
  return std::string(out, len);
}

// The kernel's code itself, for the tests that hold the two together.
std::string path_template_kernel_code(std::string_view path) {
  // The C code reads a buffer of at least DT_TARGET_MAX bytes, as in the kernel.
  char buf[2 * DT_TARGET_MAX] = {};
  std::size_t n = std::min<std::size_t>(path.size(), DT_TARGET_MAX - 1);
  std::memcpy(buf, path.data(), n);
  dt_path_template t{};
  dt_path_template_of(buf, static_cast<__u32>(n), &t);
  return std::string(t.text, t.len);
}

}  // namespace difftrace::capture
