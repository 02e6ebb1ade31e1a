#include "cli/k8s_options.h"

#include <CLI/CLI.hpp>

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

}  // namespace difftrace::cli
