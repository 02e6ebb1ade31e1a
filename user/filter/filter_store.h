// The filter's maps as user space sees them (include/filter_maps.h): the
// kernel's (bpf/kernel_filter_store.h) or replay's in-memory ones
// (filter/host_filter_store.h). The profiler and the assembler work on this
// interface, so live tracing and replay share them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "error.h"
#include "filter_maps.h"
#include "profiler/latency_histogram.h"

namespace difftrace::filter {

// Fixed for a run: full tracing or not, the role of processes no service
// matches, and the keep-buffer's size.
struct FilterSettings {
  bool no_filter = false;
  std::uint8_t default_role = DT_ROLE_FUNCTION;
  std::uint8_t keep_spans = DT_KEEP_SPANS;
  std::uint32_t keep_traces = DT_KEEP_TRACES;
};

// The keep-buffer's slots for keep_traces: the largest power of two not above it (at least
// one), so that a trace's slot is bits of its hash (dt_keep_slot_of).
std::uint32_t keep_slots(std::uint32_t keep_traces);

// An endpoint's histogram since the last take, merged over CPUs.
struct EndpointHistogram {
  dt_endpoint_key key{};  // epoch zeroed
  std::uint64_t count = 0;
  std::uint64_t sum_ns = 0;
  profiler::LatencyHistogram hist;
};

class FilterStore {
 public:
  virtual ~FilterStore() = default;
  virtual void set_service_pid(std::uint32_t pid, const dt_service& service) = 0;
  // Forgets pid's service, when its process is gone or the pid is another
  // process's now. A pid with no entry is no error.
  virtual void remove_service_pid(std::uint32_t pid) = 0;
  virtual void set_service_comm(const std::string& comm, const dt_service& service) = 0;
  // Forgets comm's service, when no service matches that comm any more.
  virtual void remove_service_comm(const std::string& comm) = 0;
  virtual void set_threshold(const dt_endpoint_key& key, const dt_threshold& threshold) = 0;
  // Forgets key's threshold: a static one no longer configured, say. No entry is no error.
  virtual void remove_threshold(const dt_endpoint_key& key) = 0;
  // Drops every threshold and histogram of a service no longer configured, so the maps do not
  // fill with a reloaded config's leftovers (its id is not given to another service).
  virtual void remove_service(std::uint16_t id) = 0;
  // What the filter counted since the last call, taken out of the maps: the
  // writer moves to the other epoch first, so no count is read twice.
  virtual std::vector<EndpointHistogram> take_histograms() = 0;
  // The kept spans of a trace, taken out of the keep-buffer (each is pulled
  // once): only the slots the filter wrote (at most the run's keep_spans, the
  // last ones of the trace); empty when the trace kept nothing or was evicted.
  virtual std::vector<dt_kept_span> take_kept(const dt_trace_key& key) = 0;

  // Writes the maps refused (a full map, say): the first is logged, all are counted
  // (filter_store_update_failed in the stats), and the run goes on without the entry.
  std::uint64_t update_failures() const { return update_failures_; }

 protected:
  void update_failed(const Error& error);

 private:
  std::uint64_t update_failures_ = 0;
};

dt_endpoint_key endpoint_key(std::uint16_t service, int kind, int method,
                             std::string_view path_template);
// A service's default threshold key: kind, method and template all zero.
dt_endpoint_key service_key(std::uint16_t service);
std::string template_of(const dt_endpoint_key& key);
dt_trace_key trace_key(std::string_view hex_trace_id);

// Adds one CPU's (or the host's) histogram value to a merged one.
void merge_into(EndpointHistogram& into, const dt_hist& h);

}  // namespace difftrace::filter
