// The request target as exported (capture/request_target.h): url.path, url.query with its
// values redacted unless kept, url.template, and the span name.
#include <catch2/catch.hpp>

#include <random>
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

// capture::path_template is a port of include/path_template.h's scan (the kernel's code) to
// locals; the two must agree on every target. Every byte value at every place of a segment
// (and around '/', ids' lengths, the 63-byte template bound and the 127-byte target bound),
// and random targets drawn from the bytes that steer the scan.
TEST_CASE("the host's path template is the kernel code's on every target", "[target][template]") {
  using capture::path_template;
  using capture::path_template_kernel_code;
  std::vector<std::string> bases = {"", "/", "/a", "/12345", "/abcdef12", "/abc-def-1",
                                    "/1234567", "/deadbeef", "/x/0123456789abcdef0123/y"};
  for (const auto& base : bases)
    for (int c = 0; c < 256; c++)
      for (std::size_t at = 0; at <= base.size(); at++) {
        std::string t = base;
        t.insert(at, 1, static_cast<char>(c));
        INFO("target " << t << " byte " << c);
        REQUIRE(path_template(t) == path_template_kernel_code(t));
      }
  const std::string alphabet = "/////0123456789abcdefABCDEF---xyzXYZ_.~%?#";
  std::mt19937 rng(13);
  for (int k = 0; k < 50000; k++) {
    const std::size_t n = rng() % 200;
    std::string t;
    for (std::size_t i = 0; i < n; i++) {
      const auto r = rng();
      t.push_back(r % 97 == 0 ? '\0' : alphabet[r % alphabet.size()]);
    }
    INFO("target " << t);
    REQUIRE(path_template(t) == path_template_kernel_code(t));
  }
  // Long ids and long plain segments about the bounds.
  for (std::size_t n = 1; n < 160; n++) {
    for (const char c : {'1', 'a', 'z'}) {
      const std::string t = "/v1/" + std::string(n, c) + "/tail/" + std::string(n / 2, '7');
      INFO("target " << t);
      REQUIRE(path_template(t) == path_template_kernel_code(t));
    }
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
