#include "assembler/link_span.h"

#include <cstring>

namespace difftrace::assembler {

namespace {

std::string_view copy_text(const std::string& text, char*& to) {
  if (text.empty()) return {};
  std::memcpy(to, text.data(), text.size());
  const std::string_view view(to, text.size());
  to += text.size();
  return view;
}

}  // namespace

LinkSpan::LinkSpan(const capture::Span& s, char*& texts)
    : span_id(s.span_id),
      parent_span_id(s.parent_span_id),
      header_parent_id(s.header_parent_id),
      announced_span_id(s.announced_span_id),
      kind(s.kind),
      trace_from_header(s.trace_from_header),
      estimated(s.is_estimated()),
      flags(s.flags),
      cause(s.cause),
      pid(s.pid),
      tid(s.tid),
      exch_seq(s.exch_seq),
      cause_exch(s.cause_exch),
      req_seq(s.req_seq),
      start_unix_ns(s.start_unix_ns),
      end_unix_ns(s.end_unix_ns),
      conn_id(s.conn_id),
      cause_conn_id(s.cause_conn_id),
      method(copy_text(s.method, texts)),
      path(copy_text(s.path, texts)),
      local{copy_text(s.local.address, texts), s.local.port},
      peer{copy_text(s.peer.address, texts), s.peer.port} {}

char* SentTrace::block(std::size_t bytes) {
  if (bytes == 0) return nullptr;  // no text to copy: copy_text writes nothing
  auto made = std::make_unique_for_overwrite<char[]>(bytes);
  char* at = made.get();
  if (!first_)
    first_ = std::move(made);
  else
    more_blocks_.push_back(std::move(made));
  return at;
}

void SentTrace::add(std::span<const capture::Span> spans) {
  std::size_t bytes = 0;
  for (const auto& s : spans) bytes += LinkSpan::text_bytes(s);
  char* texts = block(bytes);
  spans_.reserve(spans_.size() + spans.size());
  for (const auto& s : spans) spans_.emplace_back(s, texts);
}

LinkSpan& SentTrace::add(const capture::Span& s) {
  char* texts = block(LinkSpan::text_bytes(s));
  return spans_.emplace_back(s, texts);
}

}  // namespace difftrace::assembler
