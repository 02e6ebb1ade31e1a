// The filter's maps in the loaded capture program (bpf/lib/filter_maps.bpf.h),
// through their fds: services and thresholds written, histograms and kept
// spans taken out.
#pragma once

#include <functional>
#include <optional>

#include "bpf/capture_program.h"
#include "bpf/program_quiescence.h"
#include "filter/filter_store.h"

struct bpf_object;

namespace difftrace::bpf {

class KernelFilterStore : public filter::FilterStore {
 public:
  // The histogram epoch the kernel writes to: read it, move it.
  using GetEpoch = std::function<std::uint8_t()>;
  using SetEpoch = std::function<void(std::uint8_t)>;

  explicit KernelFilterStore(CaptureProgram& program);
  // Any loaded object with the filter's maps (bpf/lib/filter_maps.bpf.h), run with
  // keep_spans: tests use the test entry's.
  KernelFilterStore(const bpf_object* obj, GetEpoch get_epoch, SetEpoch set_epoch,
                    std::uint8_t keep_spans = DT_KEEP_SPANS);

  void set_service_pid(std::uint32_t pid, const dt_service& service) override;
  void remove_service_pid(std::uint32_t pid) override;
  void set_service_comm(const std::string& comm, const dt_service& service) override;
  void set_threshold(const dt_endpoint_key& key, const dt_threshold& threshold) override;
  std::vector<filter::EndpointHistogram> take_histograms() override;
  std::vector<dt_kept_span> take_kept(const dt_trace_key& key) override;

  // Service pids the kernel did not delete (a pid it had no entry for aside):
  // the process they named may still be given its service.
  std::uint64_t remove_failures() const { return remove_failures_; }

 private:
  // Writes one entry; a refusal is counted (update_failures) and returned.
  std::optional<Error> update(int fd, const void* key, const void* value, const char* what,
                              const char* map);

  GetEpoch get_epoch_;
  SetEpoch set_epoch_;
  std::uint8_t keep_spans_;
  ProgramQuiescence quiescence_;
  int service_pids_, service_comms_, thresholds_, hists_, keep_;
  int ncpu_;
  std::uint64_t remove_failures_ = 0;
};

}  // namespace difftrace::bpf
