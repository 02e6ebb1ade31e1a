#include "assembler/waiting_span.h"

#include <cstring>

namespace difftrace::assembler {

namespace {

std::uint8_t source_of(std::uint32_t same_as, int t) { return (same_as >> (3 * t)) & 7; }

// The earlier text each text may repeat, the pairs that do repeat in practice: a template that
// is its path (no ids in it), a service named after its comm, loopback's two addresses. An
// earlier text the text's own source never is, so each text is stored once or points at one
// stored. Comparing every pair (28 per span) cost ~550 instructions a span sent.
constexpr std::int8_t kMayRepeat[WaitingSpan::kTexts] = {
    /*kMethod*/ -1,      /*kPath*/ -1,        /*kQuery*/ -1,
    /*kTemplate*/ WaitingSpan::kPath,
    /*kComm*/ -1,        /*kServiceName*/ WaitingSpan::kComm,
    /*kLocalAddress*/ -1, /*kPeerAddress*/ WaitingSpan::kLocalAddress};

}  // namespace

void WaitingSpan::pack(capture::Span&& s) {
  release();
  static_cast<capture::SpanFields&>(*this) = std::move(static_cast<capture::SpanFields&>(s));
  local_port_ = s.local.port;
  peer_port_ = s.peer.port;
  std::string* texts[kTexts] = {&s.method, &s.path,         &s.query,         &s.path_template,
                                &s.comm,   &s.service_name, &s.local.address, &s.peer.address};
  std::size_t total = 0;
  bool long_text = false;
  same_as_ = 0;
  for (int t = 0; t < kTexts; t++) {
    const std::size_t n = texts[t]->size();
    long_text |= n > UINT16_MAX;
    len_[t] = static_cast<std::uint16_t>(n);
    int from = t;
    const int e = kMayRepeat[t];
    if (e >= 0 && n && texts[e]->size() == n &&
        std::memcmp(texts[e]->data(), texts[t]->data(), n) == 0)
      from = e;
    same_as_ |= static_cast<std::uint32_t>(from) << (3 * t);
    if (from == t) total += n;
  }
  if (long_text) {
    set_storage(Storage::kStrings);
    strings_ = new std::string[kTexts];
    for (int t = 0; t < kTexts; t++) strings_[t] = std::move(*texts[t]);
    return;
  }
  char* to = inline_;
  if (total > kInline) {
    set_storage(Storage::kBlock);
    to = block_ = new char[total];
  }
  for (int t = 0; t < kTexts; t++)
    if (source_of(same_as_, t) == t) {
      std::memcpy(to, texts[t]->data(), len_[t]);
      to += len_[t];
    }
}

std::string_view WaitingSpan::text(Text t) const {
  if (storage() == Storage::kStrings) return strings_[t];
  const int from = source_of(same_as_, t);
  std::size_t at = 0;
  for (int e = 0; e < from; e++)
    if (source_of(same_as_, e) == e) at += len_[e];
  return {bytes() + at, len_[from]};
}

void WaitingSpan::unpack_into(capture::Span& out) {
  static_cast<capture::SpanFields&>(out) = std::move(static_cast<capture::SpanFields&>(*this));
  out.local.port = local_port_;
  out.peer.port = peer_port_;
  std::string* texts[kTexts] = {&out.method, &out.path,         &out.query,
                                &out.path_template, &out.comm, &out.service_name,
                                &out.local.address, &out.peer.address};
  if (storage() == Storage::kStrings) {
    for (int t = 0; t < kTexts; t++) *texts[t] = std::move(strings_[t]);
  } else {
    const char* p = bytes();
    std::size_t at[kTexts];
    for (int t = 0; t < kTexts; t++) {
      const int from = source_of(same_as_, t);
      if (from == t) {
        at[t] = static_cast<std::size_t>(p - bytes());
        p += len_[t];
      }
      texts[t]->assign(bytes() + at[from], len_[t]);
    }
  }
  release();
}

void WaitingSpan::release() {
  if (storage() == Storage::kBlock) delete[] block_;
  if (storage() == Storage::kStrings) delete[] strings_;
  set_storage(Storage::kInline);
}

}  // namespace difftrace::assembler
