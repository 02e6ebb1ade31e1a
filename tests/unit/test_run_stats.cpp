// Run stats per endpoint (service, kind, method, template): spans counted under their own
// endpoint whatever the order they come in (endpoints found again through a cache of slots
// by a hash of their texts, stats/run_stats.h), and a copy of the stats counting on its own.
#include <catch2/catch.hpp>

#include <string>

#include "stats/run_stats.h"

using namespace difftrace;

namespace {

capture::Span span(const std::string& service, capture::SpanKind kind, const std::string& method,
                   const std::string& path_template, int status = 200) {
  capture::Span s;
  s.service_name = service;
  s.kind = kind;
  s.method = method;
  s.path = path_template;
  s.path_template = path_template;
  s.status = status;
  s.start_unix_ns = 1000;
  s.end_unix_ns = 3000;
  return s;
}

std::uint64_t count_of(const nlohmann::json& j, const std::string& service, const std::string& kind,
                       const std::string& method, const std::string& path_template) {
  for (const auto& e : j["endpoints"])
    if (e["service"] == service && e["kind"] == kind && e["method"] == method &&
        e["template"] == path_template)
      return e["count"].get<std::uint64_t>();
  return 0;
}

}  // namespace

TEST_CASE("run stats count each span under its own endpoint", "[stats]") {
  using capture::SpanKind;
  stats::RunStats stats;
  // Texts alike in length and in their first and last 8 bytes (what picks a slot), and
  // many endpoints, more than the slots: each is still its own.
  const std::string a = "/api/v1/orders/{n}/items", b = "/api/v1/ORDERS/{n}/items";
  for (int round = 0; round < 3; round++) {
    stats.add(span("svc", SpanKind::kServer, "GET", a));
    stats.add(span("svc", SpanKind::kServer, "GET", b, 503));
    stats.add(span("svc", SpanKind::kClient, "GET", a));
    stats.add(span("svd", SpanKind::kServer, "GET", a));
    stats.add(span("svc", SpanKind::kServer, "PUT", a));
    for (int i = 0; i < 100; i++)
      stats.add(span("svc-" + std::to_string(i), SpanKind::kServer, "GET", "/x"));
  }
  const auto j = stats.to_json();
  CHECK(j["endpoints"].size() == 105);
  CHECK(count_of(j, "svc", "server", "GET", a) == 3);
  CHECK(count_of(j, "svc", "server", "GET", b) == 3);
  CHECK(count_of(j, "svc", "client", "GET", a) == 3);
  CHECK(count_of(j, "svd", "server", "GET", a) == 3);
  CHECK(count_of(j, "svc", "server", "PUT", a) == 3);
  CHECK(count_of(j, "svc-99", "server", "GET", "/x") == 3);
  for (const auto& e : j["endpoints"])
    CHECK(e["errors"] == (e["template"] == b ? 3 : 0));

  // A copy counts on its own: the original's endpoints do not move.
  stats::RunStats copy = stats;
  copy.add(span("svc", SpanKind::kServer, "GET", a));
  copy.add(span("svc-99", SpanKind::kServer, "GET", "/x"));
  CHECK(count_of(copy.to_json(), "svc", "server", "GET", a) == 4);
  CHECK(count_of(stats.to_json(), "svc", "server", "GET", a) == 3);
  stats.add(span("svc-99", SpanKind::kServer, "GET", "/x"));
  CHECK(count_of(stats.to_json(), "svc-99", "server", "GET", "/x") == 4);
  CHECK(count_of(copy.to_json(), "svc-99", "server", "GET", "/x") == 4);
  // Assigned over, too.
  stats::RunStats other;
  other.add(span("svc", SpanKind::kServer, "GET", a));
  other = stats;
  other.add(span("svc", SpanKind::kServer, "GET", a));
  CHECK(count_of(other.to_json(), "svc", "server", "GET", a) == 4);
  CHECK(count_of(stats.to_json(), "svc", "server", "GET", a) == 3);
}

// The slot's hash reads texts in loads of fixed sizes (3 bytes, two of 4, two of 8): texts
// of every length to 20 that differ in one byte anywhere are each their own endpoint.
TEST_CASE("run stats tell apart texts that differ in one byte, at any length", "[stats]") {
  using capture::SpanKind;
  stats::RunStats stats;
  std::size_t endpoints = 0;
  for (std::size_t len = 1; len <= 20; len++) {
    const std::string base(len, 'm');
    for (std::size_t at = 0; at < len; at++) {
      std::string t = base;
      t[at] = 'X';
      for (int round = 0; round < 2; round++) {
        stats.add(span("svc", SpanKind::kServer, t, "/"));
        stats.add(span(t, SpanKind::kServer, "GET", "/"));
      }
      endpoints += 2;
    }
    stats.add(span("svc", SpanKind::kServer, base, "/"));
    endpoints++;
  }
  const auto j = stats.to_json();
  CHECK(j["endpoints"].size() == endpoints);
  for (const auto& e : j["endpoints"]) {
    const std::string m = e["method"], s = e["service"];
    const bool is_base = m.find('X') == std::string::npos && s == "svc";
    CHECK(e["count"] == (is_base ? 1 : 2));
  }
}
