#include "analyze/otlp_reader.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "error.h"

namespace difftrace::analyze {
namespace {

using nlohmann::json;

// OTLP JSON writes 64-bit integers as decimal strings; accept plain numbers too.
std::uint64_t as_u64(const json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer()) return static_cast<std::uint64_t>(std::max<std::int64_t>(0, v.get<std::int64_t>()));
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    std::uint64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return 0;
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
  }
  return 0;
}

std::string string_value(const json& attr_value) {
  auto it = attr_value.find("stringValue");
  if (it != attr_value.end() && it->is_string()) return it->get<std::string>();
  return {};
}

// SPAN_KIND_SERVER = 2, SPAN_KIND_CLIENT = 3 (numbers in OTLP JSON; names accepted too).
Kind kind_of(const json& span) {
  auto it = span.find("kind");
  if (it == span.end()) return Kind::kOther;
  if (it->is_number_integer()) {
    const auto k = it->get<int>();
    return k == 2 ? Kind::kServer : k == 3 ? Kind::kClient : Kind::kOther;
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    if (s == "SPAN_KIND_SERVER") return Kind::kServer;
    if (s == "SPAN_KIND_CLIENT") return Kind::kClient;
  }
  return Kind::kOther;
}

std::string id_of(const json& span, const char* key) {
  auto it = span.find(key);
  if (it == span.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

void read_span(const json& js, const std::string& service, const SpanSink& sink,
               ReadCounters& counters) {
  Span s;
  s.trace_id = id_of(js, "traceId");
  s.span_id = id_of(js, "spanId");
  if (s.trace_id.empty() || s.span_id.empty()) {
    counters.bad_spans++;
    return;
  }
  s.parent_id = id_of(js, "parentSpanId");
  s.service = service;
  s.name = id_of(js, "name");
  s.kind = kind_of(js);
  if (auto it = js.find("startTimeUnixNano"); it != js.end()) s.start_ns = as_u64(*it);
  if (auto it = js.find("endTimeUnixNano"); it != js.end()) s.end_ns = as_u64(*it);
  if (s.end_ns < s.start_ns) s.end_ns = s.start_ns;
  if (auto it = js.find("attributes"); it != js.end() && it->is_array()) {
    for (const auto& a : *it) {
      auto key = a.find("key");
      auto value = a.find("value");
      if (key == a.end() || value == a.end() || !key->is_string()) continue;
      const auto& k = key->get_ref<const std::string&>();
      if (k == "difftrace.decision") {
        const std::string d = string_value(*value);
        s.estimated = d == "estimated";
        s.anomalous = d == "anomalous";
      } else if (k == "difftrace.reason") {
        s.reason = string_value(*value);
      }
    }
  }
  counters.spans++;
  sink(std::move(s));
}

std::string service_of(const json& resource_spans) {
  auto res = resource_spans.find("resource");
  if (res == resource_spans.end()) return {};
  auto attrs = res->find("attributes");
  if (attrs == res->end() || !attrs->is_array()) return {};
  for (const auto& a : *attrs) {
    auto key = a.find("key");
    auto value = a.find("value");
    if (key != a.end() && value != a.end() && *key == "service.name") return string_value(*value);
  }
  return {};
}

}  // namespace

bool read_otlp_line(const std::string& line, const SpanSink& sink, ReadCounters& counters) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto rs = j.find("resourceSpans");
  if (rs == j.end() || !rs->is_array()) return false;
  for (const auto& r : *rs) {
    const std::string service = service_of(r);
    auto scopes = r.find("scopeSpans");
    if (scopes == r.end()) scopes = r.find("instrumentationLibrarySpans");  // OTLP before 0.15
    if (scopes == r.end() || !scopes->is_array()) continue;
    for (const auto& scope : *scopes) {
      auto spans = scope.find("spans");
      if (spans == scope.end() || !spans->is_array()) continue;
      for (const auto& js : *spans)
        if (js.is_object()) read_span(js, service, sink, counters);
    }
  }
  return true;
}

void read_otlp_file(const std::string& path, const SpanSink& sink, ReadCounters& counters) {
  std::ifstream in(path);
  if (!in) throw FatalError(ExitCode::kUsage, errno_message("cannot read " + path, errno));
  std::string line;
  std::uint64_t number = 0;
  while (std::getline(in, line)) {
    number++;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    counters.lines++;
    if (!read_otlp_line(line, sink, counters) && counters.bad_lines++ == 0)
      counters.first_bad_line = path + ":" + std::to_string(number);
  }
}

}  // namespace difftrace::analyze
