// One trace for a request that carried no trace header, from what the kernel saw
// (bpf/lib/causality.bpf.h): spans without a header trace id are joined into groups by
//   - the wire: a CLIENT span and the SERVER span at the other end of its connection have
//     the same client end (address, port: what DNAT leaves alone) and the same TCP
//     sequence number of the request's first byte;
//   - the process: a CLIENT span names the SERVER exchange (connection, number) that
//     caused it, when the kernel could tell.
// A group is known by the key of its most upstream span seen so far; when a span links
// two groups, the downstream one joins the upstream one's key, so a whole request ends
// up under its root SERVER span's trace id. Children end before their parents and so
// usually arrive first: a group's key changes as its callers arrive. Index entries are
// forgotten after max_age_ns (or beyond max_entries, oldest first): memory is bounded.
// Keys are the bytes as they are (trace ids, connection numbers, ports), not texts: every
// span of a traced server comes here, and a text per key was an allocation per key. The
// tables are flat (flat_map.h): on nginx's one-span traces with a header (each: a miss in
// waiting_, one fixed_ and one index_ entry made, two old ones forgotten), std::unordered's
// node per entry, with its allocation, free and cache misses, was most of the cost.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "assembler/flat_map.h"
#include "assembler/trace_map.h"
#include "capture/span.h"

namespace difftrace::assembler {

class CausalJoin {
 public:
  using Key = capture::TraceId;  // a trace id, as the assembler keys traces

  struct Result {
    Key key;                  // the group the span belongs to now
    std::vector<Key> merged;  // groups that joined it (downstream of the span)
  };

  CausalJoin(std::uint64_t max_age_ns, std::size_t max_entries)
      : max_age_ns_(max_age_ns), max_entries_(max_entries) {}

  // Does the span carry anything to join by?
  static bool joinable(const capture::Span& s);
  // Joins s (whose own key is own) at now_ns. A span whose trace id came from a header
  // keeps it (own_fixed): groups downstream of it join its trace, it joins none.
  Result join(const capture::Span& s, const Key& own, std::uint64_t now_ns,
              bool own_fixed = false);
  // The group a key belongs to now.
  Key find(const Key& k);

  std::size_t entries() const {
    return index_.size() + waiting_.size() + parent_.size() + fixed_.size();
  }

 private:
  // What a span is found by: kind 'c' / 's', a CLIENT or SERVER span at a client end
  // (address, port) whose request starts at TCP sequence number num; 'x', a SERVER
  // exchange (connection conn, exchange num). 32 bytes and no heap: the address is its text
  // when that is 16 bytes or less (any IPv4 text), else the 16 bytes of the IPv6 address it
  // names (inet_ntop's texts, the only ones captures make, are one per address), else (no
  // address at all) two hashes of the text. An std::string here made each of the up to
  // kMaxJoinEntries remembered entries 80 bytes, and each index node 96.
  struct IndexKey {
    char kind = 0;
    std::uint8_t address_form = 0;  // the text's length (<= 16), kIpv6 or kHashed
    std::uint16_t port = 0;
    std::uint32_t num = 0;
    std::uint64_t conn = 0;
    std::array<char, 16> address{};
  };
  static_assert(sizeof(IndexKey) == 32 && std::has_unique_object_representations_v<IndexKey>);
  static constexpr std::uint8_t kIpv6 = 0xfe;
  static constexpr std::uint8_t kHashed = 0xff;
  struct IndexKeyHash {
    std::size_t operator()(const IndexKey& k) const noexcept;
  };
  // Four 8-byte compares (a defaulted == compared member by member, the address a memcmp
  // call).
  struct SameIndexKey {
    bool operator()(const IndexKey& a, const IndexKey& b) const noexcept {
      std::uint64_t x[4], y[4];
      std::memcpy(x, &a, sizeof x);
      std::memcpy(y, &b, sizeof y);
      return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
    }
  };
  template <typename V>
  using IndexMap = FlatMap<IndexKey, V, IndexKeyHash, SameIndexKey>;
  // When an entry came, to forget it: 'i' an index_ key, 'w' a waiting_ key (an exchange),
  // 'p' a parent_ key, 'f' a fixed_ key.
  struct Entry {
    std::uint64_t at_ns = 0;
    union {
      IndexKey index;  // 'i', 'w'
      Key id;          // 'p', 'f'
    };
    char what = 0;
    Entry(std::uint64_t at, char w, const IndexKey& k) : at_ns(at), index(k), what(w) {}
    Entry(std::uint64_t at, char w, const Key& k) : at_ns(at), id(k), what(w) {}
  };

  static IndexKey wire_key(char kind, const capture::Endpoint& client_end, std::uint32_t seq);
  static IndexKey exchange_key(std::uint64_t conn_id, std::uint32_t exch);
  void put(IndexKey&& index_key, const Key& group, std::uint64_t now_ns);
  // Joins group from into into (both roots).
  void unite(const Key& from, const Key& into, std::uint64_t now_ns);
  void forget_old(std::uint64_t now_ns);

  std::uint64_t max_age_ns_;
  std::size_t max_entries_;
  IndexMap<Key> index_;  // a span's key -> its group
  // exchange -> the groups of the CLIENT spans it caused, that came before it
  IndexMap<std::vector<Key>> waiting_;
  // union-find: a merged group -> the one it joined
  TraceMap<Key> parent_;
  TraceMap<bool> fixed_;  // a set: header trace ids, they join no other group
  std::deque<Entry> order_;
};

}  // namespace difftrace::assembler
