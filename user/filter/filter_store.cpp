#include "filter/filter_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace difftrace::filter {

void FilterStore::update_failed(const Error& error) {
  // A full map refuses every write after the first (the profiler retries each interval): one
  // line says so, the count says how often.
  if (update_failures_++ == 0)
    spdlog::warn("{} (further failures are counted as filter_store_update_failed, not logged)",
                 error.message());
}

dt_endpoint_key endpoint_key(std::uint16_t service, int kind, int method,
                             std::string_view path_template) {
  dt_endpoint_key k{};
  k.service = service;
  k.kind = static_cast<__u8>(kind);
  k.method = static_cast<__u8>(method);
  std::memcpy(k.tmpl, path_template.data(), std::min(path_template.size(), sizeof k.tmpl - 1));
  return k;
}

std::uint32_t keep_slots(std::uint32_t keep_traces) {
  return keep_traces ? std::bit_floor(keep_traces) : 1;
}

dt_endpoint_key service_key(std::uint16_t service) { return endpoint_key(service, 0, 0, ""); }

std::string template_of(const dt_endpoint_key& key) {
  return std::string(key.tmpl, strnlen(key.tmpl, sizeof key.tmpl));
}

dt_trace_key trace_key(std::string_view hex_trace_id) {
  dt_trace_key k{};
  std::memcpy(k.id, hex_trace_id.data(), std::min(hex_trace_id.size(), sizeof k.id));
  return k;
}

void merge_into(EndpointHistogram& into, const dt_hist& h) {
  into.count += h.count;
  into.sum_ns += h.sum_ns;
  for (std::uint32_t b = 0; b < DT_HIST_BUCKETS; b++)
    if (h.buckets[b]) into.hist.add(dt_hist_bucket_low(b), h.buckets[b]);
}

}  // namespace difftrace::filter
