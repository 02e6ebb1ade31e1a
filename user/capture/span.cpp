#include "capture/span.h"

namespace difftrace::capture {

void hex_into(char* out, const std::uint8_t* bytes, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  for (std::size_t i = 0; i < n; i++) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
}

std::string to_hex(const std::uint8_t* bytes, std::size_t n) {
  std::string s(2 * n, '0');
  hex_into(s.data(), bytes, n);
  return s;
}

std::string SpanFields::error_text() const {
  if (rpc_error()) return "grpc-status " + std::to_string(*rpc->grpc_status);
  if (stream_reset()) return "stream reset";
  return status ? "HTTP " + std::to_string(status) : "no response";
}

}  // namespace difftrace::capture
