#include "common/cases/hpack_shadow_cases.h"

#include <nghttp2/nghttp2.h>

#include "protocols/http2/hpack_shadow.h"  // enum h2s_path_state, H2S_PATH_MAX

#include <cstdint>
#include <stdexcept>
#include <utility>

namespace difftrace::testing {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// libnghttp2's encoder, one dynamic table for the blocks it writes.
class Deflater {
 public:
  Deflater() {
    if (nghttp2_hd_deflate_new(&d_, 4096) != 0) throw std::runtime_error("nghttp2_hd_deflate_new");
  }
  ~Deflater() { nghttp2_hd_deflate_del(d_); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  std::string block(const Fields& fields, std::uint8_t flags = NGHTTP2_NV_FLAG_NONE) {
    std::vector<nghttp2_nv> nv;
    for (const auto& [n, v] : fields)
      nv.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(),
                    v.size(), flags});
    std::string out(nghttp2_hd_deflate_bound(d_, nv.data(), nv.size()), '\0');
    const auto n = nghttp2_hd_deflate_hd(d_, reinterpret_cast<std::uint8_t*>(out.data()),
                                         out.size(), nv.data(), nv.size());
    if (n < 0) throw std::runtime_error("nghttp2_hd_deflate_hd");
    out.resize(static_cast<std::size_t>(n));
    return out;
  }

 private:
  nghttp2_hd_deflater* d_ = nullptr;
};

std::string str(const std::string& s) { return std::string(1, static_cast<char>(s.size())) + s; }

std::string traceparent(const std::string& trace, const std::string& span) {
  return "00-" + trace + "-" + span + "-01";
}

const std::string kTrace1 = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string kTrace2 = "0af7651916cd43dd8448eb211c80319c";
const std::string kTp1 = traceparent(kTrace1, "00f067aa0ba902b7");
const std::string kTp2 = traceparent(kTrace2, "b7ad6b7169203331");

Fields grpc_request(const std::string& tp) {
  return {{":method", "POST"}, {":scheme", "http"}, {":path", "/demo.Echo/Say"},
          {":authority", "localhost:50051"}, {"content-type", "application/grpc"},
          {"te", "trailers"}, {"traceparent", tp}};
}

ShadowBlock path_block(std::string bytes, int state, std::string path = "") {
  ShadowBlock b{std::move(bytes), true, "", 0};
  b.path_state = state;
  b.path = std::move(path);
  return b;
}

ShadowBlock path_found(std::string bytes, std::string path) {
  return path_block(std::move(bytes), H2S_PATH_FOUND, std::move(path));
}

// The :path cases: literal raw and Huffman-coded, with and without indexing, static, indexed
// from the dynamic table, evicted from the shadow's path store, and from before attach.
void add_path_cases(std::vector<ShadowCase>& cases) {
  const std::string method = "\x83\x86";  // :method POST, :scheme http
  cases.push_back({":path static: / and /index.html",
                   {path_found(method + "\x84", "/"), path_found(method + "\x85", "/index.html")}});
  // grpc-core's: literal with incremental indexing, name :path (static 4), raw value; then
  // indexed whole from the dynamic table (62)
  cases.push_back({":path raw, added, then indexed from the dynamic table",
                   {path_found(method + "\x44" + str("/demo.Echo/Say"), "/demo.Echo/Say"),
                    path_found(method + "\xbe", "/demo.Echo/Say"),
                    // a second one: the first is now 63
                    path_found(method + "\x44" + str("/demo.Echo/Slow"), "/demo.Echo/Slow"),
                    path_found(method + "\xbf", "/demo.Echo/Say"),
                    path_found(method + "\xbe", "/demo.Echo/Slow")}});
  {
    // libnghttp2 Huffman-codes the value and never indexes :path; the same bytes with the
    // indexing bit set are a valid literal with incremental indexing
    Deflater d;
    const std::string p = "/grpc.health.v1.Health/Check";
    std::string b = d.block({{":path", p}});
    if (b.empty() || b[0] != '\x04' || !(static_cast<unsigned char>(b[1]) & 0x80))
      throw std::runtime_error("nghttp2 wrote :path otherwise than expected");
    std::string indexed = b;
    indexed[0] = '\x44';
    cases.push_back({":path Huffman-coded, not indexed, then indexed and named again",
                     {path_found(b, p), path_found(indexed, p), path_found(method + "\xbe", p)}});
  }
  {
    // five paths added: the store holds the newest H2S_PATHS (4), so the first is evicted
    // (unresolved, nothing guessed) while the dynamic table still names it
    ShadowCase c{":path evicted from the shadow's path store", {}};
    for (int i = 0; i < 5; i++) {
      const std::string p = "/svc.S/M" + std::to_string(i);
      c.blocks.push_back(path_found(method + "\x44" + str(p), p));
    }
    c.blocks.push_back(path_block(method + "\xc2", H2S_PATH_UNRESOLVED));  // 66: the first
    c.blocks.push_back(path_found(method + "\xc1", "/svc.S/M1"));          // 65
    cases.push_back(std::move(c));
  }
  // an entry from before the shadow looked (64 with nothing added): any field unresolved may
  // have been the :path
  cases.push_back({":path from before attach: unresolved",
                   {path_block(method + "\xc0", H2S_PATH_UNRESOLVED),
                    path_block("\x83\x86\x84\xc0", H2S_PATH_FOUND, "/")}});
  {
    // longer than H2S_PATH_MAX, Huffman-coded and raw: the first 64 bytes
    Deflater d;
    std::string p = "/very.long.package.name.for.testing.Service";
    p += "/" + std::string(40, 'm');
    cases.push_back({":path longer than the shadow keeps",
                     {path_found(d.block({{":path", p}}), p.substr(0, H2S_PATH_MAX)),
                      // the name as a literal, not by its static index
                      path_found(method + std::string(1, '\0') + str(":path") + str(p),
                                 p.substr(0, H2S_PATH_MAX)),
                      path_found(method + std::string("\0\x84\xb9\x58\xd3\x3f", 6) + str("/a/b"),
                                 "/a/b")}});
  }
  {
    // every byte value Huffman-coded, after 18 5-bit symbols so that libnghttp2 codes even the
    // 30-bit ones; at each bit offset of the byte by the prefix's length
    Deflater d;
    ShadowCase c{":path Huffman-coded: every symbol", {}};
    for (int v = 0; v < 256; v++) {
      const std::string p = "/" + std::string(17 + v % 8, '0') + static_cast<char>(v) + "a";
      c.blocks.push_back(path_found(d.block({{":path", p}}), p));
    }
    cases.push_back(std::move(c));
  }
}

