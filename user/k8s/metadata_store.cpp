#include "k8s/metadata_store.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace difftrace::k8s {

void MetadataStore::index(const std::shared_ptr<const PodMeta>& pod) {
  by_uid_[pod->uid] = pod;
  for (const auto& c : pod->containers)
    if (!c.id.empty()) by_container_[c.id] = {pod->uid, c.name};
}

void MetadataStore::unindex(const PodMeta& pod) {
  for (const auto& c : pod.containers) {
    auto it = by_container_.find(c.id);
    if (it != by_container_.end() && it->second.first == pod.uid) by_container_.erase(it);
  }
  by_uid_.erase(pod.uid);
}

void MetadataStore::replace(std::vector<PodMeta> pods) {
  std::lock_guard lock(mutex_);
  by_uid_.clear();
  by_container_.clear();
  for (auto& p : pods) index(std::make_shared<const PodMeta>(std::move(p)));
  generation_++;
}

void MetadataStore::upsert(PodMeta pod) {
  std::lock_guard lock(mutex_);
  if (auto it = by_uid_.find(pod.uid); it != by_uid_.end()) {
    if (*it->second == pod) return;
    unindex(*it->second);
  }
  index(std::make_shared<const PodMeta>(std::move(pod)));
  generation_++;
}

void MetadataStore::remove(const std::string& pod_uid) {
  std::lock_guard lock(mutex_);
  auto it = by_uid_.find(pod_uid);
  if (it == by_uid_.end()) return;
  auto pod = it->second;
  unindex(*pod);
  generation_++;
}

std::optional<MetadataStore::Found> MetadataStore::by_container(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = by_container_.find(id);
  if (it == by_container_.end()) return std::nullopt;
  auto pod = by_uid_.find(it->second.first);
  if (pod == by_uid_.end()) return std::nullopt;
  return Found{pod->second, it->second.second};
}

std::shared_ptr<const PodMeta> MetadataStore::by_pod_uid(const std::string& uid) const {
  std::lock_guard lock(mutex_);
  auto it = by_uid_.find(uid);
  return it == by_uid_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const PodMeta>> MetadataStore::pods() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<const PodMeta>> out;
  for (const auto& [uid, pod] : by_uid_) out.push_back(pod);
  return out;
}

std::uint64_t MetadataStore::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

nlohmann::json MetadataStore::to_json() const {
  std::vector<std::shared_ptr<const PodMeta>> all;
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);  // the pods and the generation they are at
    for (const auto& [uid, pod] : by_uid_) all.push_back(pod);
    generation = generation_;
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return std::tie(a->namespace_name, a->name) < std::tie(b->namespace_name, b->name);
  });
  nlohmann::json out = {{"generation", generation}, {"pods", nlohmann::json::array()}};
  for (const auto& p : all) {
    nlohmann::json containers = nlohmann::json::array();
    for (const auto& c : p->containers) containers.push_back({{"name", c.name}, {"id", c.id}});
    out["pods"].push_back({{"uid", p->uid},
                           {"name", p->name},
                           {"namespace", p->namespace_name},
                           {"node", p->node_name},
                           {"labels", p->labels},
                           {"owner", {{"kind", p->owner_kind}, {"name", p->owner_name}}},
                           {"workload", {{"kind", p->workload_kind}, {"name", p->workload_name}}},
                           {"containers", containers}});
  }
  return out;
}

}  // namespace difftrace::k8s
