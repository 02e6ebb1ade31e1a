// Pods from the API's objects (tests/fixtures/k8s, shaped as a cluster returns them), the
// metadata store, the owner (ReplicaSet -> Deployment, with the API away too) and the span
// attributes the pod enricher gives, unnamed spans counted.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include <cstdlib>

#include "k8s/api_client.h"
#include "k8s/container_cache.h"
#include "k8s/metadata_store.h"
#include "k8s/owner_resolver.h"
#include "k8s/pod_enricher.h"
#include "k8s/pod_metadata.h"

using namespace difftrace;
using nlohmann::json;

namespace {

json fixture(const std::string& name) {
  std::ifstream f("tests/fixtures/k8s/" + name);
  REQUIRE(f);
  return json::parse(f);
}

const std::string kActivatorId = "3f1c2b7e9d0a4c8b6e5f1a2d3c4b5a69788776655443322110ffeeddccbbaa99";
const std::string kActivatorUid = "6d1b2f1c-5d3e-4a8f-9b3c-0f1e2d3c4b5a";

// An API that answers GETs from a map, or is away.
struct FakeApi {
  std::map<std::string, json> objects;
  bool away = false;
  int gets = 0;
  k8s::OwnerResolver::Get get() {
    return [this](const std::string& path) {
      gets++;
      k8s::ApiClient::Response r;
      if (away) {
        r.error = "Connection refused";
        return r;
      }
      auto it = objects.find(path);
      r.status = it == objects.end() ? 404 : 200;
      r.body = it == objects.end() ? "{}" : it->second.dump();
      return r;
    };
  }
};

std::map<std::string, std::string> as_map(const capture::ResourceAttributes& a) {
  return {a.begin(), a.end()};
}

}  // namespace

TEST_CASE("a pod object as a cluster returns it", "[k8s]") {
  auto p = k8s::pod_from_json(fixture("pod-activator.json"));
  CHECK(p.uid == kActivatorUid);
  CHECK(p.name == "activator-7d8b9c6f5d-x2x9k");
  CHECK(p.namespace_name == "knative-serving");
  CHECK(p.node_name == "node-1");
  CHECK(p.labels.at("app") == "activator");
  CHECK(p.owner_kind == "ReplicaSet");
  CHECK(p.owner_name == "activator-7d8b9c6f5d");
  REQUIRE(p.containers.size() == 1);
  CHECK(p.containers[0].name == "activator");
  CHECK(p.containers[0].id == kActivatorId);

  CHECK(k8s::container_id_of_status("cri-o://abc") == "abc");
  CHECK(k8s::container_id_of_status("docker://abc") == "abc");
  CHECK(k8s::container_id_of_status("") == "");
  CHECK_THROWS_AS(k8s::pod_from_json(json::object()), std::invalid_argument);
  CHECK_THROWS_AS(k8s::pod_from_json(json{{"metadata", {{"uid", 7}, {"name", "x"}}}}),
                  std::invalid_argument);
}

TEST_CASE("the owner: ReplicaSet's Deployment by one cached GET; DaemonSet directly", "[k8s]") {
  FakeApi api;
  api.objects["/apis/apps/v1/namespaces/knative-serving/replicasets/activator-7d8b9c6f5d"] =
      fixture("replicaset-activator.json");
  k8s::OwnerResolver owners(api.get());
  auto p = k8s::pod_from_json(fixture("pod-activator.json"));
  owners.resolve(p);
  CHECK(p.workload_kind == "deployment");
  CHECK(p.workload_name == "activator");
  owners.resolve(p);
  CHECK(api.gets == 1);

  auto ds = k8s::pod_from_json(fixture("pod-kube-proxy.json"));
  owners.resolve(ds);
  CHECK(ds.workload_kind == "daemonset");
  CHECK(ds.workload_name == "kube-proxy");
  CHECK(api.gets == 1);
}

TEST_CASE("the API away: the Deployment from the ReplicaSet's name, asked again later", "[k8s]") {
  FakeApi api;
  api.away = true;
  k8s::OwnerResolver owners(api.get());
  auto p = k8s::pod_from_json(fixture("pod-activator.json"));
  owners.resolve(p);
  CHECK(p.workload_kind == "deployment");
  CHECK(p.workload_name == "activator");
  owners.resolve(p);
  CHECK(api.gets == 2);
  CHECK(owners.lookup_errors() == 2);

  // A ReplicaSet that is its own (no pod-template-hash suffix), API away: a bare ReplicaSet.
  auto bare = p;
  bare.owner_name = "hand-made";
  owners.resolve(bare);
  CHECK(bare.workload_kind == "replicaset");
}

