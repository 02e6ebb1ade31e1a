// analyze's streaming readers: the JSON scanner (escapes, skipped values, errors), OTLP JSON
// lines in shapes our exporter does not write (resource after the spans, names for kinds,
// numbers for times, unknown fields), bad lines dropped whole, and Zipkin v2 arrays, among
// them what our own Zipkin encoder writes, told apart from OTLP by content, on one line or
// pretty-printed over many among JSON lines.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "analyze/json_scanner.h"
#include "analyze/otlp_reader.h"
#include "analyze/zipkin_reader.h"
#include "export/zipkin_json.h"
#include "export_samples.h"
#include "test_pcap_support.h"  // TempDir

namespace analyze = difftrace::analyze;
using analyze::JsonScanner;

namespace {

std::vector<analyze::Span> read_line(std::string_view line, analyze::ReadCounters& c,
                                     bool* parsed = nullptr) {
  std::vector<analyze::Span> out;
  const bool ok = analyze::read_trace_line(line, [&](analyze::Span&& s) { out.push_back(s); }, c);
  if (parsed) *parsed = ok;
  return out;
}

}  // namespace

TEST_CASE("json scanner: members, escapes, integers as strings, skipped values", "[analyze]") {
  JsonScanner in(R"( {"a": "x\"y\\z\u00e9\ud83d\ude00", "skip": {"n": [1, 2.5e3, "]}", {"x": null}]},
                      "n": "18446744073709551615", "m": 42, "f": 1.5, "t": true} )");
  REQUIRE(in.begin_object());
  std::string a;
  std::uint64_t n = 0, m = 0, f = 7;
  std::string_view key;
  std::vector<std::string> keys;
  for (bool first = true; in.member(first, key);) {
    keys.emplace_back(key);
    if (key == "a") CHECK(in.string(a));
    else if (key == "n") CHECK(in.u64(n));
    else if (key == "m") CHECK(in.u64(m));
    else if (key == "f") CHECK_FALSE(in.u64(f));  // a fraction is not an integer: skipped
    else CHECK(in.skip_value());
  }
  CHECK(in.ok());
  CHECK(in.at_end());
  CHECK(keys == std::vector<std::string>{"a", "skip", "n", "m", "f", "t"});
  CHECK(a == "x\"y\\z\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(n == 18446744073709551615ull);
  CHECK(m == 42);
  CHECK(f == 7);
}

TEST_CASE("json scanner: syntax errors stop the scan", "[analyze]") {
  for (const char* text : {R"({"a" 1})", R"({"a": 1,})", R"({"a": "unterminated)", R"({"a": [1, 2})",
                           R"({"a": "\x"})", R"({"a": 1 "b": 2})"}) {
    INFO(text);
    JsonScanner in(text);
    REQUIRE(in.begin_object());
    std::string_view key;
    for (bool first = true; in.member(first, key);) in.skip_value();
    CHECK_FALSE(in.ok());
  }
}

TEST_CASE("otlp reader: resource after the spans, kinds by name, times as numbers", "[analyze]") {
  analyze::ReadCounters c;
  const auto spans = read_line(
      R"({"resourceSpans":[{"scopeSpans":[{"scope":{"name":"x","attributes":[]},"spans":[)"
      R"({"traceId":"0a0b","spanId":"01","kind":"SPAN_KIND_SERVER","name":"GET /a",)"
      R"("startTimeUnixNano":1000,"endTimeUnixNano":"3000","events":[{"name":"e"}],)"
      R"("attributes":[{"key":"difftrace.decision","value":{"stringValue":"anomalous"}},)"
      R"({"key":"http.status","value":{"intValue":"500"}},)"
      R"({"key":"difftrace.reason","value":{"stringValue":"status"}}]},)"
      R"({"traceId":"0a0b","spanId":"02","parentSpanId":"01","kind":3,"startTimeUnixNano":"5000",)"
      R"("endTimeUnixNano":"4000"}]}],)"
      R"("resource":{"attributes":[{"key":"service.name","value":{"stringValue":"gw"}}]}}]})",
      c);
  REQUIRE(spans.size() == 2);
  CHECK(spans[0].service == "gw");
  CHECK(spans[0].kind == analyze::Kind::kServer);
  CHECK(spans[0].name == "GET /a");
  CHECK(spans[0].start_ns == 1000);
  CHECK(spans[0].end_ns == 3000);
  CHECK(spans[0].anomalous);
  CHECK(spans[0].reason == "status");
  CHECK(spans[1].service == "gw");
  CHECK(spans[1].parent_id == "01");
  CHECK(spans[1].kind == analyze::Kind::kClient);
  CHECK(spans[1].end_ns == spans[1].start_ns);  // an end before the start is clamped
  CHECK(c.spans == 2);
}

