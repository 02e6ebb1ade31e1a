// A trace or span id as an export writes it (32 or 16 hex characters in
// OTLP and Zipkin JSON), held inline: no allocation to read, copy or compare
// one (std::string keeps at most 15 characters inline; analyze reads three ids
// per span). Longer ids, which no exporter writes but a file may hold, go to
// the heap as they are, so every id reads back as written.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace difftrace::analyze {

class IdString {
 public:
  IdString() = default;
  IdString(std::string_view s) { assign(s); }  // NOLINT: implicit, like std::string
  IdString(const char* s) : IdString(std::string_view(s)) {}  // NOLINT
  IdString(const std::string& s) : IdString(std::string_view(s)) {}  // NOLINT
  IdString& operator=(std::string_view s) {
    assign(s);
    return *this;
  }
  IdString& operator=(const char* s) { return *this = std::string_view(s); }
  IdString& operator=(const std::string& s) { return *this = std::string_view(s); }

  std::string_view view() const {
    return size_ <= kInline ? std::string_view(inline_, size_) : std::string_view(long_);
  }
  operator std::string_view() const { return view(); }  // NOLINT
  std::string str() const { return std::string(view()); }
  operator std::string() const { return str(); }  // NOLINT
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  friend bool operator==(const IdString& a, const IdString& b) { return a.view() == b.view(); }
  friend bool operator==(const IdString& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const IdString& a, const char* b) { return a.view() == b; }
  friend bool operator==(const IdString& a, const std::string& b) { return a.view() == b; }

 private:
  static constexpr std::size_t kInline = 32;
  void assign(std::string_view s) {
    size_ = static_cast<std::uint32_t>(s.size());
    if (s.size() <= kInline) {
      std::memcpy(inline_, s.data(), s.size());
      long_.clear();
    } else {
      long_.assign(s);
    }
  }
  char inline_[kInline];
  std::uint32_t size_ = 0;
  std::string long_;
};

}  // namespace difftrace::analyze

template <>
struct std::hash<difftrace::analyze::IdString> {
  std::size_t operator()(const difftrace::analyze::IdString& id) const noexcept {
    return std::hash<std::string_view>{}(id.view());
  }
};
