#include "capture/trace_context.h"

#include <array>

#include "protocols/http1/http1.h"

namespace difftrace::capture {
namespace {

// A byte's hex digit value, 0x10 or more for a byte that is none: one load per digit. Every
// reported span's ids are decoded here (48 digits with a W3C header), and three range tests
// per digit were 7% of the ingest loop's instructions.
constexpr std::array<std::uint8_t, 256> kHexValue = [] {
  std::array<std::uint8_t, 256> v{};
  for (auto& x : v) x = 0xff;
  for (int c = '0'; c <= '9'; c++) v[c] = static_cast<std::uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; c++) v[c] = static_cast<std::uint8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; c++) v[c] = static_cast<std::uint8_t>(c - 'A' + 10);
  return v;
}();

int hex_value(char c) {
  const std::uint8_t v = kHexValue[static_cast<unsigned char>(c)];
  return v < 16 ? v : -1;
}

template <std::size_t N>
bool decode_hex(const char* text, std::array<std::uint8_t, N>& out) {
  // Invalid digits are or-ed together and tested once, at the end (out is then not used).
  unsigned bad = 0, any = 0;
  for (std::size_t i = 0; i < N; i++) {
    const unsigned hi = kHexValue[static_cast<unsigned char>(text[2 * i])];
    const unsigned lo = kHexValue[static_cast<unsigned char>(text[2 * i + 1])];
    bad |= hi | lo;
    out[i] = static_cast<std::uint8_t>(hi << 4 | (lo & 0xf));
    any |= out[i];
  }
  return bad < 16 && any != 0;  // all-zero ids are invalid in both W3C and B3
}

}  // namespace

std::optional<TraceContext> decode_trace_context(int kind, const char (&trace_id)[32],
                                                 const char (&parent_id)[16],
                                                 const char (&flags)[2]) {
  if (kind != DT_CTX_W3C && kind != DT_CTX_B3 && kind != DT_CTX_W3C_RESPONSE &&
      kind != DT_CTX_KERNEL)
    return std::nullopt;
  TraceContext ctx;
  if (!decode_hex(trace_id, ctx.trace_id)) return std::nullopt;
  if (kind != DT_CTX_W3C_RESPONSE && kind != DT_CTX_KERNEL) {
    SpanId parent{};
    if (!decode_hex(parent_id, parent)) return std::nullopt;
    ctx.parent_id = parent;
  }
  int hi = hex_value(flags[0]), lo = hex_value(flags[1]);
  if (hi < 0 || lo < 0) return std::nullopt;
  ctx.sampled = lo & 1;
  return ctx;
}

std::optional<SpanId> decode_span_id(const char (&text)[16]) {
  SpanId id{};
  if (!decode_hex(text, id)) return std::nullopt;
  return id;
}

}  // namespace difftrace::capture
