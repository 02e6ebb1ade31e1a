#include "common/cases/http1_cases.h"

#include "capture/endpoint_template.h"
#include "path_template.h"

#include <algorithm>
#include <sstream>

namespace difftrace::testing {
namespace {

constexpr int IN = DT_DIR_INGRESS;
constexpr int OUT = DT_DIR_EGRESS;

const std::string kTraceId = "0af7651916cd43dd8448eb211c80319c";
const std::string kParentId = "b7ad6b7169203331";

Step in(std::string d) { return {IN, std::move(d), false}; }
Step out(std::string d) { return {OUT, std::move(d), false}; }
Step closed() { return {IN, "", true}; }

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\n" + extra +
         "\r\n";
}

std::string resp(int status, const std::string& body, const std::string& reason = "OK") {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nServer: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string chunked_head(int status = 200) {
  return "HTTP/1.1 " + std::to_string(status) +
         " OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
}

std::string chunk(const std::string& data) {
  std::ostringstream s;
  s << std::hex << data.size() << "\r\n" << data << "\r\n";
  return s.str();
}

Expected server(const std::string& method, const std::string& path, int status,
                int end = HTTP_END_COMPLETE) {
  Expected e;
  e.method = method;
  e.path = path;
  e.status = status;
  e.end_reason = end;
  return e;
}

Expected with_ctx(Expected e, int kind, std::string trace, std::string parent) {
  e.ctx_kind = kind;
  e.trace_id = std::move(trace);
  e.parent_id = std::move(parent);
  return e;
}

Expected with_resp_ctx(Expected e, std::string trace, std::string span) {
  e.resp_ctx_kind = DT_CTX_W3C;
  e.resp_trace_id = std::move(trace);
  e.resp_span_id = std::move(span);
  return e;
}

Expected with_bytes(Expected e, std::uint64_t req, std::uint64_t resp_bytes) {
  e.req_bytes = req;
  e.resp_bytes = resp_bytes;
  return e;
}

std::vector<Case> build_cases() {
  std::vector<Case> cases;
  const std::string mib(1 << 20, 'x');

  {
    std::string req = get("/hello"), r = resp(200, "hi there");
    cases.push_back({"GET with Content-Length response in one write",
                     {in(req), out(r)},
                     {with_bytes(server("GET", "/hello", 200), req.size(), r.size())}});
  }
  cases.push_back({"keep-alive: three exchanges on one connection",
                   {in(get("/a")), out(resp(200, "a")), in(get("/b")), out(resp(404, "", "Not Found")),
                    in(get("/c")), out(resp(500, "boom", "Internal Server Error"))},
                   {server("GET", "/a", 200), server("GET", "/b", 404), server("GET", "/c", 500)}});
  {
    // Go's net/http server reads one byte ahead while a handler runs: a next request's
    // first byte comes alone. Held, it starts the request with the rest (its size counts it).
    const std::string second = get("/held");
    cases.push_back({"a next request's first byte read alone is held for the rest",
                     {in(get("/a")), out(resp(200, "a")), in(second.substr(0, 1)),
                      in(second.substr(1)), out(resp(200, "b"))},
                     {server("GET", "/a", 200),
                      with_bytes(server("GET", "/held", 200), second.size(), resp(200, "b").size())}});
    cases.push_back({"held bytes that begin no method start nothing, the next request does",
                     {in(get("/a")), out(resp(200, "a")), in("P"), in("XYZ /no HTTP/1.1\r\n\r\n"),
                      in("POST /yes HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), out(resp(200, ""))},
                     {server("GET", "/a", 200), server("POST", "/yes", 200)},
                     1});
  }
  cases.push_back({"request target cut by the read boundary goes on in the next read",
                   {in("GET /byt"), in("es/10 HTTP/1.1\r\nHost: x\r\n\r\n"), out(resp(200, "x"))},
                   {server("GET", "/bytes/10", 200)}});
  cases.push_back({"request target cut just before the space",
                   {in("GET /a"), in(" HTTP/1.1\r\n\r\n"), out(resp(200, ""))},
                   {server("GET", "/a", 200)}});
  cases.push_back({"a long cut target is kept up to 127 bytes",
                   {in("GET /" + std::string(100, 'p')),
                    in(std::string(50, 'q') + " HTTP/1.1\r\n\r\n"), out(resp(200, ""))},
                   {server("GET", ("/" + std::string(100, 'p') + std::string(50, 'q')).substr(0, 127),
                           200)}});
  cases.push_back(
      {"request split across three reads, mid-line, trace header in the second",
       {in("GET /split HTTP/1.1\r\nHost: lo"),
        in("calhost\r\ntraceparent: 00-" + kTraceId + "-" + kParentId + "-01\r\nAcc"),
        in("ept: */*\r\n\r\n"), out(resp(200, "ok"))},
       {with_ctx(server("GET", "/split", 200), DT_CTX_W3C, kTraceId, kParentId)}});
  {
    std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n";
    cases.push_back({"response written in pieces: headers, then three body writes",
                     {in(get("/pieces")), out(head), out(std::string(10, 'a')),
                      out(std::string(10, 'b')), out(std::string(10, 'c'))},
                     {with_bytes(server("GET", "/pieces", 200), 0, head.size() + 30)}});
  }
  cases.push_back({"headers and part of the body in one write, rest later",
                   {in(get("/part")), out("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345"),
                    out("67890")},
                   {server("GET", "/part", 200)}});
  cases.push_back({"chunked response: head, chunks and zero chunk as separate writes",
                   {in(get("/chunked")), out(chunked_head()), out(chunk("hello")),
                    out(chunk(" world")), out("0\r\n\r\n")},
                   {server("GET", "/chunked", 200)}});
  cases.push_back({"chunked response in one write",
                   {in(get("/chunked1")), out(chunked_head() + chunk("abc") + "0\r\n\r\n")},
                   {server("GET", "/chunked1", 200)}});
  cases.push_back({"chunked: zero chunk at the end of the last data write",
                   {in(get("/chunked2")), out(chunked_head()), out(chunk(std::string(3000, 'z'))),
                    out(chunk("tail") + "0\r\n\r\n")},
                   {server("GET", "/chunked2", 200)}});
  cases.push_back({"chunked: a data chunk ending in 0 CRLF is not the end",
                   {in(get("/chunked3")), out(chunked_head()), out(chunk("10") + chunk("0")),
                    out("0\r\n\r\n")},
                   {server("GET", "/chunked3", 200)}});
  cases.push_back({"1 MiB Content-Length body in one write",
                   {in(get("/big")), out(resp(200, mib))},
                   {server("GET", "/big", 200)}});
  {
    std::string head =
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n";
    cases.push_back({"POST with a 1 MiB body read in pieces",
                     {in(head), in(mib.substr(0, 65536)), in(mib.substr(0, 983040)),
                      out(resp(201, "", "Created"))},
                     {with_bytes(server("POST", "/upload", 201), head.size() + mib.size(), 0)}});
  }
  cases.push_back({"HTTP/1.0 response without length ends when the connection closes",
                   {in("GET /old HTTP/1.0\r\n\r\n"), out("HTTP/1.0 200 OK\r\nServer: x\r\n\r\n"),
                    out("body bytes"), closed()},
                   {server("GET", "/old", 200, HTTP_END_CLOSE)}});
  cases.push_back({"response without length ends when the next request starts",
                   {in(get("/first")), out("HTTP/1.1 200 OK\r\n\r\n"), out("stream"),
                    in(get("/second")), out(resp(200, "x"))},
                   {server("GET", "/first", 200, HTTP_END_NEXT), server("GET", "/second", 200)}});
  cases.push_back({"HEAD: Content-Length does not announce a body",
                   {in("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n"),
                    out("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"), in(get("/after")),
                    out(resp(200, ""))},
                   {server("HEAD", "/h", 200), server("GET", "/after", 200)}});
  cases.push_back({"204 and 304 carry no body",
                   {in(get("/nc")), out("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"),
                    in(get("/nm")), out("HTTP/1.1 304 Not Modified\r\nContent-Length: 77\r\n\r\n")},
                   {server("GET", "/nc", 204), server("GET", "/nm", 304)}});
  cases.push_back(
      {"100 Continue is interim; the final response ends the exchange",
       {in("PUT /c HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"),
        out("HTTP/1.1 100 Continue\r\n\r\n"), in("data"), out(resp(200, "stored"))},
       {server("PUT", "/c", 200)}});
  // Issue 15, item 5: the interim and the final response in one syscall's data.
  cases.push_back(
      {"100 Continue and the final response in one write; the next request on its own",
       {in("PUT /c1 HTTP/1.1\r\nContent-Length: 4\r\n\r\ndata"),
        out("HTTP/1.1 100 Continue\r\n\r\n" + resp(201, "stored")), in(get("/next")),
        out(resp(200, "ok"))},
       {server("PUT", "/c1", 201), server("GET", "/next", 200)}});
  cases.push_back(
      {"100 Continue, 103 Early Hints and the final response in one write",
       {in(get("/hints")),
        out("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" +
            resp(200, "hinted")),
        in(get("/after-hints")), out(resp(404, "no"))},
       {server("GET", "/hints", 200), server("GET", "/after-hints", 404)}});
  cases.push_back(
      {"an interim response whose head ends the data: the final one comes later",
       {in(get("/slow")), out("HTTP/1.1 100 Continue\r\n\r\n"), out(resp(200, "late"))},
       {server("GET", "/slow", 200)}});
  cases.push_back({"Content-Length: 0 and case-insensitive header names",
                   {in(get("/zero")), out("HTTP/1.1 200 OK\r\ncontent-LENGTH:0\r\n\r\n")},
                   {server("GET", "/zero", 200)}});
  {
    Expected e = server("GET", "/out", 200);
    e.role = HTTP_ROLE_CLIENT;
    Expected e2 = server("POST", "/api?x=1", 503);
    e2.role = HTTP_ROLE_CLIENT;
    cases.push_back({"client: writes requests, reads responses, keep-alive",
                     {out(get("/out")), in(resp(200, "fine")),
                      out("POST /api?x=1 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"),
                      in("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 3\r\n\r\n"),
                      in("bad")},
                     {e, e2}});
  }
  {
    Expected e = server("GET", "/eof", 200, HTTP_END_CLOSE);
    e.role = HTTP_ROLE_CLIENT;
    cases.push_back({"client: response without length ends at EOF",
                     {out(get("/eof")), in("HTTP/1.0 200 OK\r\n\r\nabc"), closed()},
                     {e}});
  }
  cases.push_back({"traceparent gives the trace and parent ids",
                   {in(get("/tp", "traceparent: 00-" + kTraceId + "-" + kParentId + "-01\r\n")),
                    out(resp(200, ""))},
                   {with_ctx(server("GET", "/tp", 200), DT_CTX_W3C, kTraceId, kParentId)}});
  cases.push_back({"traceparent of the wrong shape is ignored",
                   {in(get("/tpbad", "traceparent: 00_" + kTraceId + "_" + kParentId + "_01\r\n")),
                    out(resp(200, ""))},
                   {server("GET", "/tpbad", 200)}});
  cases.push_back({"B3 multi-header",
                   {in(get("/b3", "X-B3-TraceId: " + kTraceId + "\r\nX-B3-SpanId: " + kParentId +
                                      "\r\nX-B3-Sampled: 1\r\n")),
                    out(resp(200, ""))},
                   {with_ctx(server("GET", "/b3", 200), DT_CTX_B3, kTraceId, kParentId)}});
  cases.push_back({"B3 64-bit trace id is left-padded",
                   {in(get("/b3s", "x-b3-traceid: 8448eb211c80319c\r\nx-b3-spanid: " +
                                       kParentId + "\r\n")),
                    out(resp(200, ""))},
                   {with_ctx(server("GET", "/b3s", 200), DT_CTX_B3,
                             "00000000000000008448eb211c80319c", kParentId)}});
  cases.push_back({"B3 single header",
                   {in(get("/b3single", "b3: " + kTraceId + "-" + kParentId + "-1\r\n")),
                    out(resp(200, ""))},
                   {with_ctx(server("GET", "/b3single", 200), DT_CTX_B3, kTraceId, kParentId)}});
  cases.push_back(
      {"traceparent wins over B3",
       {in(get("/both", "b3: 11111111111111111111111111111111-2222222222222222-1\r\ntraceparent: 00-" +
                            kTraceId + "-" + kParentId + "-00\r\n")),
        out(resp(200, ""))},
       {with_ctx(server("GET", "/both", 200), DT_CTX_W3C, kTraceId, kParentId)}});
  {
    const std::string own = "00f067aa0ba902b7";
    auto with_tr = [&](int status, const std::string& trace) {
      return "HTTP/1.1 " + std::to_string(status) +
             " OK\r\nContent-Length: 0\r\ntraceresponse: 00-" + trace + "-" + own + "-01\r\n\r\n";
    };
    cases.push_back({"traceresponse: a server that started the trace names it and its span",
                     {in(get("/tr")), out(with_tr(200, kTraceId))},
                     {with_resp_ctx(server("GET", "/tr", 200), kTraceId, own)}});
    cases.push_back(
        {"traceresponse beside the request's traceparent",
         {in(get("/tr2", "traceparent: 00-" + kTraceId + "-" + kParentId + "-01\r\n")),
          out(with_tr(202, kTraceId))},
         {with_resp_ctx(with_ctx(server("GET", "/tr2", 202), DT_CTX_W3C, kTraceId, kParentId),
                        kTraceId, own)}});
    Expected cl = server("GET", "/tr3", 200);
    cl.role = HTTP_ROLE_CLIENT;
    cases.push_back({"traceresponse: a client's response is not read for it",
                     {out(get("/tr3")), in(with_tr(200, kTraceId))},
                     {cl}});
    cases.push_back({"a response's traceparent or b3 is not a traceresponse",
                     {in(get("/tr4")),
                      out("HTTP/1.1 200 OK\r\nContent-Length: 0\r\ntraceparent: 00-" + kTraceId +
                          "-" + own + "-01\r\nb3: " + kTraceId + "-" + own + "\r\n\r\n")},
                     {server("GET", "/tr4", 200)}});
    cases.push_back({"a request's traceresponse is not a traceparent",
                     {in(get("/tr5", "traceresponse: 00-" + kTraceId + "-" + own + "-01\r\n")),
                      out(resp(200, ""))},
                     {server("GET", "/tr5", 200)}});
  }
  {
    std::string path = "/" + std::string(300, 'p');
    cases.push_back({"a target longer than the span keeps is cut to 127 bytes",
                     {in(get(path)), out(resp(200, ""))},
                     {server("GET", path.substr(0, HTTP_PATH_MAX - 1), 200)}});
  }
  {
    Expected e = server("GET", "/huge-headers", 200, HTTP_END_CLOSE);
    e.hdr_lost = true;
    std::string big = "HTTP/1.1 200 OK\r\nX-Pad: " + std::string(2000, 'h') +
                      "\r\nContent-Length: 2\r\n\r\nok";
    cases.push_back({"response headers longer than the window: length unknown, ends on close",
                     {in(get("/huge-headers")), out(big), closed()},
                     {e}});
  }
  cases.push_back({"request closed without any response",
                   {in(get("/unanswered")), closed()},
                   {server("GET", "/unanswered", 0, HTTP_END_CLOSE)}});
  cases.push_back({"garbage: binary bytes, a plain line, a TLS ClientHello",
                   {in(std::string("\x00\x01\x02\xff\xfe", 5)), in("HELLO\r\n"),
                    in(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11))},
                   {},
                   3});
  cases.push_back({"a method followed by control bytes is not a request",
                   {in(std::string("GET /\x01\x02\x03 HTTP/1.1\r\n\r\n")), out(resp(200, ""))},
                   {},
                   2});
  cases.push_back({"a response with no request before it is ignored",
                   {out(resp(200, "stray")), in(get("/real")), out(resp(200, ""))},
                   {server("GET", "/real", 200)},
                   1});
  cases.push_back({"a status line with a bad code does not start a response",
                   {in(get("/bad-status")), out("HTTP/1.1 9xx Nope\r\n\r\n"), out(resp(200, "ok"))},
                   {server("GET", "/bad-status", 200)},
                   1});
  // The header scan reads aligned 8-byte words: slide every line through all
  // word offsets, and end the data at every offset too.
  for (int pad = 0; pad < 16; pad++) {
    std::string r = "HTTP/1.1 200 OK\r\nX-Pad: " + std::string(static_cast<std::size_t>(pad), 'x') +
                    "\r\nContent-Length: 3\r\n\r\nabc";
    std::string req = "GET /pad/" + std::to_string(pad) + std::string(static_cast<std::size_t>(pad), 'q') +
                      " HTTP/1.1\r\nA: " + std::string(static_cast<std::size_t>(pad), 'a') + "\r\n\r\n";
    cases.push_back({"newlines at every word offset, pad " + std::to_string(pad),
                     {in(req), out(r)},
                     {with_bytes(server("GET", req.substr(4, req.find(' ', 4) - 4), 200), req.size(),
                                 r.size())}});
    // Headers cut into small unaligned pieces, one write each (the first write
    // holds the status line: a response is recognised from its first write).
    const std::size_t status_line = std::string("HTTP/1.1 200 OK\r\n").size();
    std::vector<Step> steps = {in(req), out(r.substr(0, status_line))};
    for (std::size_t off = status_line; off < r.size(); off += static_cast<std::size_t>(pad % 7 + 1))
      steps.push_back(out(r.substr(off, static_cast<std::size_t>(pad % 7 + 1))));
    // A header line cut between syscalls is not read (README, known gaps):
    // Content-Length is missed, so the response ends when the connection closes.
    steps.push_back(closed());
    cases.push_back({"response in " + std::to_string(pad % 7 + 1) + "-byte writes, pad " +
                         std::to_string(pad),
                     steps,
                     {server("GET", req.substr(4, req.find(' ', 4) - 4), 200, HTTP_END_CLOSE)}});
  }
  // The start line is scanned a word at a time too, for the bytes that matter
  // there: a byte a start line may not hold, at every word offset, makes the
  // message not HTTP; the printable extremes ('!' and '~') do not.
  const char bad_bytes[] = {'\x7f', '\x80', '\t', '\0', '\xff', '\x1f'};
  for (int pad = 0; pad < 16; pad++) {
    char bad = bad_bytes[pad % sizeof bad_bytes];
    std::string req = "GET /bad" + std::string(static_cast<std::size_t>(pad), 'q') + bad +
                      " HTTP/1.1\r\n\r\n";
    cases.push_back({"an unprintable byte in the start line at offset " + std::to_string(8 + pad),
                     {in(req), out(resp(200, ""))},
                     {},
                     2});
  }
  // A byte right after a newline whose bits differ from '\n' by one (0x0b)
  // is marked by the word test's borrow too; it is no newline.
  for (int pad = 0; pad < 8; pad++) {
    std::string r = "HTTP/1.1 200 OK\r\nX: " + std::string(static_cast<std::size_t>(pad), 'v') +
                    "\r\n\x0bY: z\r\nContent-Length: 3\r\n\r\nabc";
    cases.push_back({"a 0x0b after a newline at word offset " + std::to_string(pad),
                     {in(get("/vt")), out(r)},
                     {server("GET", "/vt", 200)}});
  }
  cases.push_back({"printable extremes in a target",
                   {in(get("/~user/a!b?x=~!")), out(resp(200, "ok"))},
                   {server("GET", "/~user/a!b?x=~!", 200)}});
  {
    // Headers that end exactly at the window's last byte, then the body.
    std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Fill: ";
    head += std::string(DT_WIN - head.size() - 4, 'f') + "\r\n\r\n";
    cases.push_back({"headers end on the window's last byte",
                     {in(get("/edge")), out(head + "12345")},
                     {server("GET", "/edge", 200)}});
  }
  return cases;
}

}  // namespace

const std::vector<Case>& http_cases() {
  static const std::vector<Case> cases = build_cases();
  return cases;
}

const std::vector<TemplateCase>& path_template_cases() {
  static const std::vector<TemplateCase> cases = {
      {"/", "/"},
      {"", ""},
      {"/hello", "/hello"},
      {"/item/17", "/item/{n}"},
      {"/item/17/", "/item/{n}/"},
      {"/users/42/orders/9001", "/users/{n}/orders/{n}"},
      {"/v1/items", "/v1/items"},  // v1 is not an id
      {"/obj/550e8400-e29b-41d4-a716-446655440000", "/obj/{id}"},
      {"/blob/9f86d081884c7d659a2feaa0c55ad015", "/blob/{id}"},
      {"/blob/deadbeef", "/blob/deadbeef"},      // hex but no digit: a word
      {"/blob/abc1", "/blob/abc1"},              // too short for an id
      {"/day/2024-01-05", "/day/{id}"},
      {"/search?q=17&page=2", "/search"},
      {"/a/1?x=/2", "/a/{n}"},
      {"/frag#1", "/frag"},
      {"*", "*"},
      {"http://host/x/1", "http://host/x/{n}"},  // absolute-form: templated as a path
      {"//double//slash/3", "//double//slash/{n}"},
      {"/" + std::string(100, 'p'), ("/" + std::string(100, 'p')).substr(0, DT_TEMPLATE_MAX - 1)},
      {"/" + std::string(70, 'q') + "/123", ("/" + std::string(70, 'q')).substr(0, DT_TEMPLATE_MAX - 1)},
      {"/x/" + std::string(60, '7'), "/x/{n}"},
  };
  return cases;
}

std::string host_path_template(const std::string& path) { return capture::path_template(path); }

int HostDriver::feed(http_exchange& x, int dir, const StepInput& in, std::uint64_t t0,
                     std::uint64_t t1, http_exchange& done) {
  dt_chunk ch = chunk_of(in);
  ch.dir = static_cast<__u8>(dir);
  ch.ts_enter = t0;
  ch.ts_exit = t1;
  dt_window w = in.win;  // http1_feed may cut an interim response off its front
  return http1_feed(&x, &w, &ch, &done);
}

int HostDriver::close(http_exchange& x, std::uint64_t t, http_exchange& done) {
  return http1_close(&x, t, &done);
}

CaseResult run_case(const Case& c, Driver& d) { return run_steps(c.steps, d); }

std::string check_case(const Case& c, const CaseResult& r) {
  std::ostringstream err;
  if (r.finished.size() != c.expected.size())
    err << "finished " << r.finished.size() << " exchanges, expected " << c.expected.size()
        << "\n";
  if (r.ignored != c.ignored) err << "ignored " << r.ignored << " steps, expected " << c.ignored << "\n";
  for (std::size_t i = 0; i < std::min(r.finished.size(), c.expected.size()); i++) {
    const auto& got = r.finished[i];
    const auto& want = c.expected[i];
    auto field = [&](const char* name, auto g, auto w) {
      if (g != w) err << "exchange " << i << ": " << name << " = " << g << ", expected " << w << "\n";
    };
    static const char* methods[] = {"",      "GET",   "POST",    "PUT",     "DELETE",
                                    "HEAD",  "PATCH", "OPTIONS", "CONNECT", "TRACE"};
    field("role", int(got.role), want.role);
    field("method", std::string(methods[got.method < 10 ? got.method : 0]), want.method);
    field("path", std::string(got.path, got.path_len), want.path);
    field("status", got.phase == HTTP_PHASE_RESPONSE ? int(got.status) : 0, want.status);
    field("end_reason", int(got.end_reason), want.end_reason);
    field("ctx_kind", int(got.ctx.kind), want.ctx_kind);
    if (want.ctx_kind != DT_CTX_NONE) {
      field("trace_id", std::string(got.ctx.trace_id, 32), want.trace_id);
      field("parent_id", std::string(got.ctx.parent_id, 16), want.parent_id);
    }
    field("resp_ctx_kind", int(got.resp_ctx.kind), want.resp_ctx_kind);
    if (want.resp_ctx_kind != DT_CTX_NONE) {
      field("resp_trace_id", std::string(got.resp_ctx.trace_id, 32), want.resp_trace_id);
      field("resp_span_id", std::string(got.resp_ctx.parent_id, 16), want.resp_span_id);
    }
    if (want.req_bytes) field("req_bytes", got.req.total_bytes, want.req_bytes);
    if (want.resp_bytes) field("resp_bytes", got.resp.total_bytes, want.resp_bytes);
    field("hdr_lost", bool(got.req.hdr_lost || got.resp.hdr_lost), want.hdr_lost);
    if (got.start_ns == 0 || got.start_ns > got.end_ns)
      err << "exchange " << i << ": times out of order (" << got.start_ns << " .. " << got.end_ns
          << ")\n";
  }
  return err.str();
}

}  // namespace difftrace::testing
