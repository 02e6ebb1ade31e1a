// The filter's maps in memory, for `difftrace replay` and tests: the same
// keys, values and limits as the kernel's, one "CPU", and the same filter
// step (include/span_filter.h) run over them.
#pragma once

#include <array>
#include <memory>

#include "filter/filter_store.h"
#include "span_filter.h"

namespace difftrace::filter {

// Outcome counts of the host filter, indexed like the kernel's counters.
using HostCounters = std::array<std::uint64_t, DT_C_MAX>;

class HostFilterStore : public FilterStore {
 public:
  explicit HostFilterStore(const FilterSettings& settings);
  ~HostFilterStore() override;
  HostFilterStore(const HostFilterStore&) = delete;
  HostFilterStore& operator=(const HostFilterStore&) = delete;

  // Runs the filter on a filled event, as the kernel's emit does.
  dt_filter_outcome filter(dt_span_event& event);
  const HostCounters& counters() const { return counters_; }

  void set_service_pid(std::uint32_t pid, const dt_service& service) override;
  void remove_service_pid(std::uint32_t pid) override;
  void set_service_comm(const std::string& comm, const dt_service& service) override;
  void remove_service_comm(const std::string& comm) override;
  void set_threshold(const dt_endpoint_key& key, const dt_threshold& threshold) override;
  void remove_threshold(const dt_endpoint_key& key) override;
  void remove_service(std::uint16_t id) override;
  std::vector<EndpointHistogram> take_histograms() override;
  std::vector<dt_kept_span> take_kept(const dt_trace_key& key) override;

 private:
  // Writes one entry as BPF_ANY; a full map's refusal is counted (update_failures).
  void update(dt_host_map* map, const void* key, const void* value, const char* what,
              const char* map_name);

  dt_filter_settings settings_{};
  std::unique_ptr<dt_host_map> service_pids_, service_comms_, thresholds_, hists_, flagged_, keep_,
      keep_locks_;
  dt_filter_env env_{};
  std::unique_ptr<dt_filter_scratch> scratch_;
  std::uint8_t epoch_ = 0;
  HostCounters counters_{};
};

}  // namespace difftrace::filter
