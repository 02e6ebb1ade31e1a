#include "common/cases/http2_cases.h"

#include <algorithm>
#include <span>
#include <sstream>

#include "replay/http2_io.h"

namespace difftrace::testing {
namespace {

constexpr int kIn = DT_DIR_INGRESS;   // to the traced server
constexpr int kOut = DT_DIR_EGRESS;   // from it

std::string settings() { return h2_frame_bytes(H2_SETTINGS, 0, 0, std::string(6, '\0')); }
std::string headers(std::uint32_t id, int flags, const std::string& block) {
  return h2_frame_bytes(H2_HEADERS, flags | H2_F_END_HEADERS, id, block);
}
std::string data(std::uint32_t id, int flags, std::size_t n) {
  return h2_frame_bytes(H2_DATA, flags, id, std::string(n, 'd'));
}
std::string rst(std::uint32_t id) { return h2_frame_bytes(H2_RST_STREAM, 0, id, std::string("\0\0\0\x8", 4)); }
std::string goaway(std::uint32_t last) {
  std::string p(8, '\0');
  p[3] = static_cast<char>(last);
  return h2_frame_bytes(H2_GOAWAY, 0, 0, p);
}

// HEADERS with padding (pad bytes of it) and, if prio, the 5 priority bytes.
std::string padded_headers(std::uint32_t id, int flags, const std::string& block, int pad, bool prio) {
  std::string p;
  int f = flags | H2_F_END_HEADERS | H2_F_PADDED;
  p.push_back(static_cast<char>(pad));
  if (prio) {
    p += std::string("\x80\0\0\x03\x10", 5);
    f |= H2_F_PRIORITY;
  }
  return h2_frame_bytes(H2_HEADERS, f, id, p + block + std::string(pad, '\0'));
}

// Requests on streams 1, 3, 5, ... with END_STREAM, whose blocks are not checked here.
std::string many_requests(int n) {
  std::string out;
  for (int i = 0; i < n; i++) out += headers(2 * i + 1, H2_F_END_STREAM, "x");
  return out;
}

constexpr int kEnd = H2_F_END_STREAM;
constexpr int kBoth = H2_S_REQ_HEADERS | H2_S_REQ_END | H2_S_RESP_HEADERS | H2_S_RESP_END;

}  // namespace

const std::string kH2Preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

std::string h2_frame_bytes(int type, int flags, std::uint32_t stream, const std::string& payload) {
  std::string f(9, '\0');
  const std::size_t n = payload.size();
  f[0] = static_cast<char>(n >> 16);
  f[1] = static_cast<char>(n >> 8);
  f[2] = static_cast<char>(n);
  f[3] = static_cast<char>(type);
  f[4] = static_cast<char>(flags);
  f[5] = static_cast<char>(stream >> 24);
  f[6] = static_cast<char>(stream >> 16);
  f[7] = static_cast<char>(stream >> 8);
  f[8] = static_cast<char>(stream);
  return f + payload;
}

const std::vector<H2Case>& http2_cases() {
  static const std::vector<H2Case> cases = {
      {"preface, one unary exchange",
       {{kIn, kH2Preface + settings() + headers(1, kEnd, "REQ")},
        {kOut, settings() + headers(1, 0, "RESP") + data(1, kEnd, 5)}},
       {{1, H2_END_COMPLETE, kBoth, 9 + 3, 9 + 4 + 9 + 5}},
       {{1, H2_BLOCK_REQUEST, kIn, "REQ"}, {1, H2_BLOCK_RESPONSE, kOut, "RESP"}}},
      {"the server's SETTINGS before the client's preface: the preface still tells the client",
       {{kOut, settings()}, {kIn, kH2Preface + settings() + headers(1, kEnd, "q")},
        {kOut, headers(1, kEnd, "s")}},
       {{1, H2_END_COMPLETE, kBoth}},
       {{1, H2_BLOCK_REQUEST, kIn, "q"}, {1, H2_BLOCK_RESPONSE, kOut, "s"}}},
      {"picked up mid-stream: the first HEADERS tells the client",
       {{kIn, headers(5, 0, "R5") + data(5, kEnd, 3)}, {kOut, headers(5, kEnd, "S5")}},
       {{5, H2_END_COMPLETE, kBoth}},
       {{5, H2_BLOCK_REQUEST, kIn, "R5"}, {5, H2_BLOCK_RESPONSE, kOut, "S5"}}},
      {"CONTINUATION: END_STREAM counts after the block ends",
       {{kIn, kH2Preface + h2_frame_bytes(H2_HEADERS, kEnd, 1, "ab")},
        {kIn, h2_frame_bytes(H2_CONTINUATION, 0, 1, "cd")},
        {kIn, h2_frame_bytes(H2_CONTINUATION, H2_F_END_HEADERS, 1, "ef")},
        {kOut, headers(1, kEnd, "ok")}},
       {{1, H2_END_COMPLETE, kBoth, 9 * 3 + 6, 9 + 2}},
       {{1, H2_BLOCK_REQUEST, kIn, "abcdef"}, {1, H2_BLOCK_RESPONSE, kOut, "ok"}}},
      {"a header block interrupted by another frame: a protocol error, no longer followed",
       {{kIn, kH2Preface + h2_frame_bytes(H2_HEADERS, 0, 1, "ab") + data(1, 0, 2)}},
       {},
       {},
       true, 1, 0, 1},
      {"RST_STREAM from the client before any response",
       {{kIn, kH2Preface + headers(1, 0, "R") + data(1, 0, 10)}, {kIn, rst(1)}},
       {{1, H2_END_RESET, H2_S_REQ_HEADERS | H2_S_RESET, 9 + 1 + 9 + 10 + 13, 0}},
       {{1, H2_BLOCK_REQUEST, kIn, "R"}}},
      {"RST_STREAM from the server after its headers",
       {{kIn, kH2Preface + headers(3, kEnd, "R")}, {kOut, headers(3, 0, "S") + rst(3)}},
       {{3, H2_END_RESET, H2_S_REQ_HEADERS | H2_S_REQ_END | H2_S_RESP_HEADERS | H2_S_RESET}},
       {{3, H2_BLOCK_REQUEST, kIn, "R"}, {3, H2_BLOCK_RESPONSE, kOut, "S"}}},
      {"interleaved streams finish in the order their responses end",
       {{kIn, kH2Preface + headers(1, kEnd, "a") + headers(3, kEnd, "b") + headers(5, kEnd, "c")},
        {kOut, headers(3, 0, "B") + headers(1, 0, "A") + data(1, 0, 4) + data(3, kEnd, 2)},
        {kOut, data(1, kEnd, 1) + headers(5, kEnd, "C")}},
       {{3, H2_END_COMPLETE, kBoth}, {1, H2_END_COMPLETE, kBoth}, {5, H2_END_COMPLETE, kBoth}},
       {{1, H2_BLOCK_REQUEST, kIn, "a"},
        {3, H2_BLOCK_REQUEST, kIn, "b"},
        {5, H2_BLOCK_REQUEST, kIn, "c"},
        {3, H2_BLOCK_RESPONSE, kOut, "B"},
        {1, H2_BLOCK_RESPONSE, kOut, "A"},
        {5, H2_BLOCK_RESPONSE, kOut, "C"}}},
      {"padding and priority are not part of the header block; padded DATA is counted",
       {{kIn, kH2Preface + padded_headers(1, kEnd, "blk", 3, true)},
        {kOut, padded_headers(1, 0, "ok", 0, false) +
                   h2_frame_bytes(H2_DATA, kEnd | H2_F_PADDED, 1, std::string("\x02xy\0\0", 5))}},
       {{1, H2_END_COMPLETE, kBoth, 9 + 1 + 5 + 3 + 3, 9 + 1 + 2 + 9 + 5}},
       {{1, H2_BLOCK_REQUEST, kIn, "blk"}, {1, H2_BLOCK_RESPONSE, kOut, "ok"}}},
      {"trailers: a second response block ends the stream (gRPC)",
       {{kIn, kH2Preface + headers(1, 0, "req") + data(1, kEnd, 5)},
        {kOut, headers(1, 0, "hdr") + data(1, 0, 7) + headers(1, kEnd, "trl")}},
       {{1, H2_END_COMPLETE, kBoth | H2_S_TRAILERS}},
       {{1, H2_BLOCK_REQUEST, kIn, "req"},
        {1, H2_BLOCK_RESPONSE, kOut, "hdr"},
        {1, H2_BLOCK_TRAILERS, kOut, "trl"}}},
      {"GOAWAY: streams above its last id were never processed",
       {{kIn, kH2Preface + headers(1, kEnd, "a") + headers(3, kEnd, "b")},
        {kOut, goaway(1) + headers(1, kEnd, "A")}},
       {{3, H2_END_GOAWAY, H2_S_REQ_HEADERS | H2_S_REQ_END | H2_S_REFUSED},
        {1, H2_END_COMPLETE, kBoth}},
       {{1, H2_BLOCK_REQUEST, kIn, "a"}, {3, H2_BLOCK_REQUEST, kIn, "b"},
        {1, H2_BLOCK_RESPONSE, kOut, "A"}}},
      {"a response to a stream opened before us: its block kept in step, no stream",
       {{kIn, kH2Preface + headers(9, kEnd, "new")},
        {kOut, headers(7, 0, "old") + data(7, kEnd, 2) + headers(9, kEnd, "NEW")}},
       {{9, H2_END_COMPLETE, kBoth}},
       {{9, H2_BLOCK_REQUEST, kIn, "new"}, {7, H2_BLOCK_UNTRACKED, kOut, "old"},
        {9, H2_BLOCK_RESPONSE, kOut, "NEW"}}},
      {"the connection closes with a stream unanswered",
       {{kIn, kH2Preface + headers(1, kEnd, "q")}, {kIn, "", true}},
       {{1, H2_END_CLOSE, H2_S_REQ_HEADERS | H2_S_REQ_END}},
       {{1, H2_BLOCK_REQUEST, kIn, "q"}}},
      {"PING, WINDOW_UPDATE, PRIORITY and unknown frame types are skipped",
       {{kIn, kH2Preface + h2_frame_bytes(H2_PING, 0, 0, std::string(8, 'p')) +
                  h2_frame_bytes(H2_WINDOW_UPDATE, 0, 0, std::string(4, '\x01')) +
                  h2_frame_bytes(H2_PRIORITY, 0, 1, std::string(5, '\0')) +
                  h2_frame_bytes(0x42, 0, 0, "ext") + headers(1, kEnd, "q")},
        {kOut, headers(1, kEnd, "s")}},
       {{1, H2_END_COMPLETE, kBoth}},
       {{1, H2_BLOCK_REQUEST, kIn, "q"}, {1, H2_BLOCK_RESPONSE, kOut, "s"}}},
      {"an empty header block still completes",
       {{kIn, kH2Preface + headers(1, kEnd, "")}, {kOut, headers(1, kEnd, "")}},
       {{1, H2_END_COMPLETE, kBoth}},
       {{1, H2_BLOCK_REQUEST, kIn, ""}, {1, H2_BLOCK_RESPONSE, kOut, ""}}},
      {"garbage: HTTP/1.x is not HTTP/2",
       {{kIn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"}}, {}, {}, true},
      {"garbage after the preface: a PING of 7 bytes",
       {{kIn, kH2Preface + h2_frame_bytes(H2_PING, 0, 0, std::string(7, 'p')) + headers(1, kEnd, "q")}},
       {}, {}, true},
      {"padding longer than the frame is a protocol error",
       {{kIn, kH2Preface + h2_frame_bytes(H2_HEADERS, H2_F_END_HEADERS | H2_F_PADDED, 1,
                                          std::string("\x09", 1) + "ab")}},
       {}, {}, true},
      {"more concurrent streams than the table holds: the rest counted, not followed",
       {{kIn, kH2Preface + many_requests(H2_MAX_STREAMS + 1)}},
       {}, {}, false, 1, 1, H2_MAX_STREAMS},
  };
  return cases;
}

H2Result run_h2_case(const H2Case& c, std::size_t split) {
  H2Result r;
  std::string open_block[2];
  replay::Http2Callbacks cb;
  cb.on_fragment = [&](const h2_fragment& f, std::span<const std::uint8_t> bytes) {
    std::string& b = open_block[f.dir & 1];
    b.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (!f.last) return;
    r.blocks.push_back({f.stream, f.kind, f.dir, b});
    b.clear();
  };
  cb.on_done = [&](const h2_stream& st) { r.streams.push_back(st); };
  std::uint64_t t = 1000;
  for (const Step& step : c.steps) {
    t += 10;
    if (step.close) {
      replay::http2_close(r.conn, t, cb);
      continue;
    }
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(step.data.data());
    const std::size_t n = step.data.size();
    // Inference judges a connection's first I/O whole, unless it starts the preface.
    const bool whole = !split || (r.conn.state == H2_CONN_NEW && step.data.rfind("PRI", 0) != 0);
    const std::size_t piece = whole ? n : split;
    for (std::size_t at = 0; at < n; at += piece) {
      const std::span<const std::uint8_t> io(bytes + at, std::min(piece, n - at));
      if (replay::http2_feed_io(r.conn, step.dir, t + 1, t + 5, io, cb) & DT_FEED_INVALID)
        r.invalid = true;
    }
  }
  return r;
}

std::string check_h2_case(const H2Case& c, const H2Result& r) {
  std::ostringstream err;
  if (r.invalid != c.invalid) err << "invalid: got " << r.invalid << ", want " << c.invalid << "\n";
  if (!c.invalid && r.conn.role != c.role && !c.steps.back().close)
    err << "role: got " << int(r.conn.role) << ", want " << c.role << "\n";
  if (r.conn.streams_untracked != c.untracked)
    err << "untracked: got " << r.conn.streams_untracked << ", want " << c.untracked << "\n";
  if (h2_open_streams(&r.conn) != c.open_after)
    err << "open after: got " << h2_open_streams(&r.conn) << ", want " << c.open_after << "\n";
  if (r.streams.size() != c.streams.size())
    err << "streams: got " << r.streams.size() << ", want " << c.streams.size() << "\n";
  for (std::size_t i = 0; i < std::min(r.streams.size(), c.streams.size()); i++) {
    const h2_stream& got = r.streams[i];
    const H2Stream& want = c.streams[i];
    std::ostringstream s;
    if (got.id != want.id) s << " id " << got.id << " want " << want.id;
    if (got.end_reason != want.end_reason)
      s << " end_reason " << int(got.end_reason) << " want " << want.end_reason;
    if (got.bits != want.bits) s << " bits 0x" << std::hex << int(got.bits) << " want 0x" << want.bits << std::dec;
    if (want.req_bytes && got.req_bytes != want.req_bytes)
      s << " req_bytes " << got.req_bytes << " want " << want.req_bytes;
    if (want.resp_bytes && got.resp_bytes != want.resp_bytes)
      s << " resp_bytes " << got.resp_bytes << " want " << want.resp_bytes;
    if (!got.start_ns || got.req_end_ns < got.start_ns) s << " times not set";
    if (!s.str().empty()) err << "stream " << i << ":" << s.str() << "\n";
  }
  if (!c.blocks.empty() || c.invalid) {
    if (r.blocks.size() != c.blocks.size())
      err << "blocks: got " << r.blocks.size() << ", want " << c.blocks.size() << "\n";
    for (std::size_t i = 0; i < std::min(r.blocks.size(), c.blocks.size()); i++) {
      const H2Block& g = r.blocks[i];
      const H2Block& w = c.blocks[i];
      if (g.stream != w.stream || g.kind != w.kind || g.dir != w.dir || g.bytes != w.bytes)
        err << "block " << i << ": got stream " << g.stream << " kind " << g.kind << " dir " << g.dir
            << " '" << g.bytes << "', want stream " << w.stream << " kind " << w.kind << " dir "
            << w.dir << " '" << w.bytes << "'\n";
    }
  }
  return err.str();
}

}  // namespace difftrace::testing
