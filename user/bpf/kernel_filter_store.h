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
  // Called after service_pids or service_comms changed: the capture program's connections
  // keep the service their spans were matched to until told (bpf/lib/emit.bpf.h).
  using ServicesChanged = std::function<void()>;

  explicit KernelFilterStore(CaptureProgram& program);
  // Any loaded object with the filter's maps (bpf/lib/filter_maps.bpf.h), run with
  // keep_spans and keep_mask: tests use the test entry's.
  KernelFilterStore(const bpf_object* obj, GetEpoch get_epoch, SetEpoch set_epoch,
                    std::uint8_t keep_spans = DT_KEEP_SPANS,
                    std::uint32_t keep_mask = DT_KEEP_TRACES - 1,
                    ServicesChanged services_changed = {});
  ~KernelFilterStore() override;
  KernelFilterStore(const KernelFilterStore&) = delete;
  KernelFilterStore& operator=(const KernelFilterStore&) = delete;

  void set_service_pid(std::uint32_t pid, const dt_service& service) override;
  void remove_service_pid(std::uint32_t pid) override;
  void set_service_comm(const std::string& comm, const dt_service& service) override;
  void remove_service_comm(const std::string& comm) override;
  void set_threshold(const dt_endpoint_key& key, const dt_threshold& threshold) override;
  void remove_threshold(const dt_endpoint_key& key) override;
  void remove_service(std::uint16_t id) override;
  std::vector<filter::EndpointHistogram> take_histograms() override;
  std::vector<dt_kept_span> take_kept(const dt_trace_key& key) override;

  // Entries the kernel did not delete (one it had no entry for aside): a service pid's
  // process may still be given its service, a threshold still applied.
  std::uint64_t remove_failures() const { return remove_failures_; }
  // Pulls that found their keep slot's lock held for too long, and gave up on its spans.
  std::uint64_t take_busy() const { return take_busy_; }

 private:
  // Writes one entry; a refusal is counted (update_failures) and returned.
  std::optional<Error> update(int fd, const void* key, const void* value, const char* what,
                              const char* map);
  // Deletes one entry; a refusal (ENOENT aside) is counted in remove_failures, the first logged.
  void remove(int fd, const void* key, const char* what, const char* map);
  // The keys of an endpoint-keyed map (thresholds, hists) that belong to service.
  std::vector<dt_endpoint_key> keys_of(int fd, std::uint16_t service) const;

  // After a change of the service maps (services_changed_, when given).
  void services_moved() const;

  GetEpoch get_epoch_;
  SetEpoch set_epoch_;
  ServicesChanged services_changed_;
  std::uint8_t keep_spans_;
  std::uint32_t keep_mask_;
  ProgramQuiescence quiescence_;
  int service_pids_, service_comms_, thresholds_, hists_, keep_;
  int ncpu_;
  // keep_locks mapped into this process: a slot's lock is taken with the kernel's compare
  // and exchange (32 KiB for 8192 slots; the slots themselves are read through keep_).
  __u32* keep_locks_ = nullptr;
  std::size_t keep_locks_size_ = 0;
  std::uint64_t remove_failures_ = 0;
  std::uint64_t take_busy_ = 0;
};

}  // namespace difftrace::bpf
