// Services by Kubernetes selectors: the config's match {k8s: ...} (and what it refuses), the
// selector against pods, and the service registry following pods as they come and go (a
// process is in a pod by its container id, as /proc/PID/cgroup shows it).
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "config/service_map.h"
#include "filter/service_registry.h"
#include "k8s/pod_selector.h"
#include "service_registry_fixture.h"

using namespace difftrace;
using difftrace::testing::FakeProcessView;
using difftrace::testing::service_of;

namespace {

const std::string kActivator = std::string(64, 'a');
const std::string kQueueProxy = std::string(64, 'b');

k8s::PodMeta activator_pod() {
  k8s::PodMeta p;
  p.uid = "6d1b2f1c-5d3e-4a8f-9b3c-0f1e2d3c4b5a";
  p.name = "activator-7d8b9c6f5d-x2x9k";
  p.namespace_name = "knative-serving";
  p.labels = {{"app", "activator"}, {"role", "activator"}};
  p.containers = {{"activator", kActivator}};
  return p;
}

k8s::PodMeta function_pod() {
  k8s::PodMeta p;
  p.uid = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
  p.name = "hello-00001-deployment-5c9f8d7b6-abcde";
  p.namespace_name = "default";
  p.labels = {{"serving.knative.dev/service", "hello"}};
  p.containers = {{"user-container", std::string(64, 'c')}, {"queue-proxy", kQueueProxy}};
  return p;
}

}  // namespace

TEST_CASE("match: {k8s: ...} in the config", "[k8s][config]") {
  auto cfg = config::parse_config(
      "services:\n"
      "  - name: activator\n"
      "    match: {k8s: {namespace: knative-serving, container: activator}}\n"
      "  - name: queue-proxy\n"
      "    match:\n"
      "      k8s:\n"
      "        container: [queue-proxy]\n"
      "        labels: {serving.knative.dev/service: hello}\n",
      "cfg.yaml");
  REQUIRE(cfg.services.size() == 2);
  REQUIRE(cfg.services[0].match.k8s);
  CHECK(cfg.services[0].match.k8s->namespaces == std::vector<std::string>{"knative-serving"});
  CHECK(cfg.services[0].match.k8s->containers == std::vector<std::string>{"activator"});
  CHECK(cfg.services[1].match.k8s->labels.at("serving.knative.dev/service") == "hello");
  // Pods come and go: every process is traced, the services follow the pods.
  CHECK(config::targets_of(cfg).all);

  struct Bad {
    const char* yaml;
    const char* where;
    const char* why;
  };
  const Bad rows[] = {
      {"services:\n  - name: a\n    match: {k8s: {}}\n", "cfg.yaml:3", "selects every pod"},
      {"services:\n  - name: a\n    match: {k8s: {pod: x}}\n", "cfg.yaml:3", "unknown key 'pod'"},
      {"services:\n  - name: a\n    match:\n      k8s: {labels: [app]}\n", "cfg.yaml:4",
       "labels must be a mapping"},
      {"services:\n  - name: a\n    match: {k8s: {namespace: {a: b}}}\n", "cfg.yaml:3",
       "namespace must be a string"},
  };
  for (const auto& row : rows) {
    INFO(row.yaml);
    try {
      config::parse_config(row.yaml, "cfg.yaml");
      FAIL("accepted");
    } catch (const config::ConfigError& e) {
      std::string msg = e.what();
      INFO(msg);
      CHECK(msg.rfind(row.where, 0) == 0);
      CHECK(msg.find(row.why) != std::string::npos);
    }
  }
}

