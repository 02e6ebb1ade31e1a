#include "cli/k8s_options.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "k8s/container_id_enricher.h"

namespace difftrace::cli {

void add_k8s_options(CLI::App& cmd, k8s::K8sOptions& opts) {
  cmd.add_option("--k8s-api", opts.api_url,
                 "Kubernetes API URL (default: in-cluster, from KUBERNETES_SERVICE_HOST/PORT)");
  cmd.add_option("--k8s-token-file", opts.token_file,
                 std::string("Bearer token file (default: ") + k8s::kServiceAccountDir + "/token)");
  cmd.add_option("--k8s-ca-file", opts.ca_file,
                 std::string("CA bundle for the API (default: ") + k8s::kServiceAccountDir +
                     "/ca.crt)");
  cmd.add_option("--node-name", opts.node_name, "This node's name (default: $NODE_NAME)");
}

void add_container_metadata(session::Session& run, k8s::K8sMetadata* pods,
                            k8s::ContainerCache& containers) {
  if (!pods) {
    for (const auto& s : run.config().services)
      if (s.match.k8s) spdlog::warn("service {}: its k8s match selects nothing without --k8s", s.name);
    run.add_enricher(std::make_unique<k8s::ContainerIdEnricher>(containers));
    return;
  }
  run.add_enricher(pods->make_enricher());
  run.set_k8s_match([pods](const config::K8sSelector& sel, std::uint32_t pid) {
    return pods->selector().matches(sel, pid);
  });
  pods->start();
}

}  // namespace difftrace::cli
