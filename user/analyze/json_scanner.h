// A pull scanner over one JSON text, for readers that want a few fields of a
// known shape without building a document (analyze reads millions of spans:
// a DOM per line cost ten times the parse). Objects and arrays are walked
// with member()/element(); values not wanted are skipped. Any syntax error
// stops the scan: every call after it returns false and ok() is false.
// Skipped values are checked for balanced brackets and strings only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace difftrace::analyze {

class JsonScanner {
 public:
  explicit JsonScanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  bool ok() const { return ok_; }
  // The next significant character ('\0' at the end or after an error), not consumed.
  char peek() {
    // Inline: called before every token; compact JSON has no white space to skip.
    if (p_ < end_ && *p_ > ' ') return *p_;
    return peek_slow();
  }
  // True when only white space is left.
  bool at_end() { return peek() == '\0' && ok_; }

  // '{' / '[': begin a container; false (and an error) when something else is next.
  bool begin_object() { return expect('{'); }
  bool begin_array() { return expect('['); }
  // The next member's key (the value comes next); false at the closing '}' (consumed) or on
  // an error. `first` is true on the first call for an object and is cleared by it.
  bool member(bool& first, std::string_view& key);
  // Whether another element follows; false at the closing ']' (consumed) or on an error.
  bool element(bool& first);

  // Values. Each returns false on an error or when the value has another type (which is then
  // skipped, and the scan goes on: ok() stays true).
  bool string(std::string& out);
  bool string(std::string_view& out);  // valid until the next call
  // Into any type assignable from a string_view (an IdString).
  template <typename T>
  bool string_into(T& out) {
    std::string_view v;
    if (!string(v)) return false;
    out = v;
    return true;
  }
  // A non-negative integer written as a number or as a string of digits (OTLP JSON writes
  // 64-bit integers as strings).
  bool u64(std::uint64_t& out);
  bool skip_value();

  // An OTLP attribute written compactly, as every exporter we know writes it:
  // {"key":"K","value":{"xValue":V}} with no white space and no escape in K or a string V.
  // Reads it whole and returns true with the key, the value's type key (xValue) and the
  // value (a string's content, or a number or literal as written); returns false having
  // consumed nothing when the text has another shape (then read it member by member).
  // Analyze reads a dozen attributes per span and wants two of them: the generic walk
  // costs a third of the read.
  bool compact_attribute(std::string_view& key, std::string_view& type,
                         std::string_view& value);

 private:
  bool expect(char c);
  char peek_slow();
  bool fail() {
    ok_ = false;
    p_ = end_;
    return false;
  }
  bool raw_string(std::string_view& out);  // after the opening quote; escapes decoded into scratch_
  const char* p_;
  const char* end_;
  bool ok_ = true;
  std::string scratch_;
};

}  // namespace difftrace::analyze
