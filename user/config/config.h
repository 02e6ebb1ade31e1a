// The --config YAML file: how processes become services, their role for the
// filter (platform spans are filtered, function spans reported), their
// latency thresholds, and the profiler's and keep-buffer's settings. A bad
// file is refused whole, with the file, line and reason (ConfigError).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace difftrace::config {

enum class Role { kPlatform, kFunction, kFunctionFiltered };

// The default latency rule's (user/profiler/profiler.h): a delay of 5x the median, at least
// 5 ms, is an anomaly.
inline constexpr double kDefaultTimesMedian = 5.0;
inline constexpr std::uint64_t kDefaultFloorNs = 5'000'000;

struct Latency {
  std::optional<std::uint64_t> static_ns;  // latency: 50ms
  // latency: {adaptive: {quantile: 0.99, factor: 1.5}, floor: 2ms}
  std::optional<double> quantile;
  double factor = 1.0;
  // latency: {adaptive: {times_median: 5}, floor: 5ms}: the default rule, explicitly (the
  // floor is 5 ms unless given; a quantile rule's is 0 unless given)
  std::optional<double> times_median;
  std::uint64_t floor_ns = 0;

  bool adaptive() const { return quantile.has_value() || times_median.has_value(); }
};

// match: {k8s: {namespace: knative-serving, container: activator, labels: {app: activator}}}:
// the processes of the containers of this node's pods that fit every key given (each list: any
// of its values), resolved from the Kubernetes API as pods come and go (k8s/pod_selector.h).
struct K8sSelector {
  std::vector<std::string> namespaces;
  std::vector<std::string> containers;
  std::map<std::string, std::string> labels;  // every one must be on the pod
};

struct Match {
  std::vector<std::string> comms;
  std::vector<std::string> exes;
  std::vector<pid_t> pids;
  std::vector<std::string> cgroups;
  std::vector<std::uint16_t> listen_ports;
  std::optional<K8sSelector> k8s;
};

struct Endpoint {
  std::string method;         // GET, POST, ...
  std::string path_template;  // as include/path_template.h makes it
  Latency latency;
};

struct Service {
  std::string name;
  Match match;
  Role role = Role::kPlatform;
  Latency latency;
  std::uint64_t timeout_ns = 0;  // a request unanswered this long is an anomaly; 0: none
  bool errors_4xx = false;
  std::vector<Endpoint> endpoints;
};

struct Profiler {
  std::uint64_t interval_ns = 5'000'000'000ull;
  std::uint64_t window_ns = 60'000'000'000ull;
  std::uint32_t min_samples = 50;
  bool operator==(const Profiler&) const = default;
};

// The in-kernel keep-buffer: trace slots (rounded down to a power of two: include/filter_maps.h)
// and the last spans kept per trace (at most DT_KEEP_SPANS). Each slot takes about 1.9 KB of
// kernel memory.
struct Keep {
  std::uint32_t traces = 8192;
  std::uint32_t spans_per_trace = 8;
  bool operator==(const Keep&) const = default;
};

// How long a trace with an anomaly waits for late spans before export, and
// how many traces, and spans, may wait at once (over either bound the oldest
// trace goes out early; the span bound is what caps memory).
struct Assembler {
  std::uint64_t wait_ns = 1'000'000'000ull;
  std::uint32_t max_traces = 65536;
  std::uint32_t max_spans = 65536;
  bool operator==(const Assembler&) const = default;
};

struct Config {
  std::vector<Service> services;
  // Processes no service matches: functions by default (reported), so that
  // nothing is filtered until the config says which processes are platform.
  Role default_role = Role::kFunction;
  Profiler profiler;
  Keep keep;
  Assembler assembler;
  std::vector<std::string> exports;  // the same SPECs as --export
  // url.query as exported: values replaced by REDACTED (keys kept), or kept as they came.
  bool keep_query_values = false;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws ConfigError("FILE:LINE: reason") for anything it cannot take:
// unknown keys, wrong types, bad durations, roles, methods or patterns.
Config load_config(const std::string& path);
// The file's text as load_config reads it (ConfigError "FILE: cannot be read").
std::string read_config_text(const std::string& path);
Config parse_config(const std::string& text, const std::string& name);

}  // namespace difftrace::config
