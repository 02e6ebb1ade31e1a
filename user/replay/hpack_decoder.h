// HpackDecoder: one direction's HPACK state (RFC 7541) on a connection that replay may have picked
// up mid-stream. libnghttp2's inflater decodes what it can know (the static table, Huffman and
// plain strings, validated); the dynamic table is kept here, because a connection open before the
// capture began has entries nobody saw, and nghttp2's inflater can only fail on them.
//
// What is never guessed: a field indexed into the dynamic table past the entries this decoder
// added itself is unresolved: counted, with no name or value. Index k is always the k-th newest
// entry, and the entries added here are the newest, so an index among them is certain whatever
// came before the capture; and an encoder never names an entry it evicted, so keeping an entry
// longer than its table did cannot resolve a field wrongly. An entry added with an unresolved
// name keeps its value and an unknown name. Entries past the table's maximum size (4096 until a
// size update in the blocks says otherwise) are dropped as the size rule evicts them, which only
// bounds memory: a peer that allowed a larger table (SETTINGS) may have the encoder use them,
// and they count as unresolved then.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct nghttp2_hd_inflater;

namespace difftrace::replay {

struct HeaderField {
  std::string name;
  std::string value;
};

struct HeaderBlock {
  std::vector<HeaderField> fields;  // resolved fields, in order
  std::uint32_t unresolved = 0;     // fields indexed into a table from before the capture
  bool malformed = false;           // not HPACK: this direction is no longer decoded
  // The value of the first field named `name`, if it was resolved.
  const std::string* find(std::string_view name) const;
};

class HpackDecoder {
 public:
  HpackDecoder();
  ~HpackDecoder();
  HpackDecoder(const HpackDecoder&) = delete;
  HpackDecoder& operator=(const HpackDecoder&) = delete;

  // Decodes one complete header block (its fragments joined). Every block of the direction must
  // come, in order, for the table to stay right; after a malformed one every later block is
  // malformed too (the table's state is lost).
  HeaderBlock decode(std::span<const std::uint8_t> block);
  // Decodes one block whose place in the direction's table is known, in any order (the
  // kernel's blocks, struct h2_block_copy): `position` entries had been added since the
  // tracer began following the connection when the block began, so dynamic index d names
  // entry position - 1 - d. Resolved only against entries added by blocks decoded this way;
  // nullopt (the kernel lost count) leaves every dynamic index unresolved. A block cut short
  // (`truncated`) gives the fields before the cut. Separate from decode()'s table.
  HeaderBlock decode_at(std::span<const std::uint8_t> block, std::optional<std::uint64_t> position,
                        bool truncated);

  std::size_t dynamic_entries() const { return table_.size(); }
  // Blocks may have been lost (a capture gap): the entries so far are no longer certain, and
  // fields indexed into them are unresolved from now on; entries added later are certain again.
  void forget_entries() {
    table_.clear();
    table_size_ = 0;
  }

 private:
  struct Entry {
    std::optional<std::string> name;  // nullopt: unresolved
    std::optional<std::string> value;
    std::size_t size = 0;  // name + value + 32, as RFC 7541 4.1 counts it
  };
  bool decode_one(std::span<const std::uint8_t> block, std::size_t& at, HeaderBlock& out);
  // The entry at 1-based HPACK index, nullptr when unresolved (or out of any table).
  const Entry* lookup(std::uint64_t index, bool& known_index);
  void add(Entry e);
  void evict();
  // A string literal at `at` (H bit, length, bytes), decoded by nghttp2.
  std::optional<std::string> string_at(std::span<const std::uint8_t> block, std::size_t& at);

  nghttp2_hd_inflater* inflater_ = nullptr;  // used only for blocks that never touch its table
  std::vector<Entry> static_;                // index 1..61 at [0..60]
  std::deque<Entry> table_;                  // newest first
  std::size_t table_size_ = 0;
  std::size_t max_size_ = 4096;
  bool broken_ = false;
  // decode_at: entries by their position; the block's running position while one is decoded.
  std::map<std::uint64_t, Entry> positioned_;
  std::optional<std::uint64_t> at_position_;
  bool positioned_mode_ = false;
};

}  // namespace difftrace::replay
