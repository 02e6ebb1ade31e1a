#include "capture/trace_context.h"

#include "protocols/http1/http1.h"

namespace difftrace::capture {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <std::size_t N>
bool decode_hex(const char* text, std::array<std::uint8_t, N>& out) {
  bool any = false;
  for (std::size_t i = 0; i < N; i++) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    any |= out[i] != 0;
  }
  return any;  // all-zero ids are invalid in both W3C and B3
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
