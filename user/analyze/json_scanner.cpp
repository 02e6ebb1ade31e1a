#include "analyze/json_scanner.h"

#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace difftrace::analyze {
namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The characters a skipped container's scan stops at: quotes and brackets.
struct StopTable {
  bool stop[256] = {};
  constexpr StopTable() {
    for (unsigned char c : {'"', '{', '}', '[', ']'}) stop[c] = true;
  }
};
constexpr StopTable kStops;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The first '"' or '\\' in [p, end), or end; 16 bytes at a time where SSE2 is there (every
// x86-64): strings in span exports run from a few bytes to a few dozen.
inline __attribute__((always_inline)) const char* find_quote_or_backslash(const char* p,
                                                                      const char* end) {
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const int hits = _mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (hits) return p + __builtin_ctz(static_cast<unsigned>(hits));
    p += 16;
  }
#endif
  while (p < end && *p != '"' && *p != '\\') p++;
  return p;
}

// Whether [p, end) starts with the literal.
template <std::size_t N>
bool starts_with(const char* p, const char* end, const char (&literal)[N]) {
  return end - p >= static_cast<std::ptrdiff_t>(N - 1) && std::memcmp(p, literal, N - 1) == 0;
}

}  // namespace

bool JsonScanner::compact_attribute(std::string_view& key, std::string_view& type,
                                    std::string_view& value) {
  if (!ok_) return false;
  const char* p = p_;
  // A string's content up to its closing quote, none escaped; p after the quote.
  auto plain_string = [&](std::string_view& out) {
    const char* q = find_quote_or_backslash(p, end_);
    if (q >= end_ || *q != '"') return false;
    out = std::string_view(p, static_cast<std::size_t>(q - p));
    p = q + 1;
    return true;
  };
  if (!starts_with(p, end_, "{\"key\":\"")) return false;
  p += 8;
  if (!plain_string(key)) return false;
  if (!starts_with(p, end_, ",\"value\":{\"")) return false;
  p += 11;
  if (!plain_string(type) || p >= end_ || *p != ':') return false;
  p++;
  if (p < end_ && *p == '"') {
    p++;
    if (!plain_string(value)) return false;
  } else {
    // A number or a literal (arrayValue and kvlistValue take the generic path).
    const char* start = p;
    while (p < end_ && *p != '}' && *p != ',' && *p != '{' && *p != '[' && *p > ' ') p++;
    if (p == start) return false;
    value = std::string_view(start, static_cast<std::size_t>(p - start));
  }
  if (!starts_with(p, end_, "}}")) return false;
  p_ = p + 2;
  return true;
}

char JsonScanner::peek_slow() {
  while (p_ < end_ && space(*p_)) p_++;
  return p_ < end_ ? *p_ : '\0';
}

bool JsonScanner::expect(char c) {
  if (!ok_) return false;
  if (peek() != c) return fail();
  p_++;
  return true;
}

bool JsonScanner::member(bool& first, std::string_view& key) {
  if (!ok_) return false;
  char c = peek();
  if (c == '}') {
    p_++;
    return false;
  }
  if (!first) {
    if (c != ',') return fail();
    p_++;
    c = peek();
  }
  first = false;
  if (c != '"') return fail();
  p_++;
  if (!raw_string(key)) return false;
  return expect(':');
}

bool JsonScanner::element(bool& first) {
  if (!ok_) return false;
  char c = peek();
  if (c == ']') {
    p_++;
    return false;
  }
  if (!first) {
    if (c != ',') return fail();
    p_++;
  }
  first = false;
  return true;
}

