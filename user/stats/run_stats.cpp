#include "stats/run_stats.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <tuple>

#include "capture/endpoint_template.h"
#include "capture/span_decoder.h"
#include "error.h"

namespace difftrace::stats {
namespace {

const char* counter_name(int c) {
  switch (c) {
    case DT_C_IO_CALLS: return "io_calls";
    case DT_C_CONNS_TRACKED: return "connections_tracked";
    case DT_C_SPANS_SEEN: return "spans_seen";
    case DT_C_SPANS_REPORTED: return "spans_reported";
    case DT_C_RINGBUF_LOST: return "ringbuf_lost";
    case DT_C_NON_HTTP: return "non_http_data";
    case DT_C_HDR_LOST: return "headers_past_window";
    case DT_C_UNANSWERED: return "requests_unanswered";
    case DT_C_IO_MAP_FULL: return "io_map_full";
    case DT_C_CONN_MAP_FULL: return "conn_map_full";
    case DT_C_SPANS_KEPT: return "spans_kept";
    case DT_C_SPANS_DROPPED: return "spans_dropped_no_trace_id";
    case DT_C_KEEP_OVERWRITTEN: return "kept_spans_overwritten";
    case DT_C_HIST_MAP_FULL: return "histogram_map_full";
    case DT_C_ANOMALIES_LOST: return "anomalies_lost";
    case DT_C_CAUSE_FOUND: return "client_cause_found";
    case DT_C_CAUSE_AMBIGUOUS: return "client_cause_ambiguous";
    case DT_C_CAUSE_UNKNOWN: return "client_cause_unknown";
    case DT_C_THREAD_MAP_FULL: return "thread_map_full";
    case DT_C_H2_LOST: return "http2_io_not_followed";
    case DT_C_H2_UNTRACKED: return "http2_streams_untracked";
    case DT_C_H2_TAIL_CALL: return "http2_tail_call_failed";
    case DT_C_H2_OUT_OF_ORDER: return "http2_io_out_of_order";
    case DT_C_H2_BUSY: return "http2_io_busy";
    case DT_C_H2_TRACE_UNREAD: return "http2_traceparent_unread";
    case DT_C_H2_PATH_UNRESOLVED: return "http2_path_unresolved";
    case DT_C_TRACE_MINTED: return "trace_ids_minted";
    case DT_C_TRACE_BY_CAUSE: return "trace_ids_by_cause";
    case DT_C_TRACE_BY_WIRE: return "trace_ids_by_wire";
    case DT_C_TRACE_WIRE_MISSED: return "trace_ids_wire_missed";
    case DT_C_GO_PROBE_HITS: return "go_uprobe_hits";
    case DT_C_GO_G_MISMATCH: return "go_g_mismatch";
    case DT_C_KEEP_EVICTED: return "kept_traces_evicted";
    default: break;
  }
  if (c >= DT_C_REASON_FIRST && c < DT_C_MAX) {
    static std::string names[DT_REASON_MAX];
    const int r = c - DT_C_REASON_FIRST;
    if (names[r].empty())
      names[r] = std::string("reported_") + (r == 0 ? "unjudged" : capture::reason_name(r));
    return names[r].c_str();
  }
  return "unknown";
}

std::uint64_t quantile(std::vector<std::uint64_t> v, double q) {
  if (v.empty()) return 0;
  std::size_t i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

using Views = std::tuple<std::string_view, std::string_view, std::string_view, std::string_view>;

// A span's endpoint texts, hashed by their lengths and first and last 8 bytes: only to pick
// a slot of found_ (a hit compares the texts whole).
std::uint64_t hash_view(std::uint64_t h, std::string_view v) {
  // Loads of fixed sizes that cover the text, overlapping where they must: a copy of
  // min(size, 8) bytes was a call to memcpy per text, four a span.
  std::uint64_t head = 0, tail = 0;
  const char* d = v.data();
  const std::size_t n = v.size();
  if (n >= 8) {
    std::memcpy(&head, d, 8);
    std::memcpy(&tail, d + n - 8, 8);
  } else if (n >= 4) {
    std::uint32_t lo, hi;
    std::memcpy(&lo, d, 4);
    std::memcpy(&hi, d + n - 4, 4);
    head = lo | std::uint64_t{hi} << 32;
  } else if (n > 0) {
    const auto byte = [](char c) { return std::uint64_t{static_cast<unsigned char>(c)}; };
    head = byte(d[0]) | byte(d[n / 2]) << 8 | byte(d[n - 1]) << 16;
  }
  h ^= head + v.size();
  h *= 0x9e3779b97f4a7c15ull;
  h ^= tail;
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 29);
}

std::uint64_t hash_views(const Views& v) {
  std::uint64_t h = hash_view(0, std::get<0>(v));
  h = hash_view(h, std::get<1>(v));
  h = hash_view(h, std::get<2>(v));
  return hash_view(h, std::get<3>(v));
}

template <typename K>
bool same_key(const K& key, const Views& v) {
  return std::get<3>(key) == std::get<3>(v) && std::get<0>(key) == std::get<0>(v) &&
         std::get<2>(key) == std::get<2>(v) && std::get<1>(key) == std::get<1>(v);
}

}  // namespace

void RunStats::add(const capture::Span& s) {
  received_++;
  // Keyed by template, so that ids in paths do not make endpoints unbounded. A span split
  // for export (capture::split_target) carries the template of its path already.
  std::string made;
  if (s.path_template.empty()) made = capture::path_template(s.path);
  const std::tuple<std::string_view, std::string_view, std::string_view, std::string_view> at{
      s.service_name, s.kind == capture::SpanKind::kServer ? "server" : "client", s.method,
      s.path_template.empty() ? made : s.path_template};
  const std::uint64_t hash = hash_views(at);
  auto& slot = found_.slots[hash % FoundEndpoints::kSlots];
  if (!slot.entry || slot.hash != hash || !same_key(slot.entry->first, at)) {
    auto it = endpoints_.find(at);
    if (it == endpoints_.end())
      it = endpoints_.emplace(Key{std::get<0>(at), std::get<1>(at), std::get<2>(at), std::get<3>(at)},
                              Endpoint{}).first;
    slot = {hash, &*it};
  }
  auto& e = slot.entry->second;
  e.count++;
  if (s.is_error()) e.errors++;
  if (e.samples_ns.size() < kMaxSamples) {
    e.samples_ns.push_back(s.duration_ns());
  } else {
    rng_state_ = rng_state_ * 6364136223846793005ull + 1442695040888963407ull;
    std::uint64_t j = (rng_state_ >> 17) % e.count;
    if (j < kMaxSamples) e.samples_ns[j] = s.duration_ns();
  }
}

std::uint64_t RunStats::user_counter(const std::string& name) const {
  auto it = user_.find(name);
  return it == user_.end() ? 0 : it->second;
}

nlohmann::json RunStats::to_json() const {
  nlohmann::json j;
  for (int c = 0; c < DT_C_MAX; c++) j[counter_name(c)] = kernel_[c];
  // Spans the kernel closed and did not send: kept, or counted and dropped.
  std::uint64_t seen = kernel_[DT_C_SPANS_SEEN];
  std::uint64_t reported = kernel_[DT_C_SPANS_REPORTED];
  j["spans_dropped"] = seen - std::min(seen, reported + kernel_[DT_C_RINGBUF_LOST]);
  j["spans_recovered_exact"] = 0;
  j["spans_estimated"] = 0;
  j["spans_received"] = received_;
  for (const auto& [name, v] : user_) j[name] = v;
  nlohmann::json eps = nlohmann::json::array();
  for (const auto& [key, e] : endpoints_) {
    const auto& [service, kind, method, path_template] = key;
    eps.push_back({{"service", service},
                   {"kind", kind},
                   {"method", method},
                   {"template", path_template},
                   {"count", e.count},
                   {"errors", e.errors},
                   {"p50_ns", quantile(e.samples_ns, 0.50)},
                   {"p90_ns", quantile(e.samples_ns, 0.90)},
                   {"p99_ns", quantile(e.samples_ns, 0.99)}});
  }
  j["endpoints"] = eps;  // of the spans received
  j["profile"] = profile_;
  return j;
}

void check_writable(const std::string& path, const std::string& flag) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) throw FatalError(ExitCode::kUsage, errno_message(flag + " " + path, errno));
  std::fclose(f);
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw FatalError(ExitCode::kUsage, errno_message("writing " + path, errno));
  std::string text = j.dump(2);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

}  // namespace difftrace::stats