std::vector<ShadowCase> make_cases() {
  std::vector<ShadowCase> cases;
  {
    // Name and value Huffman-coded and indexed; then the name from the dynamic table with a
    // new value; then the same field again, indexed whole: its text is not held (unread).
    Deflater d;
    cases.push_back({"nghttp2: Huffman-coded, then its name indexed, then indexed whole",
                     {{d.block(grpc_request(kTp1)), true, kTp1},
                      {d.block(grpc_request(kTp2)), true, kTp2},
                      {d.block(grpc_request(kTp2)), true, "", 1}}});
  }
  {
    Deflater d;
    cases.push_back({"nghttp2: never indexed",
                     {{d.block(grpc_request(kTp1), NGHTTP2_NV_FLAG_NO_INDEX), true, kTp1}}});
  }
  {
    // 64 trace ids of every hex digit: each symbol of the alphabet, at every bit offset
    Deflater d;
    ShadowCase c{"nghttp2: 64 trace ids, Huffman-coded", {}};
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 64; i++) {
      std::string trace, span;
      for (int k = 0; k < 48; k++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        (k < 32 ? trace : span) += "0123456789abcdef"[(x >> 59) & 15];
      }
      const std::string tp = traceparent(trace, span);
      c.blocks.push_back({d.block(grpc_request(tp)), true, tp});
    }
    cases.push_back(std::move(c));
  }
  {
    // grpc-core may send strings raw: literal without indexing, then with indexing and the
    // name from the dynamic table (62)
    cases.push_back({"raw: a new name, then the name indexed",
                     {{"\x83\x86" + std::string(1, '\0') + str("traceparent") + str(kTp1), true,
                       kTp1},
                      {"\x40" + str("traceparent") + str(kTp1), true, kTp1},
                      {"\x83\x7e" + str(kTp2), true, kTp2}}});
  }
  {
    Deflater d;
    std::string upper = kTp1;
    for (char& ch : upper)
      if (ch >= 'a' && ch <= 'f') ch = static_cast<char>(ch - 'a' + 'A');
    cases.push_back({"Huffman-coded upper-case hex: outside the alphabet, unread",
                     {{d.block({{"traceparent", upper}}), true, "", 1}}});
  }
  {
    // a value cut by one byte: 55 symbols cannot be decoded
    Deflater d;
    std::string b = d.block({{"traceparent", kTp1}});
    // 0x40, Huffman name (1 + 8 bytes), then the value's length byte and bytes
    const auto len = static_cast<unsigned char>(b[10]) & 0x7f;
    if ((static_cast<unsigned char>(b[1]) & 0x7f) != 8 || b.size() != 11u + len)
      throw std::runtime_error("nghttp2 wrote traceparent otherwise than expected");
    b[10] = static_cast<char>(0x80 | (len - 1));
    b.pop_back();
    cases.push_back({"Huffman-coded value one byte short: unread", {{b, true, "", 1}}});
  }
  cases.push_back({"raw, not of traceparent's shape: unread",
                   {{std::string(1, '\0') + str("traceparent") + str("00_" + kTp1.substr(3)),
                     true, "", 1}}});
  {
    Deflater d;
    cases.push_back({"a response's traceparent is not read",
                     {{d.block({{":status", "200"}, {"traceparent", kTp1}}), false, ""}}});
  }
  add_path_cases(cases);
  return cases;
}

}  // namespace

const std::vector<ShadowCase>& hpack_shadow_cases() {
  static const std::vector<ShadowCase> cases = make_cases();
  return cases;
}

}  // namespace difftrace::testing
