#include "bpf/kernel_filter_store.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "error.h"
#include "filter/kept_span.h"
#include "span_filter.h"

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
          [&program](std::uint8_t e) { program.set_hist_epoch(e); }, program.keep_spans(),
          program.keep_mask(), [&program] { program.services_changed(); }) {}

KernelFilterStore::KernelFilterStore(const bpf_object* obj, GetEpoch get_epoch,
                                     SetEpoch set_epoch, std::uint8_t keep_spans,
                                     std::uint32_t keep_mask, ServicesChanged services_changed)
    : get_epoch_(std::move(get_epoch)),
      set_epoch_(std::move(set_epoch)),
      services_changed_(std::move(services_changed)),
      keep_spans_(keep_spans),
      keep_mask_(keep_mask),
      service_pids_(must_fd(obj, "service_pids")),
      service_comms_(must_fd(obj, "service_comms")),
      thresholds_(must_fd(obj, "thresholds")),
      hists_(must_fd(obj, "hists")),
      keep_(must_fd(obj, "keep")),
      ncpu_(libbpf_num_possible_cpus()) {
  const bpf_map* locks = bpf_object__find_map_by_name(obj, "keep_locks");
  const int fd = locks ? bpf_map__fd(locks) : -1;
  if (fd < 0)
    throw FatalError(ExitCode::kEnvironment, "the BPF object has no map keep_locks");
  const std::uint32_t slots = bpf_map__max_entries(locks);
  if (slots < std::uint64_t{keep_mask_} + 1)
    throw FatalError(ExitCode::kEnvironment,
                     "the BPF object's keep_locks has " + std::to_string(slots) +
                         " slots, fewer than its keep_mask says");
  const long page = sysconf(_SC_PAGESIZE);
  keep_locks_size_ = (std::size_t{slots} * sizeof(__u32) + page - 1) / page * page;
  void* m = mmap(nullptr, keep_locks_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED)
    throw FatalError(ExitCode::kEnvironment, Error{"could not map the kernel's", "keep_locks",
                                                   errno, ""}.message());
  keep_locks_ = static_cast<__u32*>(m);
}

KernelFilterStore::~KernelFilterStore() {
  if (keep_locks_) munmap(keep_locks_, keep_locks_size_);
}

void KernelFilterStore::services_moved() const {
  if (services_changed_) services_changed_();
}

void KernelFilterStore::set_service_pid(std::uint32_t pid, const dt_service& service) {
  update(service_pids_, &pid, &service, "a service pid", "service_pids");
  services_moved();
}

void KernelFilterStore::remove_service_pid(std::uint32_t pid) {
  const int rc = bpf_map_delete_elem(service_pids_, &pid);
  const int err = errno;
  services_moved();
  if (rc == 0 || err == ENOENT) return;
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
  services_moved();
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
  services_moved();
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
  const std::uint32_t i = dt_keep_slot_of(&key, keep_mask_);
  __u32* lock = keep_locks_ + i;
  // The kernel holds a slot for the copy of one span and never waits for it: waiting a
  // little here is enough, unless its program was preempted, when the pull gives up.
  int tries = 0;
  while (!DT_TRY_LOCK(lock)) {
    if (++tries == 10000) {
      if (take_busy_++ == 0)
        spdlog::warn("keep slot {} stayed locked: the kept spans of trace {:.32} not pulled "
                     "(further cases are counted, not logged)",
                     i, key.id);
      return {};
    }
    std::this_thread::yield();
  }
  std::vector<dt_kept_span> out;
  dt_kept_trace t;
  // Another trace may have taken the slot over: the key read under the lock says whose
  // spans these are. Taken out by giving the slot back empty.
  if (bpf_map_lookup_elem(keep_, &i, &t) == 0 && dt_same_trace_id(t.key.id, key.id) && t.count) {
    out = filter::written_spans(t, keep_spans_);
    t.key = dt_trace_key{};
    t.count = 0;
    if (bpf_map_update_elem(keep_, &i, &t, BPF_ANY))
      spdlog::warn("{}", Error{"could not empty a slot of the kernel's", "keep", errno, ""}
                             .message());
  }
  DT_UNLOCK(lock);
  return out;
}

}  // namespace difftrace::bpf
