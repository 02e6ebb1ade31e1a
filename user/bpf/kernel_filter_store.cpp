#include "bpf/kernel_filter_store.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "error.h"
#include "filter/kept_span.h"

namespace difftrace::bpf {
namespace {

int must_fd(const bpf_object* obj, const char* name) {
  const bpf_map* m = bpf_object__find_map_by_name(obj, name);
  int fd = m ? bpf_map__fd(m) : -1;
  if (fd < 0)
    throw FatalError(ExitCode::kEnvironment, std::string("the BPF object has no map ") + name);
  return fd;
}

}  // namespace

std::optional<Error> KernelFilterStore::update(int fd, const void* key, const void* value,
                                               const char* what, const char* map) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) == 0) return std::nullopt;
  const int err = errno;
  Error e{std::string("could not write ") + what + " into the kernel's", map, err, ""};
  update_failed(e);
  return e;
}

KernelFilterStore::KernelFilterStore(CaptureProgram& program)
    : KernelFilterStore(
          program.object(), [&program] { return program.hist_epoch(); },
          [&program](std::uint8_t e) { program.set_hist_epoch(e); }, program.keep_spans()) {}

KernelFilterStore::KernelFilterStore(const bpf_object* obj, GetEpoch get_epoch,
                                     SetEpoch set_epoch, std::uint8_t keep_spans)
    : get_epoch_(std::move(get_epoch)),
      set_epoch_(std::move(set_epoch)),
      keep_spans_(keep_spans),
      service_pids_(must_fd(obj, "service_pids")),
      service_comms_(must_fd(obj, "service_comms")),
      thresholds_(must_fd(obj, "thresholds")),
      hists_(must_fd(obj, "hists")),
      keep_(must_fd(obj, "keep")),
      ncpu_(libbpf_num_possible_cpus()) {}

void KernelFilterStore::set_service_pid(std::uint32_t pid, const dt_service& service) {
  update(service_pids_, &pid, &service, "a service pid", "service_pids");
}

void KernelFilterStore::remove_service_pid(std::uint32_t pid) {
  if (bpf_map_delete_elem(service_pids_, &pid) == 0) return;
  const int err = errno;
  if (err == ENOENT) return;
  if (remove_failures_++ == 0)
    spdlog::warn(
        "could not delete service pid {} from the kernel's service_pids: {} (a later process "
        "with this pid may be given its service; further failures are counted, not logged)",
        pid, std::strerror(err));
}

void KernelFilterStore::set_service_comm(const std::string& comm, const dt_service& service) {
  char key[DT_COMM_LEN] = {};
  std::memcpy(key, comm.data(), std::min(comm.size(), sizeof key - 1));
  update(service_comms_, key, &service, "a service comm", "service_comms");
}

void KernelFilterStore::remove(int fd, const void* key, const char* what, const char* map) {
  if (bpf_map_delete_elem(fd, key) == 0) return;
  const int err = errno;
  if (err == ENOENT) return;
  if (remove_failures_++ == 0)
    spdlog::warn("{} (further failures are counted, not logged)",
                 Error{std::string("could not delete ") + what + " from the kernel's", map, err, ""}
                     .message());
}

void KernelFilterStore::remove_service_comm(const std::string& comm) {
  char key[DT_COMM_LEN] = {};
  std::memcpy(key, comm.data(), std::min(comm.size(), sizeof key - 1));
  remove(service_comms_, key, "a service comm", "service_comms");
}

void KernelFilterStore::remove_threshold(const dt_endpoint_key& key) {
  remove(thresholds_, &key, "a threshold", "thresholds");
}

std::vector<dt_endpoint_key> KernelFilterStore::keys_of(int fd, std::uint16_t service) const {
  std::vector<dt_endpoint_key> keys;
  dt_endpoint_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (next.service == service) keys.push_back(next);
    key = next;
    prev = &key;
  }
  return keys;
}

void KernelFilterStore::remove_service(std::uint16_t id) {
  for (const auto& k : keys_of(thresholds_, id))
    remove(thresholds_, &k, "a threshold", "thresholds");
  // Deleted, which take_histograms never does, but zeroed on every CPU first: the element's
  // per-CPU memory may be recycled for the next element the kernel makes, which a kernel that
  // does not zero-fill re-used per-CPU elements leaves holding the other CPUs' old values
  // (take_histograms says more). The service's pids and comms are gone already, so only a span
  // filtered between the two calls can still count into it.
  const std::vector<dt_hist> zeros(static_cast<std::size_t>(std::max(ncpu_, 1)));
  for (const auto& k : keys_of(hists_, id)) {
    bpf_map_update_elem(hists_, &k, zeros.data(), BPF_EXIST);
    remove(hists_, &k, "a histogram", "hists");
  }
}

void KernelFilterStore::set_threshold(const dt_endpoint_key& key, const dt_threshold& threshold) {
  update(thresholds_, &key, &threshold, "a threshold", "thresholds");
}

std::vector<filter::EndpointHistogram> KernelFilterStore::take_histograms() {
  const std::uint8_t old = get_epoch_() & 1;
  set_epoch_(old ^ 1);
  // A program that read the old epoch before the flip may still be adding to
  // it (a filter step takes microseconds, but a preempted or descheduled CPU
  // can hold one for longer). Each program reads the epoch and counts within
  // one run, under RCU: once every program running at the flip has returned,
  // nothing writes the old epoch until the next flip, and reading then
  // zeroing it loses no count.
  quiescence_.wait();

  std::vector<dt_endpoint_key> keys;
  dt_endpoint_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(hists_, prev, &next) == 0) {
    if (next.epoch == old) keys.push_back(next);
    key = next;
    prev = &key;
  }
  std::vector<filter::EndpointHistogram> out;
  const auto ncpu = static_cast<std::size_t>(std::max(ncpu_, 1));
  std::vector<dt_hist> per_cpu(ncpu);
  const std::vector<dt_hist> zeros(ncpu);
  for (auto& k : keys) {
    if (bpf_map_lookup_elem(hists_, &k, per_cpu.data())) continue;
    // Zeroed on every CPU, never deleted: an element the kernel makes gets
    // only its own CPU's value, and the other CPUs' come from recycled
    // memory when elements were freed before (not zeroed with
    // BPF_F_NO_PREALLOC). Entries stay bounded by the map's size.
    bpf_map_update_elem(hists_, &k, zeros.data(), BPF_EXIST);
    filter::EndpointHistogram h;
    h.key = k;
    h.key.epoch = 0;
    for (const auto& v : per_cpu) filter::merge_into(h, v);
    if (h.count) out.push_back(std::move(h));
  }
  return out;
}

std::vector<dt_kept_span> KernelFilterStore::take_kept(const dt_trace_key& key) {
  dt_kept_trace t;
  if (bpf_map_lookup_and_delete_elem(keep_, &key, &t)) return {};
  return filter::written_spans(t, keep_spans_);
}

}  // namespace difftrace::bpf