TEST_CASE("a selector against a pod's container", "[k8s]") {
  const auto pod = function_pod();
  struct Row {
    config::K8sSelector sel;
    const char* container;
    bool want;
  };
  const Row rows[] = {
      {{{"default"}, {}, {}}, "queue-proxy", true},
      {{{"knative-serving"}, {}, {}}, "queue-proxy", false},
      {{{"a", "default"}, {"queue-proxy"}, {}}, "queue-proxy", true},
      {{{}, {"queue-proxy"}, {}}, "user-container", false},
      {{{}, {}, {{"serving.knative.dev/service", "hello"}}}, "user-container", true},
      {{{}, {}, {{"serving.knative.dev/service", "bye"}}}, "user-container", false},
      {{{}, {}, {{"app", "hello"}}}, "user-container", false},  // a label the pod lacks
      {{{"default"}, {"user-container"}, {{"serving.knative.dev/service", "hello"}}},
       "user-container", true},
  };
  int i = 0;
  for (const auto& r : rows) {
    INFO("row " << i++);
    CHECK(k8s::selector_matches(r.sel, pod, r.container) == r.want);
  }
}

TEST_CASE("k8s services follow pods as they come and go", "[k8s][service_registry]") {
  auto cfg = config::parse_config(
      "services:\n"
      "  - name: activator\n"
      "    match: {k8s: {namespace: knative-serving, container: activator}}\n"
      "  - name: queue-proxy\n"
      "    match: {k8s: {container: queue-proxy}}\n"
      "    role: platform\n",
      "cfg.yaml");
  FakeProcessView procs;
  std::map<std::uint32_t, k8s::CgroupIdentity> cgroups;
  k8s::ContainerCache containers(
      [&](std::uint32_t pid) -> std::optional<k8s::CgroupIdentity> {
        auto it = cgroups.find(pid);
        return it == cgroups.end() ? std::nullopt : std::optional(it->second);
      },
      {}, 4096, std::chrono::nanoseconds(0));  // no caching: the test moves processes at will
  k8s::MetadataStore pods;
  k8s::PodSelector selector(containers, pods);
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg, procs);
  services.set_k8s_match([&](const config::K8sSelector& sel, std::uint32_t pid) {
    return selector.matches(sel, pid);
  });

  procs.run(100, 1, "/ko-app/activator");
  cgroups[100] = {kActivator, ""};
  procs.run(200, 1, "/ko-app/queue");
  cgroups[200] = {kQueueProxy, ""};
  procs.run(300, 1, "/usr/sbin/sshd");  // a host process
  services.publish(store);
  CHECK(service_of(store, 100) == 0);  // no pod known yet
  CHECK(service_of(store, 200) == 0);

  pods.upsert(activator_pod());
  services.rescan(store);
  CHECK(service_of(store, 100) == services.id_of(0));
  CHECK(service_of(store, 200) == 0);

  pods.upsert(function_pod());
  services.rescan(store);
  CHECK(service_of(store, 200) == services.id_of(1));
  CHECK(service_of(store, 300) == 0);

  // The function's pod goes, its process with it; a new pod's process takes its pid.
  pods.remove(function_pod().uid);
  procs.exit(200);
  services.rescan(store);
  CHECK(service_of(store, 200) == 0);
  procs.run(200, 2, "/usr/bin/python3");
  cgroups[200] = {std::string(64, 'd'), ""};
  services.rescan(store);
  CHECK(service_of(store, 200) == 0);
}

TEST_CASE("without a pod source, k8s matches select nothing", "[k8s][service_registry]") {
  auto cfg = config::parse_config(
      "services:\n  - name: activator\n    match: {k8s: {container: activator}}\n", "cfg.yaml");
  FakeProcessView procs;
  procs.run(100, 1, "/ko-app/activator");
  filter::HostFilterStore store({});
  filter::ServiceRegistry services(cfg, procs);
  services.publish(store);
  CHECK(service_of(store, 100) == 0);
}

TEST_CASE("the shipped Knative example config loads", "[k8s][config]") {
  auto cfg = config::load_config("deploy/knative.yaml");
  REQUIRE(cfg.services.size() == 4);
  for (const auto& s : cfg.services) CHECK(s.match.k8s);
  CHECK(cfg.services[1].match.k8s->namespaces == std::vector<std::string>{"knative-serving"});
  CHECK(cfg.services[1].match.k8s->containers == std::vector<std::string>{"activator"});
}