TEST_CASE("otlp reader: a line that is not a request gives no span at all", "[analyze]") {
  for (const char* line :
       {"not json", R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01","spanId":"02"}]}]})",
        R"({"resourceSpans":[]} trailing)", R"({"other":1})", R"([{"traceId":"01","id":"02"},)"}) {
    INFO(line);
    analyze::ReadCounters c;
    bool parsed = true;
    CHECK(read_line(line, c, &parsed).empty());
    CHECK_FALSE(parsed);
  }
  analyze::ReadCounters c;
  bool parsed = false;
  CHECK(read_line(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"02"}]}]}]})", c, &parsed)
            .empty());
  CHECK(parsed);
  CHECK(c.bad_spans == 1);  // no trace id
}

TEST_CASE("zipkin reader: what our own Zipkin encoder writes, told apart by content", "[analyze]") {
  auto server = difftrace::testing::sample_span(7, "fn-hello", "/hello", 200,
                                                difftrace::capture::SpanKind::kServer);
  server.trace_id.fill(0x11);
  server.span_id.fill(0x22);
  server.start_unix_ns = 1'700'000'000'000'000'000ull;
  server.end_unix_ns = server.start_unix_ns + 2'500'000;
  server.decision = "anomalous";
  server.reason = "latency";
  auto client = server;
  client.kind = difftrace::capture::SpanKind::kClient;
  client.span_id.fill(0x33);
  difftrace::capture::SpanId parent;
  parent.fill(0x22);
  client.parent_span_id = parent;
  client.decision = "estimated";
  client.reason.clear();
  fmt::memory_buffer b;
  difftrace::exporters::append_zipkin_spans(b, {server, client}, "host-a");
  const std::string line(b.data(), b.size());
  REQUIRE(line.find('\n') == std::string::npos);

  analyze::ReadCounters c;
  const auto spans = read_line(line, c);
  CHECK(c.zipkin_lines == 1);
  REQUIRE(spans.size() == 2);
  CHECK(spans[0].trace_id == std::string(32, '1'));
  CHECK(spans[0].span_id == std::string(16, '2'));
  CHECK(spans[0].parent_id.empty());
  CHECK(spans[0].service == "fn-hello");
  CHECK(spans[0].kind == analyze::Kind::kServer);
  CHECK(spans[0].start_ns == server.start_unix_ns);
  CHECK(spans[0].end_ns - spans[0].start_ns == 2'500'000);
  CHECK(spans[0].anomalous);
  CHECK(spans[0].reason == "latency");
  CHECK(spans[1].kind == analyze::Kind::kClient);
  CHECK(spans[1].parent_id == std::string(16, '2'));
  CHECK(spans[1].estimated);
}

TEST_CASE("zipkin reader: not an array of spans is a bad line", "[analyze]") {
  std::vector<analyze::Span> out;
  CHECK_FALSE(analyze::read_zipkin_array(R"([{"traceId":"01","id":"02"})", out));
  CHECK_FALSE(analyze::read_zipkin_array(R"({"traceId":"01"})", out));
  out.clear();
  CHECK(analyze::read_zipkin_array(R"([])", out));
  CHECK(out.empty());
}