TEST_CASE("the store: by container id and pod uid, replaced by a list", "[k8s]") {
  k8s::MetadataStore store;
  auto a = k8s::pod_from_json(fixture("pod-activator.json"));
  auto b = k8s::pod_from_json(fixture("pod-kube-proxy.json"));
  store.replace({a, b});
  const auto g = store.generation();
  REQUIRE(store.by_container(kActivatorId));
  CHECK(store.by_container(kActivatorId)->container_name == "activator");
  CHECK(store.by_pod_uid(kActivatorUid)->name == a.name);

  store.upsert(a);  // unchanged: no new generation
  CHECK(store.generation() == g);
  a.containers[0].id = std::string(64, 'e');  // restarted: a new container id
  store.upsert(a);
  CHECK(store.generation() > g);
  CHECK_FALSE(store.by_container(kActivatorId));
  CHECK(store.by_container(std::string(64, 'e')));

  store.remove(a.uid);
  CHECK_FALSE(store.by_container(std::string(64, 'e')));
  CHECK_FALSE(store.by_pod_uid(a.uid));
  store.replace({a});
  CHECK(store.pods().size() == 1);
  CHECK(store.to_json()["pods"][0]["name"] == a.name);
}

TEST_CASE("spans of a known pod get k8s.*; of an unknown container, container.id and a count",
          "[k8s]") {
  FakeApi api;
  api.objects["/apis/apps/v1/namespaces/knative-serving/replicasets/activator-7d8b9c6f5d"] =
      fixture("replicaset-activator.json");
  k8s::OwnerResolver owners(api.get());
  auto pod = k8s::pod_from_json(fixture("pod-activator.json"));
  owners.resolve(pod);
  k8s::MetadataStore store;

  std::map<std::uint32_t, k8s::CgroupIdentity> procs = {
      {10, {kActivatorId, kActivatorUid}}, {20, {"", ""}}, {30, {std::string(64, 'f'), ""}}};
  k8s::ContainerCache cache([&](std::uint32_t pid) -> std::optional<k8s::CgroupIdentity> {
    return procs.count(pid) ? std::optional(procs[pid]) : std::nullopt;
  });
  k8s::PodEnricher enricher(cache, store);

  capture::Span s;
  s.pid = 10;
  enricher.enrich(s);  // the store is empty yet: the API not answered
  REQUIRE(s.resource);
  CHECK(as_map(*s.resource) == std::map<std::string, std::string>{{"container.id", kActivatorId}});
  CHECK(enricher.unnamed() == 1);

  store.replace({pod});
  capture::Span named;
  named.pid = 10;
  enricher.enrich(named);
  REQUIRE(named.resource);
  CHECK(as_map(*named.resource) == std::map<std::string, std::string>{
                                       {"container.id", kActivatorId},
                                       {"k8s.namespace.name", "knative-serving"},
                                       {"k8s.pod.name", "activator-7d8b9c6f5d-x2x9k"},
                                       {"k8s.pod.uid", kActivatorUid},
                                       {"k8s.container.name", "activator"},
                                       {"k8s.node.name", "node-1"},
                                       {"k8s.replicaset.name", "activator-7d8b9c6f5d"},
                                       {"k8s.deployment.name", "activator"}});
  CHECK(enricher.named() == 1);

  capture::Span host, other;
  host.pid = 20;
  other.pid = 30;
  enricher.enrich(host);
  enricher.enrich(other);
  CHECK_FALSE(host.resource);  // a host process is not counted as unnamed
  CHECK(other.resource);
  CHECK(enricher.unnamed() == 2);
  stats::RunStats stats;
  enricher.fill_stats(stats);
  CHECK(stats.user_counter("k8s_spans_named") == 1);
  CHECK(stats.user_counter("k8s_spans_unnamed") == 2);
}

TEST_CASE("in-cluster config: the service's address, or what is given", "[k8s]") {
  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  CHECK(k8s::in_cluster_config().url == "https://10.96.0.1:443");
  ::setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
  CHECK(k8s::in_cluster_config().url == "https://[fd00:10:96::1]:443");
  auto given = k8s::in_cluster_config("http://127.0.0.1:8080/", "/tmp/token", "/tmp/ca.crt");
  CHECK(given.url == "http://127.0.0.1:8080");
  CHECK(given.token_file == "/tmp/token");
  CHECK(given.ca_file == "/tmp/ca.crt");
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  CHECK_THROWS_WITH(k8s::in_cluster_config(), Catch::Contains("KUBERNETES_SERVICE_HOST is not set"));
  CHECK(k8s::url_encode("spec.nodeName=node-1") == "spec.nodeName%3Dnode-1");
  CHECK(k8s::url_encode("a b/c") == "a%20b%2Fc");
}
