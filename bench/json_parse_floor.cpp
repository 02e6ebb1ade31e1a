// What parsing alone costs, as a floor under `difftrace analyze`'s throughput
// (scripts/bench/analyze_throughput.sh): simdjson (the fastest JSON parser
// Debian ships) over the same OTLP JSON lines, the file already in memory.
//   stage1: simdjson's first stage alone (the JSON structure found 64 bytes at
//           a time, validated), no value read;
//   fields: its On-Demand walk on top, reading what analyze reads of each span
//           (ids, name, kind, times, the two difftrace attributes, the
//           resource's service.name) without copying them;
//   reader: analyze's own reader (user/analyze/otlp_reader.h, the objects
//           `make` built, linked in) over the file, spans into a counter: what
//           reading costs analyze, file reads included, without the analysis.
// Prints one JSON object: spans and CPU seconds per mode.
//   usage: json_parse_floor FILE
// Built with -march=native (this file only; make build/json-parse-floor): the
// best simdjson does on the machine that runs the bench.
#include <simdjson.h>

#include "analyze/otlp_reader.h"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace od = simdjson::ondemand;

namespace {

double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// The wanted attributes' string values, as analyze takes them; false on a simdjson error.
bool attributes(od::value v, std::size_t& seen) {
  for (auto element : v.get_array()) {
    od::object a;
    if (element.get_object().get(a)) return false;
    bool wanted = false;
    for (auto field : a) {
      if (field.error()) return false;
      od::field& f = field.value_unsafe();
      if (f.key() == "key") {
        std::string_view k;
        if (f.value().get_string().get(k)) return false;
        wanted = k == "difftrace.decision" || k == "difftrace.reason" || k == "service.name";
      } else if (f.key() == "value" && wanted) {
        for (auto typed : f.value().get_object()) {
          if (typed.error()) return false;
          if (typed.value_unsafe().key() == "stringValue") seen++;
        }
      }
    }
  }
  return true;
}

bool span(od::object s, std::size_t& seen) {
  for (auto field : s) {
    if (field.error()) return false;
    od::field& f = field.value_unsafe();
    const od::raw_json_string k = f.key();
    if (k == "traceId" || k == "spanId" || k == "parentSpanId" || k == "name" ||
        k == "startTimeUnixNano" || k == "endTimeUnixNano" || k == "kind") {
      seen += f.value().raw_json_token().size();
    } else if (k == "attributes") {
      if (!attributes(f.value(), seen)) return false;
    }
  }
  return true;
}

// The spans of one line; -1 on a simdjson error.
long fields(od::document& doc, std::size_t& seen) {
  long spans = 0;
  for (auto rs : doc["resourceSpans"]) {
    od::object r;
    if (rs.get_object().get(r)) return -1;
    for (auto field : r) {
      if (field.error()) return -1;
      od::field& f = field.value_unsafe();
      if (f.key() == "resource") {
        for (auto rf : f.value().get_object()) {
          if (rf.error()) return -1;
          if (rf.value_unsafe().key() == "attributes" && !attributes(rf.value_unsafe().value(), seen))
            return -1;
        }
      } else if (f.key() == "scopeSpans") {
        for (auto scope : f.value().get_array())
          for (auto s : scope["spans"]) {
            od::object o;
            if (s.get_object().get(o) || !span(o, seen)) return -1;
            spans++;
          }
      }
    }
  }
  return spans;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: json_parse_floor FILE\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    std::fprintf(stderr, "json_parse_floor: cannot read %s\n", argv[1]);
    return 1;
  }
  text.append(simdjson::SIMDJSON_PADDING, ' ');
  const std::size_t size = text.size() - simdjson::SIMDJSON_PADDING;
  od::parser parser;
  std::printf("{\"implementation\": \"%s\"", simdjson::get_active_implementation()->name().c_str());
  for (const char* mode : {"stage1", "fields"}) {
    const bool walk = std::strcmp(mode, "fields") == 0;
    long spans = 0, bad = 0;
    std::size_t seen = 0;
    const double start = cpu_seconds();
    for (std::size_t p = 0; p < size;) {
      const char* nl = static_cast<const char*>(std::memchr(text.data() + p, '\n', size - p));
      const std::size_t end = nl ? static_cast<std::size_t>(nl - text.data()) : size;
      od::document doc;
      if (parser.iterate(text.data() + p, end - p, text.size() - p).get(doc)) {
        bad++;
      } else if (walk) {
        const long n = fields(doc, seen);
        if (n < 0) bad++; else spans += n;
      }
      p = end + 1;
    }
    const double cpu = cpu_seconds() - start;
    std::printf(", \"%s\": {\"spans\": %ld, \"bad_lines\": %ld, \"cpu_s\": %.4f, \"checksum\": %zu}", mode,
                spans, bad, cpu, seen);
  }
  difftrace::analyze::ReadCounters counters;
  std::size_t seen = 0;
  const double start = cpu_seconds();
  difftrace::analyze::read_otlp_file(
      argv[1], [&](difftrace::analyze::Span&& s) { seen += s.name.size(); }, counters);
  std::printf(", \"reader\": {\"spans\": %llu, \"bad_lines\": %llu, \"cpu_s\": %.4f, \"checksum\": %zu}",
              static_cast<unsigned long long>(counters.spans),
              static_cast<unsigned long long>(counters.bad_lines), cpu_seconds() - start, seen);
  std::printf("}\n");
  return 0;
}