TEST_CASE("trace files: a pretty-printed Zipkin array over many lines among JSON lines", "[analyze]") {
  auto server = difftrace::testing::sample_span(7, "fn-hello", "/hello", 200,
                                                difftrace::capture::SpanKind::kServer);
  server.trace_id.fill(0x11);
  server.span_id.fill(0x22);
  auto client = server;
  client.kind = difftrace::capture::SpanKind::kClient;
  client.span_id.fill(0x33);
  client.parent_span_id = server.span_id;
  fmt::memory_buffer b;
  difftrace::exporters::append_zipkin_spans(b, {server, client}, "host-a");
  // As Zipkin's API answers GET /api/v2/trace/{id}: one array, indented over many lines.
  const std::string pretty = nlohmann::json::parse(std::string(b.data(), b.size())).dump(2);
  REQUIRE(std::count(pretty.begin(), pretty.end(), '\n') > 10);
  const std::string otlp =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"gw"}}]},)"
      R"("scopeSpans":[{"spans":[{"traceId":"0a0b","spanId":"01","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]})";

  difftrace::replay::test::TempDir dir;
  const std::string path = dir.file("traces.json");
  {
    std::ofstream f(path);
    f << otlp << "\n"                                       // line 1
      << pretty << "\n"                                     // lines 2..k
      << R"({"resourceSpans":[{"scopeSpans":[{"spans":[)" << "\n"  // cut short: a bad line
      << otlp << "\n"
      << "[\n  {\"traceId\": \"01\",\n";                     // an array never closed
  }
  const auto cut_line = 2 + std::count(pretty.begin(), pretty.end(), '\n') + 1;
  analyze::ReadCounters c;
  std::vector<analyze::Span> spans;
  analyze::read_otlp_file(path, [&](analyze::Span&& s) { spans.push_back(s); }, c);
  CHECK(c.lines == 5);  // values: a line each, or the lines of the array together
  CHECK(c.zipkin_lines == 1);
  CHECK(c.bad_lines == 2);
  CHECK(c.first_bad_line == path + ":" + std::to_string(cut_line));
  REQUIRE(spans.size() == 4);
  CHECK(spans[0].service == "gw");
  CHECK(spans[1].span_id == std::string(16, '2'));
  CHECK(spans[1].service == "fn-hello");
  CHECK(spans[2].parent_id == std::string(16, '2'));
  CHECK(spans[2].kind == analyze::Kind::kClient);
  CHECK(spans[3].service == "gw");
}

TEST_CASE("json scanner: compact attributes in one step, other shapes left to the member walk",
          "[analyze]") {
  std::string_view key, type, value;
  {
    JsonScanner in(R"({"key":"a.b","value":{"stringValue":"x y"}},{"key":"n","value":{"intValue":"7"}})"
                   R"(,{"key":"f","value":{"boolValue":true}})");
    REQUIRE(in.compact_attribute(key, type, value));
    CHECK(key == "a.b");
    CHECK(type == "stringValue");
    CHECK(value == "x y");
    REQUIRE(in.peek() == ',');
    bool first = false;
    REQUIRE(in.element(first));
    REQUIRE(in.compact_attribute(key, type, value));
    CHECK(value == "7");
    REQUIRE(in.element(first));
    REQUIRE(in.compact_attribute(key, type, value));
    CHECK(type == "boolValue");
    CHECK(value == "true");
    CHECK(in.at_end());
  }
  // White space, an escape, a nested value, the value first: nothing consumed, the walk reads it.
  for (const char* text : {R"({ "key":"a","value":{"stringValue":"x"}})",
                           R"({"key":"a","value":{"stringValue":"x\"y"}})",
                           R"({"key":"a","value":{"arrayValue":{"values":[]}}})",
                           R"({"value":{"stringValue":"x"},"key":"a"})",
                           R"({"key":"a","value":{"stringValue":"x"})"}) {
    INFO(text);
    JsonScanner in(text);
    CHECK_FALSE(in.compact_attribute(key, type, value));
    CHECK(in.ok());
    CHECK(in.peek() == '{');
  }
}

TEST_CASE("otlp reader: ids as written, however long; attributes spaced or escaped", "[analyze]") {
  const std::string long_id(40, 'f');  // past IdString's inline 32 characters
  analyze::ReadCounters c;
  const auto spans = read_line(
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":")" + long_id +
          R"(","spanId":"A1","parentSpanId":"0123456789abcdef0123456789abcdef","attributes":[)"
          R"({ "key": "difftrace.decision", "value": { "stringValue": "estimated" } },)"
          R"({"key":"difftrace.reason","value":{"stringValue":"la\u0074ency"}}]}]}]}]})",
      c);
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].trace_id == long_id);
  CHECK(spans[0].trace_id.size() == 40);
  CHECK(spans[0].span_id == "A1");
  CHECK(spans[0].parent_id == std::string("0123456789abcdef0123456789abcdef"));
  CHECK(spans[0].estimated);
  CHECK(spans[0].reason == "latency");
  analyze::IdString copy = spans[0].trace_id;
  CHECK(copy == spans[0].trace_id);
  copy = "ab";
  CHECK(copy.view() == "ab");
  CHECK_FALSE(copy == spans[0].trace_id);
}
