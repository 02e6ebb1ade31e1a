// The request target as exported (capture/request_target.h): url.path, url.query with its
// values redacted unless kept, url.template, and the span name.
#include <catch2/catch.hpp>

#include <tuple>
#include <vector>

#include "capture/endpoint_template.h"
#include "capture/request_target.h"

using namespace difftrace;

TEST_CASE("query values are redacted, keys kept", "[target]") {
  using capture::redact_query_values;
  CHECK(redact_query_values("token=abc&page=3") == "token=REDACTED&page=REDACTED");
  CHECK(redact_query_values("a=1&flag&b=") == "a=REDACTED&flag&b=");
  CHECK(redact_query_values("sig=x=y&&c=%20") == "sig=REDACTED&&c=REDACTED");
  CHECK(redact_query_values("") == "");
  CHECK(redact_query_values("1590632942") == "1590632942");  // a key alone
}

TEST_CASE("a target splits into path, query and template, once", "[target]") {
  capture::Span s;
  s.method = "GET";
  s.path = "/item/17/a1b2c3d4e5?token=s3cr3t&x=1#frag";
  capture::split_target(s, false);
  CHECK(s.path == "/item/17/a1b2c3d4e5");
  CHECK(s.query == "token=REDACTED&x=REDACTED");
  CHECK(s.path_template == "/item/{n}/{id}");
  CHECK(capture::span_name(s) == "GET /item/{n}/{id}");
  CHECK(capture::target_text(s) == "/item/17/a1b2c3d4e5?token=REDACTED&x=REDACTED");
  capture::split_target(s, false);  // again: nothing changes
  CHECK(s.path == "/item/17/a1b2c3d4e5");
  CHECK(s.query == "token=REDACTED&x=REDACTED");

  capture::Span k;
  k.method = "POST";
  k.path = "/echo?token=s3cr3t";
  capture::split_target(k, true);
  CHECK(k.query == "token=s3cr3t");
  CHECK(capture::span_name(k) == "POST /echo");

  capture::Span bare;  // not split (estimated spans carry the template as path)
  bare.method = "GET";
  bare.path = "/users/42";
  CHECK(capture::span_name(bare) == "GET /users/{n}");
}

TEST_CASE("a span name carries neither query nor id", "[target][export]") {
  for (const char* path : {"/h/ok?size=1", "/h/ok?size=2&token=abc", "/h/ok"}) {
    capture::Span s;
    s.method = "GET";
    s.path = path;
    capture::split_target(s, false);
    INFO(path);
    CHECK(capture::span_name(s) == "GET /h/ok");
    CHECK(s.query.find("abc") == std::string::npos);
  }
}

TEST_CASE("a target splits at its first '?' or '#', whichever comes first", "[target]") {
  const auto split = [](const std::string& target) {
    capture::Span s;
    s.path = target;
    capture::split_target(s, /*keep_query_values=*/true);
    return std::tuple(s.path, s.query, s.path_template);
  };
  CHECK(split("/a/1?x=1#f") == std::tuple("/a/1", "x=1", "/a/{n}"));
  CHECK(split("/a/1#f?x=1") == std::tuple("/a/1", "", "/a/{n}"));
  CHECK(split("/a?") == std::tuple("/a", "", "/a"));
  CHECK(split("?q") == std::tuple("", "q", ""));
  CHECK(split("#") == std::tuple("", "", ""));
  CHECK(split("/plain") == std::tuple("/plain", "", "/plain"));
  CHECK(split("") == std::tuple("", "", ""));
}
