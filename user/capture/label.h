// A span's label from a fixed set of names (its decision, reason, estimate method): a view of
// a string with static storage, a literal or one of the decoder's names, never of a string
// that goes away. Two words: a span copies and moves it as such, where a std::string (32
// bytes) was copied through its SSO buffer three times per span and made every span waiting
// in the assembler 16 bytes larger per label. Only a literal or Label::of_static makes one,
// so a std::string cannot be put in by mistake.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>

namespace difftrace::capture {

class Label {
 public:
  constexpr Label() = default;
  template <std::size_t N>
  constexpr Label(const char (&literal)[N]) : text_(literal, N - 1) {}  // NOLINT: implicit
  // s must outlive every span: a literal, or a name in a static table.
  static constexpr Label of_static(const char* s) {
    Label l;
    l.text_ = s;
    return l;
  }

  constexpr operator std::string_view() const { return text_; }  // NOLINT: implicit
  constexpr std::string_view view() const { return text_; }
  std::string str() const { return std::string(text_); }
  constexpr bool empty() const { return text_.empty(); }
  constexpr std::size_t size() const { return text_.size(); }
  constexpr void clear() { text_ = {}; }

  friend constexpr bool operator==(Label a, std::string_view b) { return a.text_ == b; }
  friend std::string operator+(const std::string& a, Label b) { return a + std::string(b.text_); }
  friend std::string operator+(Label a, const std::string& b) { return std::string(a.text_) + b; }
  friend std::ostream& operator<<(std::ostream& os, Label l) { return os << l.text_; }

 private:
  std::string_view text_;
};

}  // namespace difftrace::capture
