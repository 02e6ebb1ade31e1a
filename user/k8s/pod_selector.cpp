#include "k8s/pod_selector.h"

#include <algorithm>

namespace difftrace::k8s {

bool selector_matches(const config::K8sSelector& sel, const PodMeta& pod,
                      const std::string& container_name) {
  auto one_of = [](const std::vector<std::string>& list, const std::string& v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  if (!one_of(sel.namespaces, pod.namespace_name) || !one_of(sel.containers, container_name))
    return false;
  return std::all_of(sel.labels.begin(), sel.labels.end(), [&](const auto& kv) {
    auto it = pod.labels.find(kv.first);
    return it != pod.labels.end() && it->second == kv.second;
  });
}

bool PodSelector::matches(const config::K8sSelector& selector, std::uint32_t pid) const {
  const auto id = containers_.of(pid).identity;
  if (id.container_id.empty()) return false;
  auto found = store_.by_container(id.container_id);
  return found && selector_matches(selector, *found->pod, found->container_name);
}

}  // namespace difftrace::k8s
