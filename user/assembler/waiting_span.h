// A span as it waits in the assembler's pool (assembler/span_pool.h): its fields as they are
// (capture::SpanFields), its eight texts (method, target, query, template, comm, service
// name, the two addresses) packed into one buffer, a text equal to the one it most often
// repeats stored once (a service named after its comm, a template that is the path, loopback's
// two addresses).
// 384 bytes where a capture::Span is 536, with texts up to kInline bytes in the slot itself
// (nginx's spans: 28 bytes) and longer ones in one block of their exact size: under
// --no-filter on a busy server the pool holds a second of spans, most of the tracer's heap.
// The span is expanded back into a capture::Span when its trace goes out; while it waits,
// the assembler reads and sets its fields (trace id, verdict) and the judge reads its texts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "capture/span.h"

namespace difftrace::assembler {

class WaitingSpan : public capture::SpanFields {
 public:
  enum Text : std::uint8_t {
    kMethod,
    kPath,
    kQuery,
    kTemplate,
    kComm,
    kServiceName,
    kLocalAddress,
    kPeerAddress,
    kTexts
  };
  // Texts up to this many bytes in all (those stored once) stay in the slot.
  // 96: the slot is 384 bytes, six cache lines; the texts of most spans fit (nginx's 28
  // bytes, the ingest bench's longest 85), a block of their own is a malloc and a free more.
  static constexpr std::size_t kInline = 96;

  WaitingSpan() = default;
  explicit WaitingSpan(capture::Span&& s) { pack(std::move(s)); }
  WaitingSpan(const WaitingSpan&) = delete;
  WaitingSpan& operator=(const WaitingSpan&) = delete;
  ~WaitingSpan() { release(); }

  // Takes s's fields and texts (s is left with its texts, and its fields moved from).
  void pack(capture::Span&& s);
  // Gives the span back whole into out (its texts assigned, its fields moved); this one is
  // left empty, holding no memory besides itself.
  void unpack_into(capture::Span& out);

  std::string_view text(Text t) const;
  std::string_view method() const { return text(kMethod); }
  std::string_view path() const { return text(kPath); }
  std::string_view path_template() const { return text(kTemplate); }
  // Where the texts are: in the slot, in a block of their own, or (a text over 65,535 bytes,
  // which no capture makes) as strings.
  enum class Storage : std::uint8_t { kInline, kBlock, kStrings };
  Storage storage() const { return static_cast<Storage>(same_as_ >> 24); }

 private:
  void release();
  const char* bytes() const { return storage() == Storage::kBlock ? block_ : inline_; }
  void set_storage(Storage s) {
    same_as_ = (same_as_ & 0xffffff) | static_cast<std::uint32_t>(s) << 24;
  }

  std::uint16_t len_[kTexts] = {};
  // Per text, 3 bits: the text whose bytes it is (itself, or an earlier equal one); the
  // top 8 bits: the Storage.
  std::uint32_t same_as_ = 0;
  std::uint16_t local_port_ = 0;
  std::uint16_t peer_port_ = 0;
  union {
    char inline_[kInline];
    char* block_;              // kBlock: new char[] of the texts' size
    std::string* strings_;     // kStrings: new std::string[kTexts]
  };
};

}  // namespace difftrace::assembler
