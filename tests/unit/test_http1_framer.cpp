// [replay] Http1Framer: where HTTP/1.x messages end in a connection's two byte streams, fed in
// any cut (whole, one byte at a time, every two-piece split), and where framing is given up.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "replay/http1_framer.h"

using namespace difftrace::replay;

namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// What the framer found in `text` fed in pieces of `step` bytes (0: whole): "N" for a message
// that ended at offset N (" interim" for a 1xx response), "lost@N" when framing was given up in
// the data that ended at N; `behind` the start offset of each request that started behind
// another one.
struct Found {
  std::vector<std::string> ends;
  std::vector<size_t> behind;
  size_t outstanding = 0;
};

Found frame(Http1Framer& f, bool requests, const std::string& text, size_t step = 0) {
  Found out;
  size_t fed = 0;
  while (fed < text.size()) {
    const size_t n = step == 0 ? text.size() - fed : std::min(step, text.size() - fed);
    std::vector<FramePiece> pieces;
    f.split(requests, bytes_of(text).subspan(fed, n), pieces);
    size_t at = fed;
    for (const auto& p : pieces) {
      if (p.starts && p.behind) out.behind.push_back(at);
      at += p.len;
      if (p.unframed) {
        out.ends.push_back("lost@" + std::to_string(fed + n));
      } else if (p.ends) {
        out.ends.push_back(std::to_string(at) + (!requests && !p.final_response ? " interim" : ""));
      }
    }
    REQUIRE(at == fed + n);  // the pieces cover the data exactly
    fed += n;
    if (f.lost()) break;
  }
  out.outstanding = f.outstanding();
  return out;
}

// `text` framed after `requests_before` (requests whose responses `text` may hold).
std::vector<std::string> ends_of(bool requests, const std::string& text, size_t step = 0,
                                 const std::string& requests_before = "") {
  Http1Framer f;
  f.restart();
  if (!requests_before.empty()) frame(f, true, requests_before);
  return frame(f, requests, text, step).ends;
}

std::string at(size_t n) { return std::to_string(n); }
std::string lost_at(const std::string& text) { return "lost@" + at(text.size()); }

using Strings = std::vector<std::string>;

const std::string kGet = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kHead = "HEAD /h HTTP/1.1\r\n\r\n";

}  // namespace

TEST_CASE("framer: requests end by Content-Length, chunked body or none", "[replay]") {
  const std::string post = "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  const std::string chunked =
      "PUT /c HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n";
  const std::string all = kGet + post + chunked + kGet;
  const size_t a = kGet.size(), b = a + post.size(), c = b + chunked.size();
  for (size_t step : {size_t{0}, size_t{1}, size_t{7}}) {
    INFO("step " << step);
    Http1Framer f;
    f.restart();
    const auto got = frame(f, true, all, step);
    CHECK(got.ends == Strings{at(a), at(b), at(c), at(all.size())});
    // No response yet: every request after the first waits behind it.
    CHECK(got.behind == std::vector<size_t>{a, b, c});
    CHECK(got.outstanding == 4);
  }
}

TEST_CASE("framer: response bodies by Content-Length, chunked, none, or until close",
          "[replay]") {
  const std::string cl = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  const std::string chunk = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
  const std::string no_content = "HTTP/1.1 204 No Content\r\n\r\n";
  const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string close = "HTTP/1.0 200 OK\r\n\r\nuntil the end";
  const std::string all = cl + chunk + no_content + cont + cl + close;
  size_t e1 = cl.size(), e2 = e1 + chunk.size(), e3 = e2 + no_content.size(),
         e4 = e3 + cont.size(), e5 = e4 + cl.size();
  for (size_t step : {size_t{0}, size_t{1}, size_t{5}}) {
    INFO("step " << step);
    CHECK(ends_of(false, all, step) == Strings{at(e1), at(e2), at(e3), at(e4) + " interim", at(e5)});
  }
}

TEST_CASE("framer: no body after HEAD, for 304, and for a Content-Length of 0", "[replay]") {
  const std::string head_resp = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
  const std::string not_modified = "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n";
  const std::string empty = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  Http1Framer f;
  f.restart();
  frame(f, true, kHead + kGet + kGet);
  REQUIRE(f.outstanding() == 3);
  const auto got = frame(f, false, head_resp + not_modified + empty);
  const size_t e1 = head_resp.size(), e2 = e1 + not_modified.size(), e3 = e2 + empty.size();
  CHECK(got.ends == Strings{at(e1), at(e2), at(e3)});
  CHECK(got.outstanding == 0);
}

