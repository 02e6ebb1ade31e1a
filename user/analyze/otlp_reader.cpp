#include "analyze/otlp_reader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "analyze/json_scanner.h"
#include "analyze/value_lines.h"
#include "analyze/zipkin_reader.h"
#include "error.h"

namespace difftrace::analyze {
namespace {

// SPAN_KIND_SERVER = 2, SPAN_KIND_CLIENT = 3 (numbers in OTLP JSON; names accepted too).
Kind read_kind(JsonScanner& in) {
  std::uint64_t k = 0;
  if (in.peek() == '"') {
    std::string_view s;
    if (!in.string(s)) return Kind::kOther;
    if (s == "SPAN_KIND_SERVER") return Kind::kServer;
    if (s == "SPAN_KIND_CLIENT") return Kind::kClient;
    return Kind::kOther;
  }
  if (!in.u64(k)) return Kind::kOther;
  return k == 2 ? Kind::kServer : k == 3 ? Kind::kClient : Kind::kOther;
}

// [{"key": "...", "value": {"stringValue": "..."}}, ...]: calls on(key, value) for the keys
// that want(key) names, with the string value ("" for values of other types); the other
// attributes' values are skipped unread.
template <typename Want, typename On>
bool read_attributes(JsonScanner& in, Want want, On on) {
  if (in.peek() != '[') return in.skip_value();
  in.begin_array();
  std::string value;
  for (bool first = true; in.element(first);) {
    std::string_view key, type, text;
    if (in.compact_attribute(key, type, text)) {
      const int which = want(key);
      if (which >= 0) on(which, type == "stringValue" ? text : std::string_view());
      continue;
    }
    if (in.peek() != '{') {
      in.skip_value();
      continue;
    }
    in.begin_object();
    int which = -1;  // want(key): >= 0 for a wanted key
    bool key_seen = false;
    value.clear();
    std::string_view k;
    for (bool f = true; in.member(f, k);) {
      if (k == "key") {
        std::string_view key;
        key_seen = true;
        if (in.string(key)) which = want(key);
      } else if (k == "value" && in.peek() == '{') {
        // The key comes first in every writer we know; when it does not, the value is read.
        if (key_seen && which < 0) {
          in.skip_value();
          continue;
        }
        in.begin_object();
        std::string_view vk;
        for (bool vf = true; in.member(vf, vk);) {
          if (vk == "stringValue")
            in.string(value);
          else
            in.skip_value();
        }
      } else {
        in.skip_value();
      }
    }
    if (in.ok() && which >= 0) on(which, value);
  }
  return in.ok();
}

void read_span(JsonScanner& in, std::vector<Span>& out) {
  if (in.peek() != '{') {
    in.skip_value();
    return;
  }
  in.begin_object();
  Span s;
  std::string_view k;
  for (bool first = true; in.member(first, k);) {
    if (k == "traceId") {
      in.string_into(s.trace_id);
    } else if (k == "spanId") {
      in.string_into(s.span_id);
    } else if (k == "parentSpanId") {
      in.string_into(s.parent_id);
    } else if (k == "name") {
      in.string(s.name);
    } else if (k == "kind") {
      s.kind = read_kind(in);
    } else if (k == "startTimeUnixNano") {
      in.u64(s.start_ns);
    } else if (k == "endTimeUnixNano") {
      in.u64(s.end_ns);
    } else if (k == "attributes") {
      read_attributes(
          in,
          [](std::string_view key) {
            return key == "difftrace.decision" ? 0 : key == "difftrace.reason" ? 1 : -1;
          },
          [&](int which, std::string_view value) {
            if (which == 0) {
              s.estimated = value == "estimated";
              s.anomalous = value == "anomalous";
            } else {
              s.reason = value;
            }
          });
    } else {
      in.skip_value();
    }
  }
  if (s.end_ns < s.start_ns) s.end_ns = s.start_ns;
  out.push_back(std::move(s));
}

// One resourceSpans entry: its spans get the resource's service.name, which may come before
// or after them.
void read_resource_spans(JsonScanner& in, std::vector<Span>& out) {
  if (in.peek() != '{') {
    in.skip_value();
    return;
  }
  const std::size_t first_span = out.size();
  std::string service;
  in.begin_object();
  std::string_view k;
  for (bool first = true; in.member(first, k);) {
    if (k == "resource" && in.peek() == '{') {
      in.begin_object();
      std::string_view rk;
      for (bool rf = true; in.member(rf, rk);) {
        if (rk == "attributes")
          read_attributes(
              in, [](std::string_view key) { return key == "service.name" ? 0 : -1; },
              [&](int, std::string_view value) { service = value; });
        else
          in.skip_value();
      }
    } else if ((k == "scopeSpans" || k == "instrumentationLibrarySpans") && in.peek() == '[') {
      in.begin_array();  // the latter: OTLP before 0.15
      for (bool sf = true; in.element(sf);) {
        if (in.peek() != '{') {
          in.skip_value();
          continue;
        }
        in.begin_object();
        std::string_view sk;
        for (bool f = true; in.member(f, sk);) {
          if (sk == "spans" && in.peek() == '[') {
            in.begin_array();
            for (bool pf = true; in.element(pf);) read_span(in, out);
          } else {
            in.skip_value();
          }
        }
      }
    } else {
      in.skip_value();
    }
  }
  for (std::size_t i = first_span; i < out.size(); i++) out[i].service = service;
}

// The spans of one ExportTraceServiceRequest; false when the text is not one.
bool read_request(std::string_view text, std::vector<Span>& out) {
  JsonScanner in(text);
  if (in.peek() != '{') return false;
  in.begin_object();
  bool request = false;
  std::string_view k;
  for (bool first = true; in.member(first, k);) {
    if (k == "resourceSpans" && in.peek() == '[') {
      request = true;
      in.begin_array();
      for (bool f = true; in.element(f);) read_resource_spans(in, out);
    } else {
      in.skip_value();
    }
  }
  return request && in.ok() && in.at_end();
}

// Hands the spans of a line that parsed to the sink; drops them all for one that did not.
bool deliver(bool parsed, std::vector<Span>& spans, const SpanSink& sink, ReadCounters& counters) {
  if (parsed) {
    for (Span& s : spans) {
      if (s.trace_id.empty() || s.span_id.empty()) {
        counters.bad_spans++;
        continue;
      }
      counters.spans++;
      sink(std::move(s));
    }
  }
  spans.clear();
  return parsed;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

bool read_otlp_line(std::string_view line, const SpanSink& sink, ReadCounters& counters) {
  thread_local std::vector<Span> spans;
  spans.clear();
  return deliver(read_request(line, spans), spans, sink, counters);
}

bool read_trace_line(std::string_view line, const SpanSink& sink, ReadCounters& counters) {
  thread_local std::vector<Span> spans;
  spans.clear();
  std::size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
  const bool zipkin = i < line.size() && line[i] == '[';
  const bool parsed = deliver(zipkin ? read_zipkin_array(line, spans) : read_request(line, spans),
                              spans, sink, counters);
  if (zipkin && parsed) counters.zipkin_lines++;
  return parsed;
}

void read_otlp_file(const std::string& path, const SpanSink& sink, ReadCounters& counters) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) throw FatalError(ExitCode::kUsage, errno_message("cannot read " + path, errno));
  // Lines from big reads: a line that does not fit grows the buffer.
  std::vector<char> buf(1 << 20);
  std::size_t have = 0;
  std::uint64_t number = 0;
  ValueLines values([&](std::string_view v) { return read_trace_line(v, sink, counters); },
                    [&](std::uint64_t first_line) {
                      if (counters.bad_lines++ == 0)
                        counters.first_bad_line = path + ":" + std::to_string(first_line);
                    });
  auto line = [&](std::string_view l) {
    number++;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.find_first_not_of(" \t") == std::string_view::npos) return;
    values.line(l, number);
  };
  for (;;) {
    if (have == buf.size()) buf.resize(buf.size() * 2);
    const std::size_t got = std::fread(buf.data() + have, 1, buf.size() - have, f.get());
    have += got;
    std::size_t start = 0;
    for (;;) {
      const void* nl = std::memchr(buf.data() + start, '\n', have - start);
      if (!nl) break;
      const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
      line(std::string_view(buf.data() + start, end - start));
      start = end + 1;
    }
    std::memmove(buf.data(), buf.data() + start, have - start);
    have -= start;
    if (got == 0) break;
  }
  if (std::ferror(f.get()))
    throw FatalError(ExitCode::kUsage, errno_message("cannot read " + path, errno));
  if (have) line(std::string_view(buf.data(), have));  // no newline at the end
  values.finish();
  counters.lines += values.values();
}

}  // namespace difftrace::analyze
