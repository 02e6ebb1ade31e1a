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
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "capture/span.h"

namespace difftrace::assembler {

class CausalJoin {
 public:
  using Key = std::string;  // a trace id's bytes, as the assembler keys traces

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

  // Keys of the wire and the process, also the linker's (assembler/linker.cpp).
  static std::string wire_key(const capture::Endpoint& client_end, std::uint32_t seq);
  static std::string exchange_key(std::uint64_t conn_id, std::uint32_t exch);

  std::size_t entries() const { return index_.size() + waiting_.size() + parent_.size() + fixed_.size(); }

 private:
  void put(const std::string& index_key, const Key& group, std::uint64_t now_ns);
  // Joins group from into into (both roots).
  void unite(const Key& from, const Key& into, std::uint64_t now_ns);
  void forget_old(std::uint64_t now_ns);

  std::uint64_t max_age_ns_;
  std::size_t max_entries_;
  // "c"/"s" + wire key (a CLIENT or SERVER span at that end), "x" + exchange key (a
  // SERVER exchange): their group.
  std::unordered_map<std::string, Key> index_;
  // exchange key -> the groups of the CLIENT spans it caused, that came before it
  std::unordered_map<std::string, std::vector<Key>> waiting_;
  std::unordered_map<Key, Key> parent_;  // union-find: a merged group -> the one it joined
  std::unordered_set<Key> fixed_;         // header trace ids: they join no other group
  // when each entry came: 'i' + index_ key, 'w' + waiting_ key, 'p' + parent_ key,
  // 'f' + fixed_ key
  std::deque<std::pair<std::uint64_t, std::string>> order_;
};

}  // namespace difftrace::assembler
