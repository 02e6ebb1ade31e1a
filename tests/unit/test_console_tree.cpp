// console:tree: a hand-made batch of two traces, given out of order, prints
// as one indented tree per trace with durations, statuses and the filter's
// marks; a span whose parent is elsewhere is a root that names its parent.
#include <catch2/catch.hpp>

#include "export/console_exporter.h"
#include "export/console_tree.h"
#include "unit/export_samples.h"

using difftrace::capture::Span;
using difftrace::capture::SpanId;
using difftrace::capture::SpanKind;
using difftrace::exporters::render_trace_trees;

namespace {

constexpr std::uint64_t kT0 = 1'700'000'000'000'000'000ull;
constexpr std::uint64_t kMs = 1'000'000;

Span span(std::uint8_t trace, std::uint8_t id, std::optional<std::uint8_t> parent,
          const std::string& service, SpanKind kind, const std::string& path, int status,
          std::uint64_t start_ms, std::uint64_t end_ms) {
  Span s = difftrace::testing::sample_span(100 + trace, service, path, status, kind);
  s.trace_id.fill(trace);
  s.span_id = SpanId{0, 0, 0, 0, 0, 0, 0, id};
  if (parent) s.parent_span_id = SpanId{0, 0, 0, 0, 0, 0, 0, *parent};
  s.start_unix_ns = kT0 + start_ms * kMs;
  s.end_unix_ns = kT0 + end_ms * kMs;
  return s;
}

}  // namespace

TEST_CASE("console:tree prints each trace as an indented tree", "[console]") {
  std::vector<Span> spans;
  Span fn = span(0xaa, 5, 4, "fn", SpanKind::kServer, "/f", 500, 4, 8);
  fn.decision = "reported";
  fn.reason = "function";
  Span qp = span(0xaa, 4, 3, "activator", SpanKind::kClient, "/f", 500, 3, 9);
  qp.decision = "estimated";
  Span act = span(0xaa, 3, 2, "activator", SpanKind::kServer, "/f", 500, 2, 10);
  act.decision = "anomalous";
  act.reason = "latency";
  act.threshold_ns = 5 * kMs;
  Span orphan = span(0xbb, 7, 0x99, "fn", SpanKind::kServer, "/late", 0, 20, 21);
  orphan.decision = "kept";
  Span root = span(0xaa, 1, std::nullopt, "ingress", SpanKind::kServer, "/f", 500, 0, 12);
  root.trace_from_header = true;
  // Children before parents, traces interleaved: the tree does not depend on order.
  spans = {fn, orphan, qp, act, span(0xaa, 2, 1, "ingress", SpanKind::kClient, "/f", 500, 1, 11),
           root, span(0xaa, 6, 1, "ingress", SpanKind::kClient, "/log", 204, 11, 12)};

  const std::string want =
      "trace aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa (from header): 6 spans, 12.000ms, 5 errors, 1 anomalous !!\n"
      "  SERVER ingress[270] GET /f -> 500 12.000ms ERROR\n"
      "    CLIENT ingress[270] GET /f -> 500 10.000ms ERROR\n"
      "      SERVER activator[270] GET /f -> 500 8.000ms ERROR !! anomalous (latency > 5.000ms)\n"
      "        CLIENT activator[270] GET /f -> 500 ~6.000ms ERROR ~ estimated\n"
      "          SERVER fn[270] GET /f -> 500 4.000ms ERROR reported (function)\n"
      "    CLIENT ingress[270] GET /log -> 204 1.000ms\n"
      "trace bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb: 1 span, 1.000ms, 1 error\n"
      "  SERVER fn[287] GET /late -> no-response 1.000ms ERROR kept (parent 0000000000000099)\n";
  CHECK(render_trace_trees(spans) == want);
}

TEST_CASE("console:tree survives parent cycles and duplicate ids", "[console]") {
  // a -> b -> a: no root; both are printed once, the first as a root. A span
  // that names itself as parent is a root; its duplicate hangs under it.
  Span a = span(0xcc, 1, 2, "x", SpanKind::kServer, "/a", 200, 0, 2);
  Span b = span(0xcc, 2, 1, "x", SpanKind::kClient, "/b", 200, 1, 2);
  Span self = span(0xcc, 3, 3, "x", SpanKind::kServer, "/self", 200, 3, 4);
  const std::string out = render_trace_trees({a, b, self, self});
  CHECK(out ==
        "trace cccccccccccccccccccccccccccccccc: 4 spans, 4.000ms\n"
        "  SERVER x[304] GET /self -> 200 1.000ms (parent 0000000000000003)\n"
        "    SERVER x[304] GET /self -> 200 1.000ms\n"
        "  SERVER x[304] GET /a -> 200 2.000ms (parent 0000000000000002)\n"
        "    CLIENT x[304] GET /b -> 200 1.000ms\n");
  CHECK(render_trace_trees({}).empty());
}

TEST_CASE("the console exporter's modes: lines by default, trees on request", "[console]") {
  Span s = span(0xdd, 1, std::nullopt, "svc", SpanKind::kServer, "/", 200, 0, 1);
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  difftrace::exporters::ConsoleExporter lines(f);
  lines.export_spans({s});
  difftrace::exporters::ConsoleExporter tree(f, difftrace::exporters::ConsoleExporter::Mode::kTree);
  tree.export_spans({s});
  std::fclose(f);
  const std::string out(buf, len);
  std::free(buf);
  CHECK(out == difftrace::exporters::ConsoleExporter::format(s) + "\n" + render_trace_trees({s}));
  CHECK(out.rfind("SERVER svc[321] GET / -> 200", 0) == 0);
  CHECK(lines.spans_exported() == 1);
  CHECK(tree.spans_exported() == 1);
}
