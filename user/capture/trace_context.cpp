#include "capture/trace_context.h"

#include <array>
#include <bit>
#include <cstring>

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

// The 4 bytes that 8 hex digits (in memory order) spell, in memory order, and whether every
// one of the 8 is a hex digit. Range tests on all 8 bytes at once: a byte under 0x80 plus
// (0x80 - bound) sets its bit 7 exactly when it is at least the bound, and never carries
// into the next byte. The table's load per digit before (kHexValue) took ~18 instructions a
// byte decoded, ~440 for a span's W3C ids.
inline bool hex_word(const char* text, std::uint32_t& out) {
  static_assert(std::endian::native == std::endian::little);
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  std::uint64_t w;
  std::memcpy(&w, text, 8);
  const auto at_least = [&](std::uint64_t x, unsigned bound) { return x + ones * (0x80 - bound); };
  const std::uint64_t digit = at_least(w, '0') & ~at_least(w, '9' + 1);
  const std::uint64_t lower = w | ones * 0x20;  // 'A'-'F' as 'a'-'f'
  const std::uint64_t letter = at_least(lower, 'a') & ~at_least(lower, 'f' + 1);
  const bool valid = (((digit | letter) & ~w & highs) == highs);
  // A digit's value is its low nibble; a letter's, its low nibble (1-6) plus 9.
  std::uint64_t v = (w & ones * 0x0f) + ((letter & highs) >> 7) * 9;
  v = (v & 0x00ff00ff00ff00ffull) << 4 | ((v >> 8) & 0x00ff00ff00ff00ffull);  // 2 digits a byte
  v = (v | v >> 8) & 0x0000ffff0000ffffull;
  v = (v | v >> 16) & 0xffffffffull;
  out = static_cast<std::uint32_t>(v);
  return valid;
}

template <std::size_t N>
bool decode_hex(const char* text, std::array<std::uint8_t, N>& out) {
  static_assert(N % 4 == 0);
  // Invalid digits are and-ed together and tested once, at the end (out is then not used).
  bool valid = true;
  std::uint32_t any = 0;
  for (std::size_t i = 0; i < N; i += 4) {
    std::uint32_t bytes;
    valid &= hex_word(text + 2 * i, bytes);
    std::memcpy(out.data() + i, &bytes, 4);
    any |= bytes;
  }
  return valid && any != 0;  // all-zero ids are invalid in both W3C and B3
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
