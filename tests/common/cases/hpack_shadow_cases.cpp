#include "common/cases/hpack_shadow_cases.h"

#include <nghttp2/nghttp2.h>

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
  return cases;
}

}  // namespace

const std::vector<ShadowCase>& hpack_shadow_cases() {
  static const std::vector<ShadowCase> cases = make_cases();
  return cases;
}

}  // namespace difftrace::testing
