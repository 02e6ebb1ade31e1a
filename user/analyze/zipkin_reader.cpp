#include "analyze/zipkin_reader.h"

#include "analyze/json_scanner.h"

namespace difftrace::analyze {
namespace {

constexpr std::uint64_t kUs = 1000;

void read_tags(JsonScanner& in, Span& s) {
  if (in.peek() != '{') {
    in.skip_value();
    return;
  }
  in.begin_object();
  std::string_view k;
  for (bool first = true; in.member(first, k);) {
    if (k == "difftrace.decision") {
      std::string_view v;
      if (in.string(v)) {
        s.estimated = v == "estimated";
        s.anomalous = v == "anomalous";
      }
    } else if (k == "difftrace.reason") {
      in.string(s.reason);
    } else {
      in.skip_value();
    }
  }
}

bool read_span(JsonScanner& in, Span& s) {
  if (in.peek() != '{') return in.skip_value() && false;
  in.begin_object();
  std::uint64_t timestamp_us = 0, duration_us = 0;
  std::string_view k;
  for (bool first = true; in.member(first, k);) {
    if (k == "traceId") {
      in.string_into(s.trace_id);
    } else if (k == "id") {
      in.string_into(s.span_id);
    } else if (k == "parentId") {
      in.string_into(s.parent_id);
    } else if (k == "name") {
      in.string(s.name);
    } else if (k == "kind") {
      std::string_view kind;
      if (in.string(kind))
        s.kind = kind == "SERVER" ? Kind::kServer : kind == "CLIENT" ? Kind::kClient : Kind::kOther;
    } else if (k == "timestamp") {
      in.u64(timestamp_us);
    } else if (k == "duration") {
      in.u64(duration_us);
    } else if (k == "localEndpoint" && in.peek() == '{') {
      in.begin_object();
      std::string_view ek;
      for (bool f = true; in.member(f, ek);) {
        if (ek == "serviceName")
          in.string(s.service);
        else
          in.skip_value();
      }
    } else if (k == "tags") {
      read_tags(in, s);
    } else {
      in.skip_value();
    }
  }
  s.start_ns = timestamp_us * kUs;
  s.end_ns = s.start_ns + duration_us * kUs;
  return in.ok();
}

}  // namespace

bool read_zipkin_array(std::string_view text, std::vector<Span>& out) {
  JsonScanner in(text);
  if (!in.begin_array()) return false;
  for (bool first = true; in.element(first);) {
    Span s;
    if (!read_span(in, s)) {
      if (!in.ok()) return false;
      continue;  // not an object
    }
    out.push_back(std::move(s));
  }
  return in.ok() && in.at_end();
}

}  // namespace difftrace::analyze
