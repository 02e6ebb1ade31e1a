// What the linker (assembler/linker.h) reads and sets of a span, and nothing else: the
// assembler remembers a sent trace's spans in this form to link its late spans, about a
// third of a capture::Span (no names, query, template, attributes, resource), copied once
// per span sent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "capture/span.h"

namespace difftrace::assembler {

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
  std::string method;
  std::string path;  // the whole request target, as the linker compares it
  capture::Endpoint local;
  capture::Endpoint peer;

  explicit LinkSpan(const capture::Span& s)
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
        method(s.method),
        path(s.path),
        local(s.local),
        peer(s.peer) {}

  bool is_estimated() const { return estimated; }
  std::uint64_t duration_ns() const {
    return end_unix_ns > start_unix_ns ? end_unix_ns - start_unix_ns : 0;
  }
};

}  // namespace difftrace::assembler
