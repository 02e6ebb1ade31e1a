#include "assembler/causal_join.h"

#include <algorithm>

#include "capture.h"

namespace difftrace::assembler {

using capture::Span;
using capture::SpanKind;

bool CausalJoin::joinable(const Span& s) {
  return !s.is_estimated() && (s.req_seq || (s.kind == SpanKind::kServer && s.exch_seq) ||
                               s.cause == DT_CAUSE_FOUND);
}

std::string CausalJoin::wire_key(const capture::Endpoint& client_end, std::uint32_t seq) {
  return client_end.address + '|' + std::to_string(client_end.port) + '|' + std::to_string(seq);
}

std::string CausalJoin::exchange_key(std::uint64_t conn_id, std::uint32_t exch) {
  return std::to_string(conn_id) + '.' + std::to_string(exch);
}

CausalJoin::Key CausalJoin::find(const Key& k) {
  Key root = k;
  for (auto it = parent_.find(root); it != parent_.end(); it = parent_.find(root))
    root = it->second;
  // Path compression: the next find of k is one step.
  if (root != k) {
    Key cur = k;
    for (auto it = parent_.find(cur); it != parent_.end() && it->second != root;
         it = parent_.find(cur)) {
      Key next = it->second;
      it->second = root;
      cur = std::move(next);
    }
  }
  return root;
}

void CausalJoin::put(const std::string& index_key, const Key& group, std::uint64_t now_ns) {
  index_[index_key] = group;
  order_.emplace_back(now_ns, 'i' + index_key);
}

void CausalJoin::unite(const Key& from, const Key& into, std::uint64_t now_ns) {
  if (from == into) return;
  parent_[from] = into;
  order_.emplace_back(now_ns, 'p' + from);
}

void CausalJoin::forget_old(std::uint64_t now_ns) {
  while (!order_.empty() &&
         (order_.front().first + max_age_ns_ < now_ns || order_.size() > max_entries_)) {
    const std::string& e = order_.front().second;
    const std::string k = e.substr(1);
    if (e[0] == 'i') index_.erase(k);
    else if (e[0] == 'w') waiting_.erase(k);
    else if (e[0] == 'f') fixed_.erase(k);
    else parent_.erase(k);
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
  auto look = [&](const std::string& k, std::vector<Key>& into) {
    auto it = index_.find(k);
    if (it != index_.end()) into.push_back(find(it->second));
  };
  const std::string wire =
      s.req_seq && !own_fixed ? wire_key(s.client(), *s.req_seq) : std::string();
  const std::string exch = server ? exchange_key(s.conn_id, s.exch_seq)
                           : s.cause == DT_CAUSE_FOUND
                               ? exchange_key(s.cause_conn_id, s.cause_exch)
                               : std::string();
  if (server) {
    if (!wire.empty()) look("c" + wire, upstream);
    if (s.exch_seq) {
      auto it = waiting_.find(exch);
      if (it != waiting_.end())
        for (const Key& k : it->second) downstream.push_back(find(k));
    }
  } else {
    if (!exch.empty()) look("x" + exch, upstream);
    if (!wire.empty()) look("s" + wire, downstream);
  }
  Result r;
  r.key = upstream.empty() || own_fixed ? own : upstream.front();
  if (own_fixed && fixed_.insert(own).second) order_.emplace_back(now_ns, 'f' + own);
  for (const Key& d : downstream)
    if (d != r.key && !fixed_.count(d) &&
        std::find(r.merged.begin(), r.merged.end(), d) == r.merged.end()) {
      unite(d, r.key, now_ns);
      r.merged.push_back(d);
    }
  if (server) {
    if (!wire.empty()) put("s" + wire, r.key, now_ns);
    if (s.exch_seq) put("x" + exch, r.key, now_ns);
  } else {
    if (!wire.empty()) put("c" + wire, r.key, now_ns);
    if (!exch.empty()) {
      auto& w = waiting_[exch];
      if (w.empty()) order_.emplace_back(now_ns, 'w' + exch);
      w.push_back(r.key);
    }
  }
  return r;
}

}  // namespace difftrace::assembler