bool JsonScanner::raw_string(std::string_view& out) {
  const char* start = p_;
  // Fast path: no escape before the closing quote.
  p_ = find_quote_or_backslash(p_, end_);
  if (p_ < end_ && *p_ == '"') {
    out = std::string_view(start, static_cast<std::size_t>(p_ - start));
    p_++;
    return true;
  }
  scratch_.assign(start, static_cast<std::size_t>(p_ - start));
  while (p_ < end_) {
    const char c = *p_++;
    if (c == '"') {
      out = scratch_;
      return true;
    }
    if (c != '\\') {
      scratch_ += c;
      continue;
    }
    if (p_ >= end_) break;
    const char e = *p_++;
    switch (e) {
      case '"': scratch_ += '"'; break;
      case '\\': scratch_ += '\\'; break;
      case '/': scratch_ += '/'; break;
      case 'b': scratch_ += '\b'; break;
      case 'f': scratch_ += '\f'; break;
      case 'n': scratch_ += '\n'; break;
      case 'r': scratch_ += '\r'; break;
      case 't': scratch_ += '\t'; break;
      case 'u': {
        std::uint32_t cp = 0;
        for (int i = 0; i < 4; i++) {
          const int d = p_ < end_ ? hex_digit(*p_++) : -1;
          if (d < 0) return fail();
          cp = cp << 4 | static_cast<std::uint32_t>(d);
        }
        // A surrogate pair; a lone surrogate becomes U+FFFD.
        if (cp >= 0xD800 && cp < 0xDC00 && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
          std::uint32_t lo = 0;
          bool good = true;
          for (int i = 2; i < 6; i++) {
            const int d = hex_digit(p_[i]);
            good &= d >= 0;
            lo = lo << 4 | static_cast<std::uint32_t>(d < 0 ? 0 : d);
          }
          if (good && lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p_ += 6;
          }
        }
        if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;
        append_utf8(scratch_, cp);
        break;
      }
      default: return fail();
    }
  }
  return fail();  // no closing quote
}

bool JsonScanner::string(std::string_view& out) {
  if (!ok_) return false;
  if (peek() != '"') {
    skip_value();
    return false;
  }
  p_++;
  return raw_string(out);
}

bool JsonScanner::string(std::string& out) {
  std::string_view v;
  if (!string(v)) return false;
  out.assign(v.data(), v.size());
  return true;
}

bool JsonScanner::u64(std::uint64_t& out) {
  if (!ok_) return false;
  const char c = peek();
  std::string_view digits;
  if (c == '"') {
    p_++;
    if (!raw_string(digits)) return false;
  } else if (c >= '0' && c <= '9') {
    const char* start = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
    digits = std::string_view(start, static_cast<std::size_t>(p_ - start));
    if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) {  // a fraction: not an integer
      skip_value();
      return false;
    }
  } else {
    skip_value();
    return false;
  }
  if (digits.empty() || digits.size() > 20) return false;
  std::uint64_t n = 0;
  for (char d : digits) {
    if (d < '0' || d > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(d - '0');
  }
  out = n;
  return true;
}

bool JsonScanner::skip_value() {
  if (!ok_) return false;
  const char c = peek();
  if (c == '\0') return fail();
  if (c == '"') {
    p_++;
    std::string_view ignored;
    return raw_string(ignored);
  }
  if (c != '{' && c != '[') {
    // A number or a literal: up to the next delimiter.
    const char* start = p_;
    while (p_ < end_ && !space(*p_) && *p_ != ',' && *p_ != '}' && *p_ != ']') p_++;
    if (p_ == start) return fail();
    return true;
  }
  // A container: balanced brackets, strings skipped whole.
  int depth = 0;
  while (p_ < end_) {
    const char* hit = p_;
    while (hit < end_ && !kStops.stop[static_cast<unsigned char>(*hit)]) hit++;
    p_ = hit;
    if (p_ >= end_) break;
    const char h = *p_++;
    if (h == '"') {
      while (p_ < end_ && *p_ != '"') p_ += *p_ == '\\' ? 2 : 1;
      if (p_ >= end_) break;
      p_++;
    } else if (h == '{' || h == '[') {
      depth++;
    } else if (--depth == 0) {
      return true;
    } else if (depth < 0) {
      break;
    }
  }
  return fail();
}

}  // namespace difftrace::analyze
