#include "export/otlp_json.h"

#include <array>
#include <bit>

#include "capture/endpoint_template.h"
#include "export/span_attributes.h"

#include "export/resource.h"
#include "export/utf8.h"

namespace difftrace::exporters {
namespace {

// What one escaped byte can become at most: a control byte is \u00XX.
constexpr std::size_t kEscapedMax = 6;

// "00" "01" ... "99": two decimal digits at a time.
constexpr auto kDigitPairs = [] {
  std::array<char, 200> t{};
  for (int i = 0; i < 100; i++) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// "00" "01" ... "ff": a byte's two lowercase hex digits.
constexpr auto kHexPairs = [] {
  constexpr char digits[] = "0123456789abcdef";
  std::array<char, 512> t{};
  for (int i = 0; i < 256; i++) {
    t[2 * i] = digits[i >> 4];
    t[2 * i + 1] = digits[i & 15];
  }
  return t;
}();

// 10^0 ... 10^19: a number's digit count from its bit width.
constexpr auto kPowersOf10 = [] {
  std::array<std::uint64_t, 20> t{};
  t[0] = 1;
  for (std::size_t i = 1; i < t.size(); i++) t[i] = t[i - 1] * 10;
  return t;
}();

// The 8 lowercase hex digits of the 4 bytes w holds (in memory order), as 8 bytes in
// memory order: each byte spread over two, its nibbles turned into digits at once.
inline std::uint64_t hex_digits4(std::uint32_t w) {
  static_assert(std::endian::native == std::endian::little);
  std::uint64_t t = w;
  t = (t | t << 16) & 0x0000ffff0000ffffull;
  t = (t | t << 8) & 0x00ff00ff00ff00ffull;  // byte i of w at byte 2i
  constexpr std::uint64_t low = 0x000f000f000f000full;
  // The high nibble first (at byte 2i), the low one after it (2i + 1).
  const std::uint64_t nibbles = ((t >> 4) & low) | (t & low) << 8;
  // 10 to 15 carry into bit 4 when 6 is added: those take 'a' - '0' - 10 = 39 more.
  const std::uint64_t letters = ((nibbles + 0x0606060606060606ull) >> 4) & 0x0101010101010101ull;
  return nibbles + 0x3030303030303030ull + letters * 39;
}

// Does one of the 8 bytes of w need a look: below 0x20, '"', '\\', 0x7f, or 0x80 and up (a
// UTF-8 sequence to check)? Exact, byte by byte: each test is on the byte's low 7 bits, where
// an addition never carries into the next byte, and its answer lands in the byte's bit 7
// (13 operations; has-zero tests per character, as before, took 22). Most of an exported
// string is 8-byte words of plain ASCII, passed over at once.
inline bool needs_look(std::uint64_t w) {
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  constexpr std::uint64_t low7 = ~highs;
  const std::uint64_t t = w & low7;
  const std::uint64_t from_space = t + ones * (0x80 - 0x20);       // bit 7: t >= 0x20
  const std::uint64_t not_quote = (t ^ (ones * '"')) + low7;       // bit 7: t != '"'
  const std::uint64_t not_backslash = (t ^ (ones * '\\')) + low7;  // bit 7: t != '\\'
  const std::uint64_t del = t + ones;                              // bit 7: t == 0x7f
  return ((~(from_space & not_quote & not_backslash) | del | w) & highs) != 0;
}

// Writes the n (< 8) bytes at d to p as they are when none needs escaping, and returns
// the end; else writes nothing and returns null. Two loads that together cover them,
// overlapping where they must, and their bytes looked at at once as needs_look does (bytes
// no load sets are plain spaces).
inline char* short_plain(char* p, const char* d, std::size_t n) {
  if (n >= 4) {
    std::uint32_t lo, hi;
    std::memcpy(&lo, d, 4);
    std::memcpy(&hi, d + n - 4, 4);
    if (needs_look(lo | (std::uint64_t{hi} << 32))) return nullptr;
    std::memcpy(p, &lo, 4);
    std::memcpy(p + n - 4, &hi, 4);
  } else if (n > 0) {
    const char a = d[0], b = d[n / 2], c = d[n - 1];
    const auto byte = [](char x) { return std::uint64_t{static_cast<unsigned char>(x)}; };
    if (needs_look(0x2020202020000000ull | byte(a) | byte(b) << 8 | byte(c) << 16))
      return nullptr;
    p[0] = a;
    p[n / 2] = b;
    p[n - 1] = c;
  }
  return p + n;
}

// JSON string escaping without the quotes into p, at most kEscapedMax bytes per byte of s;
// returns the end. A function of the write position, not a Cursor's member: a cursor whose
// address a call takes lives in memory, and each of its byte stores (char aliases anything)
// made the compiler load its position again.
char* write_chars(char* p, std::string_view s) {
  const char* d = s.data();
  const std::size_t n = s.size();
  if (n < 8) {  // a method, a label: one look
    if (char* e = short_plain(p, d, n)) return e;
  } else if (n <= 16) {  // an address, a path: two words that cover it, overlapping
    std::uint64_t lo, hi;
    std::memcpy(&lo, d, 8);
    std::memcpy(&hi, d + n - 8, 8);
    if (!(needs_look(lo) | needs_look(hi))) {
      std::memcpy(p, &lo, 8);
      std::memcpy(p + n - 8, &hi, 8);
      return p + n;
    }
  }
  for (std::size_t i = 0;;) {
    for (std::uint64_t w; i + 8 <= n; i += 8) {
      std::memcpy(&w, d + i, 8);
      if (needs_look(w)) break;
      std::memcpy(p, &w, 8);
      p += 8;
    }
    if (i >= n) return p;
    if (n >= 8 && i > n - 8) {  // the last bytes: one word that ends with them
      std::uint64_t w;
      std::memcpy(&w, d + n - 8, 8);
      if (!needs_look(w)) {
        // Its bytes before d[i] were plain too, so written as they are, just before p.
        std::memcpy(p - (i - (n - 8)), &w, 8);
        return p + (n - i);
      }
    }
    const auto c = static_cast<unsigned char>(d[i]);
    if (c >= 0x80) {  // a UTF-8 sequence passes as is; a byte that starts none is U+FFFD
      if (const std::size_t len = utf8_sequence_length(s, i)) {
        std::memcpy(p, d + i, len);
        p += len;
        i += len;
      } else {
        std::memcpy(p, "\xef\xbf\xbd", 3);
        p += 3;
        i++;
      }
      continue;
    }
    i++;
    if (c == '"' || c == '\\') {
      *p++ = '\\';
      *p++ = static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      std::memcpy(p, "\\u00", 4);
      std::memcpy(p + 4, &kHexPairs[c * 2], 2);
      p += 6;
    } else {
      *p++ = static_cast<char>(c);
    }
  }
}

// Writes into memory reserved beforehand for a piece of known bound (a span, a resource's
// head, a string): no capacity check and no call per piece. fmt's append checks the
// capacity and calls memcpy for each of a span's ~100 pieces, most a few bytes long, which
// was most of the encoding's time with every span exported.
class Cursor {
 public:
  explicit Cursor(char* at) : p_(at) {}
  char* end() const { return p_; }

  // A literal's length is known here, so its copy is a few stores.
  template <std::size_t N>
  void lit(const char (&s)[N]) {
    std::memcpy(p_, s, N - 1);
    p_ += N - 1;
  }
  void put(char c) { *p_++ = c; }
  void raw(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }

  // Decimal, as std::to_string and fmt write it: the digits counted first, then written
  // in place from the last, two at a time. At most 20 bytes.
  void uint(std::uint64_t v) {
    const int bits = 64 - __builtin_clzll(v | 1);
    const int t = (bits * 1233) >> 12;  // log10(2) ~ 1233 / 4096
    const std::size_t n = static_cast<std::size_t>(t) + ((v | 1) >= kPowersOf10[t] ? 1 : 0);
    char* q = p_ + n;
    while (v >= 10000) {  // four digits per 64-bit division, two per 32-bit one
      const auto r = static_cast<std::uint32_t>(v % 10000);
      v /= 10000;
      q -= 4;
      std::memcpy(q, &kDigitPairs[(r / 100) * 2], 2);
      std::memcpy(q + 2, &kDigitPairs[(r % 100) * 2], 2);
    }
    auto r = static_cast<std::uint32_t>(v);
    if (r >= 100) {
      q -= 2;
      std::memcpy(q, &kDigitPairs[(r % 100) * 2], 2);
      r /= 100;
    }
    if (r >= 10) {
      q -= 2;
      std::memcpy(q, &kDigitPairs[r * 2], 2);
    } else {
      *--q = static_cast<char>('0' + r);
    }
    p_ += n;
  }

  // An id as a JSON string of lowercase hex: 2 * N + 2 bytes, 4 bytes at a time.
  template <std::size_t N>
  void hex(const std::array<std::uint8_t, N>& id) {
    static_assert(N % 4 == 0);
    *p_++ = '"';
    for (std::size_t i = 0; i < N; i += 4) {
      std::uint32_t w;
      std::memcpy(&w, id.data() + i, 4);
      const std::uint64_t digits = hex_digits4(w);
      std::memcpy(p_ + 2 * i, &digits, 8);
    }
    p_ += 2 * N;
    *p_++ = '"';
  }

  // JSON string escaping without the quotes: at most kEscapedMax bytes per byte of s.
  void chars(std::string_view s) { p_ = write_chars(p_, s); }
  void string(std::string_view s) {
    *p_++ = '"';
    chars(s);
    *p_++ = '"';
  }

 private:
  char* p_;
};

// Reserves room for `bound` more bytes, writes them with `write(Cursor&)` and keeps what
// was written (never more than the bound).
template <typename Write>
[[gnu::always_inline]] inline void write_bounded(fmt::memory_buffer& out, std::size_t bound,
                                                  Write&& write) {
  const std::size_t at = out.size();
  out.try_reserve(at + bound);  // a memory_buffer always grows to the capacity asked
  Cursor c(out.data() + at);
  write(c);
  out.try_resize(static_cast<std::size_t>(c.end() - out.data()));
}

// Inlined where the keys are literals: their copies become a few stores, not memcpy calls.
[[gnu::always_inline]] inline void str_attr(Cursor& c, std::string_view key,
                                            std::string_view value, bool first = false) {
  if (first)
    c.lit("{\"key\":\"");
  else
    c.lit(",{\"key\":\"");
  c.raw(key);
  c.lit("\",\"value\":{\"stringValue\":\"");
  c.chars(value);
  c.lit("\"}}");
}

// OTLP JSON carries 64-bit integers as decimal strings.
[[gnu::always_inline]] inline void int_attr(Cursor& c, std::string_view key,
                                            std::uint64_t value) {
  c.lit(",{\"key\":\"");
  c.raw(key);
  c.lit("\",\"value\":{\"intValue\":\"");
  c.uint(value);
  c.lit("\"}}");
}

// Everything of a span's JSON but its escaped strings, with room to spare: the literals,
// keys and numbers of every attribute that can be set add up to under 3,000 bytes.
constexpr std::size_t kSpanFixedMax = 4096;

void append_span(fmt::memory_buffer& out, const capture::Span& s) {
  // The span name, `{method} {template}` (capture::span_name), escaped in two parts: no
  // string made per span. The same bytes: a UTF-8 sequence cannot run across the space.
  std::string made_template;
  std::string_view name_template = s.path_template;
  if (name_template.empty()) name_template = made_template = capture::path_template(s.path);
  std::string error_text;
  if (s.is_error()) error_text = s.error_text();  // no character that JSON escapes

  // Every string that is escaped, at its longest escaped. The labels (decision, reason,
  // estimate method) are short static names, within the fixed part.
  std::size_t strings = 2 * s.method.size() + name_template.size() + s.path.size() +
                        s.query.size() + s.path_template.size() + s.local.address.size() +
                        s.peer.address.size() + error_text.size();
  if (s.rpc) strings += s.rpc->service.size() + s.rpc->method.size();
  const std::size_t bound = kSpanFixedMax + kEscapedMax * strings;
  write_bounded(out, bound, [&](Cursor& c) __attribute__((always_inline)) {
    c.lit("{\"traceId\":");
    c.hex(s.trace_id);
    c.lit(",\"spanId\":");
    c.hex(s.span_id);
    if (s.parent_span_id) {
      c.lit(",\"parentSpanId\":");
      c.hex(*s.parent_span_id);
    }
    c.lit(",\"name\":\"");
    c.chars(s.method);
    c.put(' ');
    c.chars(name_template);
    c.put('"');
    if (s.kind == capture::SpanKind::kServer)
      c.lit(",\"kind\":2");
    else
      c.lit(",\"kind\":3");
    c.lit(",\"startTimeUnixNano\":\"");
    c.uint(s.start_unix_ns);
    c.lit("\",\"endTimeUnixNano\":\"");
    c.uint(s.end_unix_ns);
    c.lit("\",\"attributes\":[");
    bool first = true;
    for_each_otlp_attribute(
        s,
        [&](std::string_view key, std::string_view value) __attribute__((always_inline)) {
          str_attr(c, key, value, first);
          first = false;
        },
        [&](std::string_view key, std::uint64_t value)
            __attribute__((always_inline)) { int_attr(c, key, value); });
    c.lit("],\"status\":");
    if (!error_text.empty()) {
      c.lit("{\"code\":2,\"message\":\"");
      c.raw(error_text);
      c.lit("\"}");
    } else {
      c.lit("{}");
    }
    c.put('}');
  });
}

}  // namespace

void append_json_string(fmt::memory_buffer& out, std::string_view s) {
  write_bounded(out, kEscapedMax * s.size() + 2, [&](Cursor& c) { c.string(s); });
}

void append_json_chars(fmt::memory_buffer& out, std::string_view s) {
  write_bounded(out, kEscapedMax * s.size(), [&](Cursor& c) { c.chars(s); });
}

void append_otlp_request(fmt::memory_buffer& out, const std::vector<capture::Span>& spans,
                         const std::string& host_name) {
  const std::vector<std::size_t> order = resource_order(spans);
  append(out, "{\"resourceSpans\":[");
  for (std::size_t i = 0; i < order.size(); i++) {
    const auto& first = spans[order[i]];
    const auto& extra = extra_resource(first);
    std::size_t bound = 256 + kEscapedMax * (first.service_name.size() + host_name.size());
    for (const auto& [key, value] : extra) bound += 64 + key.size() + kEscapedMax * value.size();
    write_bounded(out, bound, [&](Cursor& c) {
      if (i) c.put(',');
      c.lit("{\"resource\":{\"attributes\":[");
      str_attr(c, "service.name", first.service_name, true);
      int_attr(c, "process.pid", first.pid);
      str_attr(c, "host.name", host_name);
      for (const auto& [key, value] : extra) str_attr(c, key, value);
      c.lit("]},\"scopeSpans\":[{\"scope\":{\"name\":\"difftrace\"},\"spans\":[");
    });
    for (std::size_t j = i; j < order.size(); j++) {
      const auto& s = spans[order[j]];
      if (!same_resource(s, first)) break;
      if (j > i) out.push_back(',');
      append_span(out, s);
      i = j;
    }
    append(out, "]}]}");
  }
  append(out, "]}");
}

}  // namespace difftrace::exporters
