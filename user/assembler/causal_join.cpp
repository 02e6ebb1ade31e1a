#include "assembler/causal_join.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string_view>

#include "capture.h"

namespace difftrace::assembler {

using capture::Span;
using capture::SpanKind;

bool CausalJoin::joinable(const Span& s) {
  return !s.is_estimated() && (s.req_seq || (s.kind == SpanKind::kServer && s.exch_seq) ||
                               s.cause == DT_CAUSE_FOUND);
}

std::size_t CausalJoin::IndexKeyHash::operator()(const IndexKey& k) const noexcept {
  std::uint64_t a0, a1;
  std::memcpy(&a0, k.address.data(), 8);
  std::memcpy(&a1, k.address.data() + 8, 8);
  std::uint64_t h = (a0 ^ (a1 * 0x9e3779b97f4a7c15ull) ^ k.address_form) * 0xbf58476d1ce4e5b9ull;
  h ^= (k.conn + (std::uint64_t{k.num} << 24 | std::uint64_t{k.port} << 8 |
                  static_cast<std::uint8_t>(k.kind))) *
       0x9e3779b97f4a7c15ull;
  h *= 0xbf58476d1ce4e5b9ull;
  return static_cast<std::size_t>(h ^ (h >> 31));
}

CausalJoin::IndexKey CausalJoin::wire_key(char kind, const capture::Endpoint& client_end,
                                          std::uint32_t seq) {
  IndexKey k;
  k.kind = kind;
  k.port = client_end.port;
  k.num = seq;
  const std::string& a = client_end.address;
  if (a.size() <= k.address.size()) {
    k.address_form = static_cast<std::uint8_t>(a.size());
    std::memcpy(k.address.data(), a.data(), a.size());
  } else if (inet_pton(AF_INET6, a.c_str(), k.address.data()) == 1) {
    k.address_form = kIpv6;
  } else {
    k.address_form = kHashed;
    const std::uint64_t h0 = std::hash<std::string_view>{}(a);
    std::uint64_t h1 = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : a) h1 = (h1 ^ c) * 1099511628211ull;
    std::memcpy(k.address.data(), &h0, 8);
    std::memcpy(k.address.data() + 8, &h1, 8);
  }
  return k;
}

CausalJoin::IndexKey CausalJoin::exchange_key(std::uint64_t conn_id, std::uint32_t exch) {
  IndexKey k;
  k.kind = 'x';
  k.num = exch;
  k.conn = conn_id;
  return k;
}

CausalJoin::Key CausalJoin::find(const Key& k) {
  Key root = k;
  for (const Key* up = parent_.find(root); up; up = parent_.find(root)) root = *up;
  // Path compression: the next find of k is one step.
  if (!same_trace_id(root, k)) {
    Key cur = k;
    for (Key* up = parent_.find(cur); up && !same_trace_id(*up, root); up = parent_.find(cur)) {
      Key next = *up;
      *up = root;
      cur = next;
    }
  }
  return root;
}

void CausalJoin::put(IndexKey&& index_key, const Key& group, std::uint64_t now_ns) {
  *index_.try_emplace(index_key).first = group;
  order_.emplace_back(now_ns, 'i', index_key);
}

void CausalJoin::unite(const Key& from, const Key& into, std::uint64_t now_ns) {
  if (same_trace_id(from, into)) return;
  // into's group may already lie under from: a header trace id, forgotten (fixed_'s entry
  // aged out) and joined into a group downstream of it, that comes back with a span whose
  // callers are that group. Joining from under into then would make a cycle, and find()
  // would never end: from stays where it is.
  for (const Key* up = &into; up; up = parent_.find(*up))
    if (same_trace_id(*up, from)) return;
  *parent_.try_emplace(from).first = into;
  order_.emplace_back(now_ns, 'p', from);
}

void CausalJoin::forget_old(std::uint64_t now_ns) {
  while (!order_.empty() &&
         (order_.front().at_ns + max_age_ns_ < now_ns || order_.size() > max_entries_)) {
    const Entry& e = order_.front();
    if (e.what == 'i') index_.erase(e.index);
    else if (e.what == 'w') waiting_.erase(e.index);
    else if (e.what == 'f') fixed_.erase(e.id);
    else parent_.erase(e.id);
    order_.pop_front();
  }
}

CausalJoin::Result CausalJoin::join(const Span& s, const Key& own, std::uint64_t now_ns,
                                    bool own_fixed) {
  forget_old(now_ns);
  const bool server = s.kind == SpanKind::kServer;
  // A header span's caller and callee carry the header too (or their own): header-less
  // spans join it only as the CLIENT requests its SERVER exchange caused. Its other keys
  // would only cost (every span of a traced platform comes here).
  if (own_fixed && !server) return {own, {}};
  std::vector<Key> upstream, downstream;
  auto look = [&](const IndexKey& k, std::vector<Key>& into) {
    if (const Key* group = index_.find(k)) into.push_back(find(*group));
  };
  const bool has_wire = s.req_seq && !own_fixed;
  const bool has_exch = server || s.cause == DT_CAUSE_FOUND;
  const std::uint32_t seq = s.req_seq.value_or(0);
  IndexKey exch = server ? exchange_key(s.conn_id, s.exch_seq)
                  : has_exch ? exchange_key(s.cause_conn_id, s.cause_exch)
                             : IndexKey{};
  if (server) {
    if (has_wire) look(wire_key('c', s.client(), seq), upstream);
    if (s.exch_seq) {
      if (const std::vector<Key>* callers = waiting_.find(exch))
        for (const Key& k : *callers) downstream.push_back(find(k));
    }
  } else {
    if (has_exch) look(exch, upstream);
    if (has_wire) look(wire_key('s', s.client(), seq), downstream);
  }
  Result r;
  r.key = upstream.empty() || own_fixed ? own : upstream.front();
  if (own_fixed && fixed_.try_emplace(own).second) order_.emplace_back(now_ns, 'f', own);
  for (const Key& d : downstream)
    if (!same_trace_id(d, r.key) && !fixed_.contains(d) &&
        std::none_of(r.merged.begin(), r.merged.end(),
                     [&](const Key& m) { return same_trace_id(m, d); })) {
      unite(d, r.key, now_ns);
      r.merged.push_back(d);
    }
  if (server) {
    if (has_wire) put(wire_key('s', s.client(), seq), r.key, now_ns);
    if (s.exch_seq) put(std::move(exch), r.key, now_ns);
  } else {
    if (has_wire) put(wire_key('c', s.client(), seq), r.key, now_ns);
    if (has_exch) {
      std::vector<Key>& w = *waiting_.try_emplace(exch).first;
      if (w.empty()) order_.emplace_back(now_ns, 'w', exch);
      w.push_back(r.key);
    }
  }
  return r;
}

}  // namespace difftrace::assembler
