#include "replay/hpack_decoder.h"

#include <nghttp2/nghttp2.h>

#include <stdexcept>

namespace difftrace::replay {
namespace {

constexpr std::size_t kStaticEntries = 61;
constexpr std::size_t kEntryOverhead = 32;

// An HPACK integer with an n-bit prefix (RFC 7541 5.1); nullopt when cut short or too large.
std::optional<std::uint64_t> integer_at(std::span<const std::uint8_t> b, std::size_t& at, int n) {
  if (at >= b.size()) return std::nullopt;
  const std::uint64_t max_prefix = (1u << n) - 1;
  std::uint64_t v = b[at++] & max_prefix;
  if (v < max_prefix) return v;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (at >= b.size()) return std::nullopt;
    const std::uint8_t c = b[at++];
    v += std::uint64_t{c & 0x7fu} << shift;
    if (!(c & 0x80)) return v;
  }
  return std::nullopt;  // longer than any table index or string length can be
}

// Runs a block that does not touch the dynamic table (static index, literal without indexing)
// through nghttp2; its one field, or nullopt when nghttp2 refuses it.
std::optional<HeaderField> inflate_one(nghttp2_hd_inflater* inf, const std::vector<std::uint8_t>& in) {
  std::optional<HeaderField> field;
  const std::uint8_t* p = in.data();
  std::size_t left = in.size();
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t n = nghttp2_hd_inflate_hd2(inf, &nv, &flags, p, left, 1);
    if (n < 0) return std::nullopt;
    p += n;
    left -= static_cast<std::size_t>(n);
    if (flags & NGHTTP2_HD_INFLATE_EMIT)
      field = HeaderField{std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                          std::string(reinterpret_cast<char*>(nv.value), nv.valuelen)};
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(inf);
      return field;
    }
    if (n == 0 && left == 0) return std::nullopt;
  }
}

}  // namespace

const std::string* HeaderBlock::find(std::string_view name) const {
  for (const HeaderField& f : fields)
    if (f.name == name) return &f.value;
  return nullptr;
}

HpackDecoder::HpackDecoder() {
  if (nghttp2_hd_inflate_new(&inflater_) != 0) throw std::bad_alloc();
  for (std::size_t i = 1; i <= kStaticEntries; i++) {
    auto f = inflate_one(inflater_, {static_cast<std::uint8_t>(0x80 | i)});
    if (!f) throw std::logic_error("nghttp2 refused a static table index");
    static_.push_back({f->name, f->value, f->name.size() + f->value.size() + kEntryOverhead});
  }
}

HpackDecoder::~HpackDecoder() { nghttp2_hd_inflate_del(inflater_); }

std::optional<std::string> HpackDecoder::string_at(std::span<const std::uint8_t> b,
                                                   std::size_t& at) {
  const std::size_t start = at;
  auto len = integer_at(b, at, 7);
  if (!len || *len > b.size() - at) return std::nullopt;
  // A literal without indexing with the new name "x" and this value: nghttp2 decodes the
  // string (Huffman or plain) and checks it, and its table is not touched.
  std::vector<std::uint8_t> one = {0x00, 0x01, 'x'};
  one.insert(one.end(), b.begin() + static_cast<std::ptrdiff_t>(start),
             b.begin() + static_cast<std::ptrdiff_t>(at + *len));
  at += *len;
  auto f = inflate_one(inflater_, one);
  if (!f) return std::nullopt;
  return f->value;
}

const HpackDecoder::Entry* HpackDecoder::lookup(std::uint64_t index, bool& known_index) {
  known_index = index != 0;
  if (index == 0) return nullptr;
  if (index <= kStaticEntries) return &static_[index - 1];
  const std::uint64_t d = index - kStaticEntries - 1;
  if (positioned_mode_) {
    if (!at_position_ || d >= *at_position_) return nullptr;
    auto it = positioned_.find(*at_position_ - 1 - d);
    return it == positioned_.end() ? nullptr : &it->second;
  }
  if (d < table_.size()) return &table_[d];
  return nullptr;  // an entry from before the capture (or evicted by a smaller table than ours)
}

void HpackDecoder::add(Entry e) {
  if (positioned_mode_) {
    if (!at_position_) return;
    positioned_[(*at_position_)++] = std::move(e);
    // Memory only: an encoder's table holds far fewer entries than this.
    while (positioned_.size() > 4096) positioned_.erase(positioned_.begin());
    return;
  }
  table_size_ += e.size;
  table_.push_front(std::move(e));
  evict();
}

void HpackDecoder::evict() {
  while (table_size_ > max_size_ && !table_.empty()) {
    table_size_ -= table_.back().size;
    table_.pop_back();
  }
}

// One representation (RFC 7541 6). false: malformed.
bool HpackDecoder::decode_one(std::span<const std::uint8_t> b, std::size_t& at, HeaderBlock& out) {
  const std::uint8_t c = b[at];
  if (c & 0x80) {  // indexed field
    auto index = integer_at(b, at, 7);
    bool valid = false;
    if (!index) return false;
    const Entry* e = lookup(*index, valid);
    if (!valid) return false;
    if (e && e->name && e->value)
      out.fields.push_back({*e->name, *e->value});
    else
      out.unresolved++;
    return true;
  }
  if ((c & 0xe0) == 0x20) {  // dynamic table size update
    auto size = integer_at(b, at, 5);
    if (!size) return false;
    max_size_ = static_cast<std::size_t>(*size);
    evict();
    return true;
  }
  const bool indexing = (c & 0xc0) == 0x40;
  auto name_index = integer_at(b, at, indexing ? 6 : 4);
  if (!name_index) return false;
  std::optional<std::string> name;
  if (*name_index) {
    bool valid = false;
    const Entry* e = lookup(*name_index, valid);
    if (!valid) return false;
    if (e) name = e->name;
  } else {
    name = string_at(b, at);
    if (!name) return false;
  }
  auto value = string_at(b, at);
  if (!value) return false;
  if (name)
    out.fields.push_back({*name, *value});
  else
    out.unresolved++;
  // An unknown name's length counts 0: the size is then short of the encoder's, so entries
  // stay here longer than in its table, which is harmless (below).
  if (indexing) add({name, value, (name ? name->size() : 0) + value->size() + kEntryOverhead});
  return true;
}

HeaderBlock HpackDecoder::decode_at(std::span<const std::uint8_t> block,
                                    std::optional<std::uint64_t> position, bool truncated) {
  HeaderBlock out;
  positioned_mode_ = true;
  at_position_ = position;
  std::size_t at = 0;
  while (at < block.size()) {
    if (!decode_one(block, at, out)) {
      // Cut by the kernel's copy: the fields before the cut stand. Otherwise not HPACK.
      out.malformed = !truncated;
      break;
    }
  }
  positioned_mode_ = false;
  at_position_.reset();
  return out;
}

HeaderBlock HpackDecoder::decode(std::span<const std::uint8_t> block) {
  HeaderBlock out;
  if (broken_) {
    out.malformed = true;
    return out;
  }
  std::size_t at = 0;
  while (at < block.size()) {
    if (!decode_one(block, at, out)) {
      broken_ = true;
      out.malformed = true;
      table_.clear();
      table_size_ = 0;
      break;
    }
  }
  return out;
}

}  // namespace difftrace::replay
