#include "k8s/pod_metadata.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace difftrace::k8s {
namespace {

std::string text_at(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) throw std::invalid_argument(std::string(key) + " is not a string");
  return it->get<std::string>();
}

}  // namespace

std::string container_id_of_status(std::string_view container_id) {
  auto at = container_id.find("://");
  return at == std::string_view::npos ? std::string() : std::string(container_id.substr(at + 3));
}

PodMeta pod_from_json(const nlohmann::json& pod) {
  if (!pod.is_object() || !pod.contains("metadata") || !pod["metadata"].is_object())
    throw std::invalid_argument("a pod without metadata");
  const auto& md = pod["metadata"];
  PodMeta p;
  p.uid = text_at(md, "uid");
  p.name = text_at(md, "name");
  if (p.uid.empty() || p.name.empty()) throw std::invalid_argument("a pod without uid or name");
  p.namespace_name = text_at(md, "namespace");
  p.resource_version = text_at(md, "resourceVersion");
  if (auto labels = md.find("labels"); labels != md.end() && labels->is_object())
    for (const auto& [k, v] : labels->items())
      if (v.is_string()) p.labels[k] = v.get<std::string>();
  if (auto owners = md.find("ownerReferences"); owners != md.end() && owners->is_array())
    for (const auto& o : *owners)
      if (o.is_object() && o.value("controller", false)) {
        p.owner_kind = text_at(o, "kind");
        p.owner_name = text_at(o, "name");
      }
  if (auto spec = pod.find("spec"); spec != pod.end() && spec->is_object())
    p.node_name = text_at(*spec, "nodeName");
  if (auto status = pod.find("status"); status != pod.end() && status->is_object())
    for (const char* list : {"initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"})
      if (auto cs = status->find(list); cs != status->end() && cs->is_array())
        for (const auto& c : *cs)
          if (c.is_object())
            p.containers.push_back({text_at(c, "name"), container_id_of_status(text_at(c, "containerID"))});
  return p;
}

}  // namespace difftrace::k8s