TEST_CASE("framer: every two-piece cut of pipelined responses gives the same ends", "[replay]") {
  const std::string first =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  const std::string resp = first + "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno";
  for (size_t cut = 1; cut < resp.size(); ++cut) {
    Http1Framer f;
    f.restart();
    frame(f, true, kGet + kGet);
    std::vector<FramePiece> pieces;
    f.split(false, bytes_of(resp).first(cut), pieces);
    f.split(false, bytes_of(resp).subspan(cut), pieces);
    std::vector<size_t> ends;
    size_t pos = 0;
    for (const auto& p : pieces) {
      pos += p.len;
      CHECK_FALSE(p.unframed);
      if (p.ends) ends.push_back(pos);
    }
    INFO("cut at " << cut);
    CHECK(ends == std::vector<size_t>{first.size(), resp.size()});
    CHECK(f.outstanding() == 0);
  }
}

TEST_CASE("framer: stray line ends between requests belong to no message", "[replay]") {
  Http1Framer f;
  f.restart();
  const auto got = frame(f, true, kGet + "\r\n" + kGet);
  CHECK(got.ends == Strings{at(kGet.size()), at(2 * kGet.size() + 2)});
  CHECK(got.behind == std::vector<size_t>{kGet.size() + 2});
}

TEST_CASE("framer: what is not HTTP/1.x framing is given up, never guessed", "[replay]") {
  SECTION("not a request line where a request must start") {
    const std::string text = kGet + "\x16\x03\x01 binary";
    CHECK(ends_of(true, text) == Strings{at(kGet.size()), lost_at(text)});
  }
  SECTION("not a status line where a response must start") {
    const std::string text = "SSH-2.0-OpenSSH\r\n";
    CHECK(ends_of(false, text) == Strings{lost_at(text)});
  }
  SECTION("a Content-Length that is not a number, or two that differ") {
    const std::string req = "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n";
    CHECK(ends_of(true, req) == Strings{lost_at(req)});
    const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
    CHECK(ends_of(false, resp, 0, kGet) == Strings{lost_at(resp)});
  }
  SECTION("a request transfer coding that is not chunked") {
    const std::string req = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
    CHECK(ends_of(true, req) == Strings{lost_at(req)});
  }
  SECTION("a bad chunk size or chunk end") {
    const std::string h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK(ends_of(false, h + "zz\r\n", 0, kGet) == Strings{lost_at(h + "zz\r\n")});
    CHECK(ends_of(false, h + "3\r\nabcX\r\n", 0, kGet) == Strings{lost_at(h + "3\r\nabcX\r\n")});
  }
  SECTION("a protocol switch: 101, or a tunnel after CONNECT") {
    const std::string ws = "HTTP/1.1 101 Switching Protocols\r\n\r\nws";
    CHECK(ends_of(false, ws, 0, kGet) == Strings{lost_at(ws)});
    const std::string tunnel = "HTTP/1.1 200 OK\r\n\r\ntunnel";
    CHECK(ends_of(false, tunnel, 0, "CONNECT h:443 HTTP/1.1\r\n\r\n") == Strings{lost_at(tunnel)});
  }
  SECTION("a header block past kMaxHeaderBlock") {
    const std::string big =
        "GET / HTTP/1.1\r\nX: " + std::string(Http1Framer::kMaxHeaderBlock, 'a') + "\r\n\r\n";
    const auto got = ends_of(true, big, 4096);
    REQUIRE(got.size() == 1);
    CHECK(got[0].rfind("lost@", 0) == 0);
  }
  SECTION("a request while a response without a length runs") {
    Http1Framer f;
    f.restart();
    frame(f, true, kGet);
    frame(f, false, "HTTP/1.0 200 OK\r\n\r\nuntil close");
    CHECK(frame(f, true, kGet).ends == Strings{lost_at(kGet)});
  }
  SECTION("lost stays lost until restart") {
    Http1Framer f;
    f.restart();
    frame(f, true, "\x01\x02");
    REQUIRE(f.lost());
    CHECK(frame(f, true, kGet).ends == Strings{lost_at(kGet)});
    f.restart();
    CHECK(frame(f, true, kGet).ends == Strings{at(kGet.size())});
  }
}
