// A minimal Kubernetes API client over libcurl: GETs and streamed watches, authenticated with
// the service account's bearer token (read again for every request: kubelet rotates bound
// tokens) and verified against the cluster's CA. In a pod, in_cluster_config() finds all of it
// (KUBERNETES_SERVICE_HOST/PORT, /var/run/secrets/kubernetes.io/serviceaccount/); the URL and
// the files can be given instead (tests, or running outside the cluster).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace difftrace::k8s {

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct ApiConfig {
  std::string url;         // https://10.96.0.1:443, no trailing slash
  std::string token_file;  // empty: no Authorization header
  std::string ca_file;     // empty: the system's CAs
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{15000};  // a GET's; a watch ends by its timeoutSeconds
};

// The in-cluster config, each part overridden when the given value is not empty. Throws
// FatalError(kUsage) when there is no URL: not in a pod and none given.
ApiConfig in_cluster_config(const std::string& url = {}, const std::string& token_file = {},
                            const std::string& ca_file = {});

class ApiClient {
 public:
  struct Response {
    long status = 0;    // 0: no HTTP answer (error says why)
    std::string error;  // connection refused, timeout, a token that cannot be read, ...
    std::string body;   // a GET's body; a watch's last incomplete line, if any
    bool stopped = false;  // the caller's stop flag, or on_line, ended it
  };
  // Called with each complete line of a watch (one JSON event); false stops the watch.
  using LineHandler = std::function<bool(std::string_view line)>;

  explicit ApiClient(ApiConfig config);
  const ApiConfig& config() const { return config_; }

  // GET path (with its query), e.g. "/api/v1/pods?fieldSelector=...".
  Response get(const std::string& path) const;
  // GET a watch and hand over its events as they come, until the server ends the stream, an
  // error, stop, or on_line says so; lines are at most 16 MiB.
  Response watch(const std::string& path, const LineHandler& on_line,
                 const std::atomic<bool>& stop, std::chrono::seconds max_time) const;

 private:
  ApiConfig config_;
};

// s with what a query value may not hold percent-encoded ("spec.nodeName=n1" -> "spec.nodeName%3Dn1").
std::string url_encode(std::string_view s);

}  // namespace difftrace::k8s
