#include "filter/host_filter_store.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <list>
#include <string>
#include <unordered_map>

#include "filter/kept_span.h"

// A BPF hash map in memory: fixed key and value sizes, a capacity, and for
// LRU maps eviction of the least recently used entry instead of refusal. Or
// an array map (kind kArray): capacity zeroed values at indexes below it,
// allocated zero and so only taking memory where written, as the kernel's
// keep slots take none in a process.
struct dt_host_map {
  enum Kind { kHash, kLru, kArray };
  struct Entry {
    std::unique_ptr<std::uint8_t[]> value;  // stable address, as a map value's
    std::list<std::string>::iterator order;
  };
  std::size_t key_size, value_size, capacity;
  bool lru;
  std::unordered_map<std::string, Entry> entries;
  std::list<std::string> order;  // most recently used first
  std::unique_ptr<std::uint8_t, decltype(&std::free)> array{nullptr, &std::free};

  dt_host_map(std::size_t k, std::size_t v, std::size_t cap, Kind kind)
      : key_size(k), value_size(v), capacity(cap), lru(kind == kLru) {
    if (kind != kArray) return;
    array.reset(static_cast<std::uint8_t*>(std::calloc(cap, v)));
    if (!array) throw std::bad_alloc();
  }
  std::uint8_t* element(std::uint32_t i) const {
    return i < capacity ? array.get() + std::size_t{i} * value_size : nullptr;
  }

  std::string key_of(const void* key) const {
    return std::string(static_cast<const char*>(key), key_size);
  }
  void erase(const std::string& key) {
    auto it = entries.find(key);
    if (it == entries.end()) return;
    order.erase(it->second.order);
    entries.erase(it);
  }
};

extern "C" void* dt_host_map_lookup(dt_host_map* m, const void* key) {
  if (m->array) {
    std::uint32_t i;
    std::memcpy(&i, key, sizeof i);
    return m->element(i);
  }
  auto it = m->entries.find(m->key_of(key));
  if (it == m->entries.end()) return nullptr;
  if (m->lru) m->order.splice(m->order.begin(), m->order, it->second.order);
  return it->second.value.get();
}

extern "C" long dt_host_map_update(dt_host_map* m, const void* key, const void* value,
                                   __u64 flags) {
  if (m->array) {
    std::uint32_t i;
    std::memcpy(&i, key, sizeof i);
    if (!m->element(i)) return -E2BIG;
    if (flags == BPF_NOEXIST) return -EEXIST;
    std::memcpy(m->element(i), value, m->value_size);
    return 0;
  }
  std::string k = m->key_of(key);
  auto it = m->entries.find(k);
  if (it != m->entries.end()) {
    if (flags == BPF_NOEXIST) return -EEXIST;
    std::memcpy(it->second.value.get(), value, m->value_size);
    if (m->lru) m->order.splice(m->order.begin(), m->order, it->second.order);
    return 0;
  }
  if (m->entries.size() >= m->capacity) {
    if (!m->lru || m->order.empty()) return -E2BIG;
    m->erase(m->order.back());
  }
  dt_host_map::Entry e;
  e.value = std::make_unique<std::uint8_t[]>(m->value_size);
  std::memcpy(e.value.get(), value, m->value_size);
  m->order.push_front(k);
  e.order = m->order.begin();
  m->entries.emplace(std::move(k), std::move(e));
  return 0;
}

