#include "agent/agent_metrics.h"

#include <map>

#include "metrics/exposition.h"

namespace difftrace::agent {
namespace {

using metrics::Exposition;

bool is_count(const nlohmann::json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
}

std::uint64_t number(const nlohmann::json& j, const std::string& key) {
  const auto it = j.find(key);
  return it != j.end() && is_count(*it) ? it->get<std::uint64_t>() : 0;
}

struct Plain {
  const char* key;   // in the snapshot
  const char* name;  // difftrace_<name>_total
  const char* help;
};

// The snapshot's counters that map one to one.
constexpr Plain kCounters[] = {
    {"spans_seen", "spans_seen", "Spans the kernel closed (every HTTP exchange of a target), reported or not"},
    {"spans_kept", "spans_kept", "Normal spans the kernel put in its keep-buffer instead of reporting them"},
    {"spans_dropped", "spans_filtered", "Spans the kernel closed and did not send (kept, or dropped)"},
    {"spans_recovered_exact", "spans_recovered", "Kept spans pulled back exactly for a trace with an anomaly"},
    {"spans_estimated", "spans_estimated", "Spans of a trace with an anomaly that were gone and estimated from the profile"},
    {"spans_received", "spans_received", "Spans that reached the exporters (reported, recovered or estimated)"},
    {"ringbuf_lost", "ringbuf_lost_spans", "Span events the ring buffer had no room for"},
    {"anomalies_lost", "anomalies_lost", "Anomalous span events the ring buffer had no room for"},
    {"kept_spans_overwritten", "kept_spans_overwritten", "Kept spans replaced by later ones of their trace"},
    {"kept_traces_evicted", "kept_traces_evicted", "Kept traces whose keep-buffer slot another trace took before they were pulled"},
    {"traces_exported", "traces_exported", "Traces sent to the exporters"},
    {"traces_with_anomaly", "traces_with_anomaly", "Traces sent with at least one anomalous span"},
    {"io_calls", "io_calls", "Traced send and receive system calls with data"},
    {"connections_tracked", "connections_tracked", "Connections the kernel kept state for"},
    {"non_http_data", "non_http_data", "Data on a tracked connection that was not HTTP"},
    {"requests_unanswered", "requests_unanswered", "Requests whose connection closed without a response"},
    {"io_map_full", "io_map_full", "System calls not followed: no room to remember them"},
    {"conn_map_full", "conn_map_full", "Connections not followed: the connection map was full"},
    {"histogram_map_full", "histogram_map_full", "Spans whose endpoint found no room for a latency histogram"},
    {"invalid_trace_context", "invalid_trace_context", "Requests whose traceparent or B3 headers were malformed"},
    {"malformed_events", "malformed_events", "Ring buffer events that could not be decoded"},
    {"k8s_spans_named", "k8s_spans_named", "Spans of a pod's container, named by the pod (--k8s)"},
    {"k8s_spans_unnamed", "k8s_spans_unnamed", "Spans of a container whose pod is not known (the API away, or the pod too new)"},
    {"filter_store_update_failed", "filter_map_update_failed", "Writes of services or thresholds into the kernel's maps that failed"},
};

const char* exporter_help(const std::string& name) {
  static const std::map<std::string, const char*> help = {
      {"spans_exported", "Spans an exporter wrote or delivered"},
      {"spans_sent", "Spans a backend accepted"},
      {"retries", "Requests retried after a failure"},
      {"requests", "Requests sent to a backend"},
      {"http_errors", "Non-2xx answers from a backend"},
      {"connect_errors", "Requests with no answer (refused, timed out, reset)"},
  };
  const auto it = help.find(name);
  return it == help.end() ? "An exporter's counter" : it->second;
}

void spans(Exposition& out, const nlohmann::json& snap) {
  for (const auto& c : kCounters) {
    if (!snap.contains(c.key)) continue;
    out.counter(std::string("difftrace_") + c.name, c.help);
    out.sample(number(snap, c.key));
  }
  out.counter("difftrace_spans_reported", "Spans the kernel reported, by the reason it reported them");
  for (const auto& [key, v] : snap.items())
    if (key.rfind("reported_", 0) == 0 && is_count(v))
      out.sample(v.get<std::uint64_t>(), {{"reason", key.substr(9)}});
  out.counter("difftrace_spans_dropped", "Spans lost for good, by why");
  out.sample(number(snap, "spans_dropped_no_trace_id"), {{"reason", "no_trace_id"}});
  out.sample(number(snap, "ringbuf_lost"), {{"reason", "ringbuf_full"}});
}

void exporters(Exposition& out, const nlohmann::json& snap) {
  const auto it = snap.find("exporters");
  if (it == snap.end()) return;
  out.gauge("difftrace_exporter_queued_spans", "Spans waiting in an exporter's queue");
  for (const auto& [kind, e] : it->items())
    out.sample(number(e, "queued_spans"), {{"exporter", kind}});
  out.gauge("difftrace_exporter_failing", "1 while an exporter's backend is failing");
  for (const auto& [kind, e] : it->items())
    out.sample(std::uint64_t{!e.value("failure", std::string()).empty()}, {{"exporter", kind}});
  for (const auto& [kind, e] : it->items()) {
    const nlohmann::json counters = e.value("counters", nlohmann::json::object());
    for (const auto& [name, v] : counters.items()) {
      if (!is_count(v)) continue;
      if (name.rfind("dropped_", 0) == 0) {
        out.counter("difftrace_exporter_spans_dropped", "Spans an exporter gave up on, by why");
        out.sample(v.get<std::uint64_t>(), {{"exporter", kind}, {"reason", name.substr(8)}});
      } else {
        out.counter("difftrace_exporter_" + name, exporter_help(name));
        out.sample(v.get<std::uint64_t>(), {{"exporter", kind}});
      }
    }
  }
}

void programs(Exposition& out, const nlohmann::json& snap) {
  const auto it = snap.find("programs");
  if (it == snap.end()) return;
  out.gauge("difftrace_bpf_programs_loaded", "BPF programs loaded into the kernel");
  out.sample(static_cast<std::uint64_t>(it->size()));
  out.gauge("difftrace_bpf_probes_attached", "BPF programs attached to their hooks");
  out.sample(number(snap, "probes_attached"));
  out.gauge("difftrace_bpf_program_verified_insns",
            "Instructions the kernel's verifier processed to load a program");
  for (const auto& p : *it)
    out.sample(number(p, "verified_insns"), {{"program", p.value("name", std::string())}});
}

// Counts by service of a snapshot list ("profile": every span the filter saw; "endpoints":
// spans exported).
std::map<std::string, std::uint64_t> by_service(const nlohmann::json& snap, const char* list) {
  std::map<std::string, std::uint64_t> out;
  const auto it = snap.find(list);
  if (it == snap.end() || !it->is_array()) return out;
  for (const auto& e : *it) {
    std::string s = e.value("service", std::string());
    out[s.empty() ? "unnamed" : s] += number(e, "count");
  }
  return out;
}

void services(Exposition& out, const nlohmann::json& snap, metrics::BoundedLabels& bound) {
  out.counter("difftrace_service_spans_seen",
              "Spans the filter saw per service (reported or not), from the profiler");
  for (const auto& [s, n] : bound.fold(by_service(snap, "profile")))
    out.sample(n, {{"service", s}});
  out.counter("difftrace_service_spans_exported", "Spans exported per service");
  for (const auto& [s, n] : bound.fold(by_service(snap, "endpoints")))
    out.sample(n, {{"service", s}});
}

void config(Exposition& out, const ReloadStatus& r) {
  out.counter("difftrace_config_reloads", "Config reloads (SIGHUP or a changed file), by result");
  out.sample(r.ok, {{"result", "ok"}});
  out.sample(r.failed, {{"result", "failed"}});
  out.gauge("difftrace_config_last_reload_successful",
            "0 while the config file on disk was refused and the previous one is in force");
  out.sample(std::uint64_t{r.last_error.empty()});
  out.gauge("difftrace_config_in_force_since_seconds",
            "When the config in force was loaded, in seconds since the epoch");
  out.sample(static_cast<std::uint64_t>(r.in_force_since_unix));
}

void process(Exposition& out, const metrics::ProcessUsage& p) {
  out.gauge("difftrace_process_resident_memory_bytes", "The agent's resident memory");
  out.sample(p.resident_bytes);
  out.counter("difftrace_process_cpu_seconds", "The agent's CPU time, user and system");
  out.sample(p.cpu_seconds);
  out.gauge("difftrace_process_open_fds", "The agent's open file descriptors");
  out.sample(p.open_fds);
}

}  // namespace

std::string render_metrics(const nlohmann::json& snapshot, const ReloadStatus& reload,
                           const metrics::ProcessUsage& usage, metrics::BoundedLabels& bound) {
  Exposition out;
  spans(out, snapshot);
  exporters(out, snapshot);
  programs(out, snapshot);
  services(out, snapshot, bound);
  config(out, reload);
  process(out, usage);
  return out.text();
}

}  // namespace difftrace::agent
