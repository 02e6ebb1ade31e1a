// What the linker (assembler/linker.h) reads and sets of a span, and nothing else: the
// assembler remembers a sent trace's spans in this form to link its late spans (no names,
// query, template, attributes, resource), copied once per span sent. Its four texts (method,
// target, the two addresses) are views into blocks its SentTrace owns: one block for the
// spans sent together, one per late span. Four strings of its own were four copies a span
// (a malloc each for a target or an address past 15 bytes) and as many frees when the trace
// was forgotten: ~130 ns a span sent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "capture/span.h"

namespace difftrace::assembler {

struct LinkEndpoint {
  std::string_view address;
  std::uint16_t port = 0;
};

struct LinkSpan {
  capture::SpanId span_id{};
  std::optional<capture::SpanId> parent_span_id;
  std::optional<capture::SpanId> header_parent_id;
  std::optional<capture::SpanId> announced_span_id;
  capture::SpanKind kind = capture::SpanKind::kServer;
  bool trace_from_header = false;
  bool estimated = false;
  std::uint8_t flags = 0;
  std::uint8_t cause = 0;
  std::uint32_t pid = 0;
  std::uint32_t tid = 0;
  std::uint32_t exch_seq = 0;
  std::uint32_t cause_exch = 0;
  std::optional<std::uint32_t> req_seq;
  std::uint64_t start_unix_ns = 0;
  std::uint64_t end_unix_ns = 0;
  std::uint64_t conn_id = 0;
  std::uint64_t cause_conn_id = 0;
  std::string_view method;
  std::string_view path;  // the whole request target, as the linker compares it
  LinkEndpoint local;
  LinkEndpoint peer;

  // s's fields; its texts copied to texts (which moves past them), viewed there.
  LinkSpan(const capture::Span& s, char*& texts);
  // The bytes of s's texts that a LinkSpan of it copies.
  static std::size_t text_bytes(const capture::Span& s) {
    return s.method.size() + s.path.size() + s.local.address.size() + s.peer.address.size();
  }

  bool is_estimated() const { return estimated; }
  std::uint64_t duration_ns() const {
    return end_unix_ns > start_unix_ns ? end_unix_ns - start_unix_ns : 0;
  }
};

// A sent trace's spans as the linker reads them, and the blocks their texts are in (blocks
// never move: the spans' views hold while the trace is kept, whatever moves the trace).
class SentTrace {
 public:
  // Appends spans (one block for all their texts).
  void add(std::span<const capture::Span> spans);
  // Appends one span (a late one) and returns it.
  LinkSpan& add(const capture::Span& s);

  std::vector<LinkSpan>& spans() { return spans_; }
  std::size_t size() const { return spans_.size(); }

 private:
  char* block(std::size_t bytes);

  std::vector<LinkSpan> spans_;
  std::unique_ptr<char[]> first_;                     // the first add's block
  std::vector<std::unique_ptr<char[]>> more_blocks_;  // the later adds' (late spans)
};

}  // namespace difftrace::assembler