namespace difftrace::filter {

HostFilterStore::HostFilterStore(const FilterSettings& s)
    : service_pids_(std::make_unique<dt_host_map>(sizeof(__u32), sizeof(dt_service),
                                                  DT_MAX_SERVICE_PIDS, dt_host_map::kHash)),
      service_comms_(std::make_unique<dt_host_map>(DT_COMM_LEN, sizeof(dt_service),
                                                   DT_MAX_SERVICE_COMMS, dt_host_map::kHash)),
      thresholds_(std::make_unique<dt_host_map>(sizeof(dt_endpoint_key), sizeof(dt_threshold),
                                                DT_MAX_ENDPOINTS, dt_host_map::kHash)),
      hists_(std::make_unique<dt_host_map>(sizeof(dt_endpoint_key), sizeof(dt_hist),
                                           2 * DT_MAX_ENDPOINTS, dt_host_map::kHash)),
      flagged_(std::make_unique<dt_host_map>(sizeof(dt_trace_key), sizeof(__u64), DT_MAX_FLAGGED,
                                             dt_host_map::kLru)),
      keep_(std::make_unique<dt_host_map>(sizeof(__u32), sizeof(dt_kept_trace),
                                          keep_slots(s.keep_traces), dt_host_map::kArray)),
      keep_locks_(std::make_unique<dt_host_map>(sizeof(__u32), sizeof(__u32),
                                                keep_slots(s.keep_traces), dt_host_map::kArray)),
      scratch_(std::make_unique<dt_filter_scratch>()) {
  settings_.no_filter = s.no_filter;
  settings_.default_role = s.default_role;
  settings_.keep_spans = s.keep_spans;
  settings_.keep_mask = keep_slots(s.keep_traces) - 1;
  env_ = {service_pids_.get(), service_comms_.get(), thresholds_.get(), hists_.get(),
          flagged_.get(),      keep_.get(),          keep_locks_.get()};
}

HostFilterStore::~HostFilterStore() = default;

dt_filter_outcome HostFilterStore::filter(dt_span_event& e) {
  // The counting mirrors the kernel's emit (bpf/capture.bpf.c).
  counters_[DT_C_SPANS_SEEN]++;
  auto out = static_cast<dt_filter_outcome>(
      dt_filter_span(&env_, &settings_, &e, epoch_, scratch_.get()));
  if (scratch_->overwritten) counters_[DT_C_KEEP_OVERWRITTEN]++;
  if (scratch_->hist_full) counters_[DT_C_HIST_MAP_FULL]++;
  if (scratch_->evicted) counters_[DT_C_KEEP_EVICTED]++;
  if (out == DT_OUT_KEPT) {
    counters_[DT_C_SPANS_KEPT]++;
  } else if (out == DT_OUT_DROPPED) {
    counters_[DT_C_SPANS_DROPPED]++;
  } else {
    counters_[DT_C_SPANS_REPORTED]++;
    if (e.reason < DT_REASON_MAX) counters_[DT_C_REASON_FIRST + e.reason]++;
  }
  return out;
}

void HostFilterStore::update(dt_host_map* map, const void* key, const void* value,
                             const char* what, const char* map_name) {
  if (long err = dt_host_map_update(map, key, value, BPF_ANY))
    update_failed({std::string("could not write ") + what + " into the in-memory", map_name,
                   static_cast<int>(err), ""});
}

void HostFilterStore::set_service_pid(std::uint32_t pid, const dt_service& service) {
  update(service_pids_.get(), &pid, &service, "a service pid", "service_pids");
}

void HostFilterStore::remove_service_pid(std::uint32_t pid) {
  service_pids_->erase(service_pids_->key_of(&pid));
}

void HostFilterStore::set_service_comm(const std::string& comm, const dt_service& service) {
  char key[DT_COMM_LEN] = {};
  std::memcpy(key, comm.data(), std::min(comm.size(), sizeof key - 1));
  update(service_comms_.get(), key, &service, "a service comm", "service_comms");
}

void HostFilterStore::remove_service_comm(const std::string& comm) {
  char key[DT_COMM_LEN] = {};
  std::memcpy(key, comm.data(), std::min(comm.size(), sizeof key - 1));
  service_comms_->erase(service_comms_->key_of(key));
}

void HostFilterStore::remove_threshold(const dt_endpoint_key& key) {
  thresholds_->erase(thresholds_->key_of(&key));
}

void HostFilterStore::remove_service(std::uint16_t id) {
  for (dt_host_map* map : {thresholds_.get(), hists_.get()}) {
    std::vector<std::string> gone;
    for (const auto& [k, entry] : map->entries) {
      dt_endpoint_key key;
      std::memcpy(&key, k.data(), sizeof key);
      if (key.service == id) gone.push_back(k);
    }
    for (const auto& k : gone) map->erase(k);
  }
}

void HostFilterStore::set_threshold(const dt_endpoint_key& key, const dt_threshold& threshold) {
  update(thresholds_.get(), &key, &threshold, "a threshold", "thresholds");
}

std::vector<EndpointHistogram> HostFilterStore::take_histograms() {
  const std::uint8_t old = epoch_;
  epoch_ ^= 1;
  std::vector<EndpointHistogram> out;
  std::vector<std::string> taken;
  for (const auto& [k, entry] : hists_->entries) {
    dt_endpoint_key key;
    std::memcpy(&key, k.data(), sizeof key);
    if (key.epoch != old) continue;
    EndpointHistogram h;
    key.epoch = 0;
    h.key = key;
    merge_into(h, *reinterpret_cast<const dt_hist*>(entry.value.get()));
    out.push_back(std::move(h));
    taken.push_back(k);
  }
  for (const auto& k : taken) hists_->erase(k);
  return out;
}

std::vector<dt_kept_span> HostFilterStore::take_kept(const dt_trace_key& key) {
  // One thread runs the filter here: the slot's lock is free, and taken only to say so.
  const std::uint32_t i = dt_keep_slot_of(&key, settings_.keep_mask);
  auto* t = reinterpret_cast<dt_kept_trace*>(keep_->element(i));
  auto* lock = reinterpret_cast<__u32*>(keep_locks_->element(i));
  if (!t || !lock || !DT_TRY_LOCK(lock)) return {};
  std::vector<dt_kept_span> out;
  if (dt_same_trace_id(t->key.id, key.id)) {
    out = written_spans(*t, settings_.keep_spans);
    t->key = dt_trace_key{};
    t->count = 0;
  }
  DT_UNLOCK(lock);
  return out;
}

}  // namespace difftrace::filter
