#include "capture/endpoint_template.h"

#include <algorithm>
#include <cstring>

#include "path_template.h"

namespace difftrace::capture {

// The same steps as include/path_template.h's scan (pt_step, pt_end_segment), with its
// state in locals: through the C code, a struct behind a pointer and a callback per byte,
// it cost ~490 instructions a span (16 a byte, and 256 bytes cleared for the kernel's
// buffer), made once per span as it comes in. The unit tests compare the two on every
// byte value at every place and on random targets (test_request_target.cpp), so that a
// change to one that the other lacks fails there.
std::string path_template(std::string_view path) {
  const std::size_t n = std::min<std::size_t>(path.size(), DT_TARGET_MAX - 1);
  char out[DT_TEMPLATE_MAX];
  std::size_t len = 0;
  const auto put = [&](char c) {
    if (len < DT_TEMPLATE_MAX - 1) out[len++] = c;
  };
  std::size_t seg_out = 0, seg_len = 0;
  bool digits = true, hexish = true, has_digit = false;
  const auto end_segment = [&] {
    if (!seg_len) return;
    if (digits) {
      len = seg_out;
      put('{');
      put('n');
      put('}');
    } else if (hexish && has_digit && seg_len >= DT_ID_MIN_LEN) {
      len = seg_out;
      put('{');
      put('i');
      put('d');
      put('}');
    }
  };
  for (std::size_t i = 0; i < n; i++) {
    const char c = path[i];
    if (c == '?' || c == '#' || c == 0) break;
    if (c == '/') {
      end_segment();
      put('/');
      seg_out = len;
      seg_len = 0;
      digits = hexish = true;
      has_digit = false;
      continue;
    }
    const bool digit = c >= '0' && c <= '9';
    const auto lower = static_cast<unsigned char>(c | 0x20);
    if (!digit)
      digits = false;
    else
      has_digit = true;
    if (!digit && c != '-' && !(lower >= 'a' && lower <= 'f')) hexish = false;
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
