#include "capture/endpoint_template.h"

#include <algorithm>
#include <cstring>

#include "path_template.h"

namespace difftrace::capture {

std::string path_template(std::string_view path) {
  // The C code reads a buffer of at least DT_TARGET_MAX bytes, as in the kernel.
  char buf[2 * DT_TARGET_MAX] = {};
  std::size_t n = std::min<std::size_t>(path.size(), DT_TARGET_MAX - 1);
  std::memcpy(buf, path.data(), n);
  dt_path_template t{};
  dt_path_template_of(buf, static_cast<__u32>(n), &t);
  return std::string(t.text, t.len);
}

}  // namespace difftrace::capture
