// A trace or span id as an export writes it (32 or 16 hex characters in
// OTLP and Zipkin JSON), held inline: no allocation to read, copy or compare
// one (std::string keeps at most 15 characters inline; analyze reads three ids
// per span). Longer ids, which no exporter writes but a file may hold, go to
// the heap as they are, so every id reads back as written. 36 bytes: the
// spans a trace builder holds (tens of thousands, each moved twice and read
// cold when its trace goes out) are a third smaller than with a std::string
// beside the inline bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "analyze/fast_hash.h"

namespace difftrace::analyze {

class IdString {
 public:
  IdString() = default;
  IdString(std::string_view s) { assign(s); }  // NOLINT: implicit, like std::string
  IdString(const char* s) : IdString(std::string_view(s)) {}  // NOLINT
  IdString(const std::string& s) : IdString(std::string_view(s)) {}  // NOLINT
  IdString(const IdString& o) { assign(o.view()); }
  IdString(IdString&& o) noexcept : size_(o.size_) {
    std::memcpy(bytes_, o.bytes_, kInline);  // a long id's pointer moves with the bytes
    o.size_ = 0;
    std::memset(o.bytes_, 0, kInline);
  }
  IdString& operator=(const IdString& o) {
    if (this != &o) assign(o.view());
    return *this;
  }
  IdString& operator=(IdString&& o) noexcept {
    if (this != &o) {
      free_heap();
      size_ = o.size_;
      std::memcpy(bytes_, o.bytes_, kInline);
      o.size_ = 0;
      std::memset(o.bytes_, 0, kInline);
    }
    return *this;
  }
  ~IdString() { free_heap(); }
  IdString& operator=(std::string_view s) {
    assign(s);
    return *this;
  }
  IdString& operator=(const char* s) { return *this = std::string_view(s); }
  IdString& operator=(const std::string& s) { return *this = std::string_view(s); }

  std::string_view view() const {
    return size_ <= kInline ? std::string_view(bytes_, size_) : std::string_view(heap(), size_);
  }
  operator std::string_view() const { return view(); }  // NOLINT
  std::string str() const { return std::string(view()); }
  operator std::string() const { return str(); }  // NOLINT
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  // Inline ids compare as four words (the bytes past the size are zero).
  friend bool operator==(const IdString& a, const IdString& b) {
    if (a.size_ != b.size_) return false;
    if (a.size_ > kInline) return std::memcmp(a.heap(), b.heap(), a.size_) == 0;
    std::uint64_t x[4], y[4];
    std::memcpy(x, a.bytes_, kInline);
    std::memcpy(y, b.bytes_, kInline);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
  }
  friend bool operator==(const IdString& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const IdString& a, const char* b) { return a.view() == b; }
  friend bool operator==(const IdString& a, const std::string& b) { return a.view() == b; }

  // A 64-bit hash of the id (a word at a time; ids are random hex, nothing to defend against).
  std::uint64_t hash() const {
    if (size_ > kInline) return hash_bytes(heap(), size_);
    std::uint64_t w[4];
    std::memcpy(w, bytes_, kInline);
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ size_;
    for (std::uint64_t x : w) h = hash_mix(h ^ x);
    return h;
  }

 private:
  static constexpr std::size_t kInline = 32;
  // A long id: its heap copy's address, in the first bytes.
  char* heap() const {
    char* p;
    std::memcpy(&p, bytes_, sizeof p);
    return p;
  }
  void free_heap() {
    if (size_ > kInline) delete[] heap();
  }
  void assign(std::string_view s) {
    // s may lie in this id's own bytes or heap copy: copied before either is overwritten.
    char* old = size_ > kInline ? heap() : nullptr;
    if (s.size() <= kInline) {
      char copy[kInline] = {};
      std::memcpy(copy, s.data(), s.size());
      std::memcpy(bytes_, copy, kInline);
    } else {
      char* p = new char[s.size()];
      std::memcpy(p, s.data(), s.size());
      std::memset(bytes_, 0, kInline);
      std::memcpy(bytes_, &p, sizeof p);
    }
    size_ = static_cast<std::uint32_t>(s.size());
    delete[] old;
  }
  char bytes_[kInline] = {};
  std::uint32_t size_ = 0;
};

static_assert(sizeof(IdString) == 36);

}  // namespace difftrace::analyze

template <>
struct std::hash<difftrace::analyze::IdString> {
  std::size_t operator()(const difftrace::analyze::IdString& id) const noexcept {
    return id.hash();
  }
};
