// Per-interval aggregates of `difftrace analyze` (per route and for every route together):
// a load whose platform share moves between two phases shows it moving, interval by interval;
// the automatic width and the widening that keeps the number of intervals bounded; --interval's
// syntax; and the HTML page's data cannot close its <script>.
#include <catch2/catch.hpp>

#include <set>

#include "analyze/analyzer.h"
#include "analyze/html_report.h"
#include "analyze_samples.h"
#include "cli/analyze_command.h"

namespace analyze = difftrace::analyze;
using analyze::Kind;
using analyze::Span;
using difftrace::testing::aspan;
using difftrace::testing::kMs;

namespace {

constexpr std::uint64_t kS = 1'000'000'000ull;

// gw SERVER [t, t+d] -> gw CLIENT [t+wait, t+d-5] -> fn SERVER [t+wait+5, t+d-10]: the
// platform (gw) holds the request for wait + 5 ms.
void add_trace(std::vector<Span>& out, int n, double t, double d, double wait,
               const std::string& name = "GET /fn") {
  const std::string id = "t" + std::to_string(n);
  out.push_back(aspan(id, id + "gw", "", "gw", Kind::kServer, t, t + d, name));
  out.push_back(aspan(id, id + "c", id + "gw", "gw", Kind::kClient, t + wait, t + d - 5, name));
  out.push_back(aspan(id, id + "fn", id + "c", "fn", Kind::kServer, t + wait + 5, t + d - 10, name));
}

// Ten traces a second apart with a small platform share, then ten with a large one.
std::vector<Span> two_phases() {
  std::vector<Span> spans;
  for (int i = 0; i < 10; i++) add_trace(spans, i, i * 1000.0, 100, 10);
  for (int i = 10; i < 20; i++) add_trace(spans, i, i * 1000.0, 200, 110);
  return spans;
}

std::vector<analyze::IntervalResult> run(std::uint64_t interval_ns, analyze::AnalyzeSummary* s = nullptr) {
  analyze::AnalyzeOptions opts;
  opts.is_platform = [](const std::string& svc) { return svc == "gw"; };
  opts.interval_ns = interval_ns;
  analyze::Analyzer a(std::move(opts));
  a.run_spans(two_phases(), [](const analyze::TraceResult&) {});
  if (s) *s = a.summary();
  return a.intervals();
}

double share(const analyze::IntervalResult& r, analyze::Category c) {
  return static_cast<double>(r.sum[c]) / static_cast<double>(r.duration_sum);
}

}  // namespace

TEST_CASE("intervals: the platform's share moves with the load's phases", "[analyze]") {
  analyze::AnalyzeSummary s;
  const auto iv = run(10 * kS, &s);
  CHECK(s.interval_ns == 10 * kS);
  CHECK_FALSE(s.interval_widened);
  REQUIRE(iv.size() == 4);  // the route's two intervals, then every route's two
  for (int i : {0, 2}) {
    CHECK(iv[i].start_ns == difftrace::testing::kBase);
    CHECK(iv[i].count == 10);
    CHECK(iv[i].p50_ns == Approx(100 * kMs).epsilon(0.02));
    CHECK(share(iv[i], analyze::Category::kPlatform) == Approx(0.15));
    CHECK(share(iv[i], analyze::Category::kFunction) == Approx(0.75));
    CHECK(iv[i + 1].start_ns == difftrace::testing::kBase + 10 * kS);
    CHECK(iv[i + 1].count == 10);
    CHECK(iv[i + 1].p99_ns == Approx(200 * kMs).epsilon(0.02));
    CHECK(share(iv[i + 1], analyze::Category::kPlatform) == Approx(115.0 / 200));
  }
  CHECK(iv[0].service == "gw");
  CHECK(iv[0].endpoint == "GET /fn");
  CHECK(iv[2].service == "*");
  CHECK(iv[2].endpoint == "*");
}

TEST_CASE("intervals: round automatic widths; too many intervals are widened", "[analyze]") {
  CHECK(analyze::auto_interval_ns(0, 60) == kS);
  CHECK(analyze::auto_interval_ns(59 * kS, 60) == kS);
  CHECK(analyze::auto_interval_ns(60 * kS, 60) == 2 * kS);
  CHECK(analyze::auto_interval_ns(86400 * kS, 60) == 1800 * kS);
  CHECK(analyze::auto_interval_ns(400 * 86400 * kS, 60) % (86400 * kS) == 0);

  analyze::AnalyzeSummary s;
  auto iv = run(0, &s);  // 19 s of traces: 1 s intervals, one trace each
  CHECK(s.interval_ns == kS);
  CHECK(iv.size() == 40);
  iv = run(1'000'000, &s);  // 1 ms: 19,000 intervals, over the bound
  CHECK(s.interval_widened);
  CHECK(s.interval_ns == kS);
  CHECK(iv.size() == 40);
}

TEST_CASE("intervals: the busiest routes have their own, every route counts in *", "[analyze]") {
  // Route r<i> has i + 1 traces: the 20 busiest are r5 to r24.
  std::vector<Span> spans;
  int n = 0;
  for (int i = 0; i < 25; i++)
    for (int j = 0; j <= i; j++, n++) add_trace(spans, n, n * 10.0, 100, 10, "GET /r" + std::to_string(i));
  analyze::Analyzer a({});
  a.run_spans(spans, [](const analyze::TraceResult&) {});
  std::set<std::string> with_intervals;
  std::uint64_t all = 0;
  for (const auto& iv : a.intervals()) {
    if (iv.service == "*")
      all += iv.count;
    else
      with_intervals.insert(iv.endpoint);
  }
  CHECK(with_intervals.size() == analyze::kIntervalRoutes);
  CHECK(with_intervals.count("GET /r24"));
  CHECK(with_intervals.count("GET /r5"));
  CHECK_FALSE(with_intervals.count("GET /r4"));
  CHECK(all == static_cast<std::uint64_t>(n));
}

TEST_CASE("--interval: a whole number and a unit", "[analyze]") {
  using difftrace::cli::parse_interval;
  CHECK(parse_interval("500ms") == 500'000'000ull);
  CHECK(parse_interval("10s") == 10 * kS);
  CHECK(parse_interval("1m") == 60 * kS);
  CHECK(parse_interval("2h") == 7200 * kS);
  for (const char* bad : {"", "10", "s", "1.5s", "0ms", "10x", "-1s", "9999999999s"}) {
    INFO(bad);
    CHECK_THROWS(parse_interval(bad));
  }
}

TEST_CASE("html: the data cannot end its script element", "[analyze]") {
  const std::string safe = analyze::json_for_script(R"({"name":"</script><b>"})");
  CHECK(safe.find('<') == std::string::npos);
  CHECK(safe == R"({"name":"\u003c/script>\u003cb>"})");
}
