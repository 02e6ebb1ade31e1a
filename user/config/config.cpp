#include "config/config.h"

#include "filter_maps.h"  // DT_KEEP_SPANS

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "capture/endpoint_template.h"
#include "config/duration.h"

namespace difftrace::config {
namespace {

const std::set<std::string> kMethods = {"GET",   "POST",    "PUT",     "DELETE", "HEAD",
                                        "PATCH", "OPTIONS", "CONNECT", "TRACE"};

// Reads one document, naming the file and line of whatever it refuses.
class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& why) const {
    std::ostringstream s;
    s << name_;
    if (at.Mark().line >= 0) s << ":" << at.Mark().line + 1;
    s << ": " << why;
    throw ConfigError(s.str());
  }

  void only_keys(const YAML::Node& map, const std::set<std::string>& known,
                 const std::string& where) const {
    if (!map.IsMap()) fail(map, where + " must be a mapping");
    for (const auto& kv : map) {
      auto key = kv.first.as<std::string>();
      if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fail(kv.first, "unknown key '" + key + "' in " + where + " (known: " + list + ")");
      }
    }
  }

  std::string text(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + " must be a string");
    return n.as<std::string>();
  }

  std::uint64_t duration(const YAML::Node& n, const std::string& what) const {
    auto d = n.IsScalar() ? parse_duration(n.as<std::string>()) : std::nullopt;
    if (!d)
      fail(n, what + ": '" + (n.IsScalar() ? n.as<std::string>() : std::string("?")) +
                  "' is not a duration (a non-negative number with ns, us, ms, s or m)");
    return *d;
  }

  double number(const YAML::Node& n, const std::string& what, double lo, double hi) const {
    double v = 0;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !(v >= lo && v <= hi))
      fail(n, what + " must be a number from " + std::to_string(lo) + " to " + std::to_string(hi));
    return v;
  }

  std::uint64_t count(const YAML::Node& n, const std::string& what, std::uint64_t hi) const {
    long long v = -1;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v) || v < 1 ||
        static_cast<std::uint64_t>(v) > hi)
      fail(n, what + " must be a whole number from 1 to " + std::to_string(hi));
    return static_cast<std::uint64_t>(v);
  }

  bool flag(const YAML::Node& n, const std::string& what) const {
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) fail(n, what + " must be true or false");
    return v;
  }

  // A scalar or a list of scalars.
  std::vector<std::string> texts(const YAML::Node& n, const std::string& what) const {
    std::vector<std::string> out;
    if (n.IsSequence()) {
      for (const auto& item : n) out.push_back(text(item, what));
    } else {
      out.push_back(text(n, what));
    }
    return out;
  }

  Latency latency(const YAML::Node& n, const std::string& where) const {
    Latency l;
    if (n.IsScalar()) {
      l.static_ns = duration(n, where + ".latency");
      return l;
    }
    only_keys(n, {"static", "adaptive", "floor"}, where + ".latency");
    if (n["static"]) l.static_ns = duration(n["static"], where + ".latency.static");
    if (n["adaptive"]) {
      const auto& a = n["adaptive"];
      only_keys(a, {"quantile", "factor", "times_median"}, where + ".latency.adaptive");
      if (a["times_median"]) {
        if (a["quantile"] || a["factor"])
          fail(a, where + ".latency.adaptive: give either times_median or quantile (and factor), "
                          "not both");
        l.times_median =
            number(a["times_median"], where + ".latency.adaptive.times_median", 2.0, 100.0);
        l.floor_ns = kDefaultFloorNs;
      } else {
        if (!a["quantile"]) fail(a, where + ".latency.adaptive needs a quantile or times_median");
        l.quantile = number(a["quantile"], where + ".latency.adaptive.quantile", 0.5, 0.9999);
        if (a["factor"]) l.factor = number(a["factor"], where + ".latency.adaptive.factor", 1.0, 100.0);
      }
    }
    if (n["floor"]) l.floor_ns = duration(n["floor"], where + ".latency.floor");
    if (l.static_ns && l.adaptive())
      fail(n, where + ".latency: give either static or adaptive, not both");
    return l;
  }

  // "GET /users/{n}" or "GET /users/17": the method and the path's template.
  Endpoint endpoint(const YAML::Node& key, const YAML::Node& value, const std::string& where) const {
    Endpoint e;
    std::string pattern = text(key, where + " endpoint");
    auto space = pattern.find(' ');
    if (space == std::string::npos)
      fail(key, "endpoint '" + pattern + "' must be 'METHOD /path' (e.g. 'GET /healthz')");
    e.method = pattern.substr(0, space);
    std::string path = pattern.substr(space + 1);
    if (!kMethods.count(e.method))
      fail(key, "endpoint '" + pattern + "': unknown method '" + e.method + "'");
    if (path.empty() || path[0] != '/' || path.find(' ') != std::string::npos ||
        path.find_first_of("?#") != std::string::npos)
      fail(key, "endpoint '" + pattern + "': the path must start with '/' and have no spaces, "
                "query or fragment");
    // Placeholders as the templates write them are taken as they are.
    std::string normalized;
    for (std::size_t i = 0; i < path.size();) {
      if (path.compare(i, 3, "{n}") == 0) { normalized += "0"; i += 3; }
      else if (path.compare(i, 4, "{id}") == 0) { normalized += "00000000-0000"; i += 4; }
      else if (path[i] == '{' || path[i] == '}')
        fail(key, "endpoint '" + pattern + "': only {n} and {id} placeholders are known");
      else normalized += path[i++];
    }
    e.path_template = capture::path_template(normalized);
    if (!value.IsMap()) fail(value, "endpoint '" + pattern + "' needs settings, e.g. {latency: 50ms}");
    only_keys(value, {"latency"}, "endpoint '" + pattern + "'");
    if (value["latency"]) e.latency = latency(value["latency"], "endpoint '" + pattern + "'");
    return e;
  }

  K8sSelector k8s(const YAML::Node& n, const std::string& where) const {
    K8sSelector k;
    only_keys(n, {"namespace", "container", "labels"}, where);
    if (n["namespace"]) k.namespaces = texts(n["namespace"], where + ".namespace");
    if (n["container"]) k.containers = texts(n["container"], where + ".container");
    if (const auto& labels = n["labels"]) {
      if (!labels.IsMap()) fail(labels, where + ".labels must be a mapping, e.g. {app: activator}");
      for (const auto& kv : labels)
        k.labels[text(kv.first, where + ".labels key")] = text(kv.second, where + ".labels value");
    }
    if (k.namespaces.empty() && k.containers.empty() && k.labels.empty())
      fail(n, where + " selects every pod: give namespace, container or labels");
    return k;
  }

  Match match(const YAML::Node& n, const std::string& where) const {
    Match m;
    only_keys(n, {"comm", "exe", "pid", "cgroup", "listen_port", "k8s"}, where + ".match");
    if (n["k8s"]) m.k8s = k8s(n["k8s"], where + ".match.k8s");
    if (n["comm"])
      for (auto& c : texts(n["comm"], where + ".match.comm")) {
        if (c.empty() || c.size() > 15) fail(n["comm"], where + ".match.comm '" + c + "': 1 to 15 characters");
        m.comms.push_back(c);
      }
    if (n["exe"]) m.exes = texts(n["exe"], where + ".match.exe");
    if (n["cgroup"]) m.cgroups = texts(n["cgroup"], where + ".match.cgroup");
    if (n["pid"])
      for (const auto& p : n["pid"].IsSequence() ? n["pid"] : YAML::Node(std::vector<YAML::Node>{n["pid"]}))
        m.pids.push_back(static_cast<pid_t>(count(p, where + ".match.pid", 4194304)));
    if (n["listen_port"])
      for (const auto& p : n["listen_port"].IsSequence() ? n["listen_port"]
                                                          : YAML::Node(std::vector<YAML::Node>{n["listen_port"]}))
        m.listen_ports.push_back(static_cast<std::uint16_t>(count(p, where + ".match.listen_port", 65535)));
    if (m.comms.empty() && m.exes.empty() && m.pids.empty() && m.cgroups.empty() &&
        m.listen_ports.empty() && !m.k8s)
      fail(n, where + ".match matches nothing: give comm, exe, pid, cgroup, listen_port or k8s");
    return m;
  }

  Role role(const YAML::Node& n, const std::string& where) const {
    auto r = text(n, where);
    if (r == "platform") return Role::kPlatform;
    if (r == "function") return Role::kFunction;
    if (r == "function-filtered") return Role::kFunctionFiltered;
    fail(n, where + " '" + r + "': platform, function or function-filtered");
  }

  Service service(const YAML::Node& n, std::size_t i) const {
    std::string where = "services[" + std::to_string(i) + "]";
    only_keys(n, {"name", "match", "role", "latency", "timeout", "errors_4xx", "endpoints"}, where);
    Service s;
    if (!n["name"]) fail(n, where + " needs a name");
    s.name = text(n["name"], where + ".name");
    where = "service '" + s.name + "'";
    if (!n["match"]) fail(n, where + " needs a match");
    s.match = match(n["match"], where);
    if (n["role"]) s.role = role(n["role"], where + ".role");
    if (n["latency"]) s.latency = latency(n["latency"], where);
    if (n["timeout"]) s.timeout_ns = duration(n["timeout"], where + ".timeout");
    if (n["errors_4xx"]) s.errors_4xx = flag(n["errors_4xx"], where + ".errors_4xx");
    if (n["endpoints"]) {
      if (!n["endpoints"].IsMap()) fail(n["endpoints"], where + ".endpoints must be a mapping");
      for (const auto& kv : n["endpoints"]) s.endpoints.push_back(endpoint(kv.first, kv.second, where));
    }
    return s;
  }

  Config document(const YAML::Node& root) const {
    Config c;
    if (!root || root.IsNull()) return c;  // an empty file: all defaults
    only_keys(root, {"services", "default_role", "profiler", "keep", "assembler", "export",
                     "query_values"},
              "the top level");
    if (const auto& q = root["query_values"]) {
      const auto v = text(q, "query_values");
      if (v != "redact" && v != "keep")
        fail(q, "query_values '" + v + "': redact (the default) or keep");
      c.keep_query_values = v == "keep";
    }
    if (root["default_role"]) c.default_role = role(root["default_role"], "default_role");
    if (root["services"]) {
      if (!root["services"].IsSequence()) fail(root["services"], "services must be a list");
      std::set<std::string> names;
      for (std::size_t i = 0; i < root["services"].size(); i++) {
        c.services.push_back(service(root["services"][i], i));
        if (!names.insert(c.services.back().name).second)
          fail(root["services"][i], "service '" + c.services.back().name + "' is defined twice");
      }
    }
    if (const auto& p = root["profiler"]) {
      only_keys(p, {"interval", "window", "min_samples"}, "profiler");
      if (p["interval"]) c.profiler.interval_ns = duration(p["interval"], "profiler.interval");
      if (p["window"]) c.profiler.window_ns = duration(p["window"], "profiler.window");
      if (p["min_samples"])
        c.profiler.min_samples = static_cast<std::uint32_t>(count(p["min_samples"], "profiler.min_samples", 1'000'000));
      if (c.profiler.interval_ns == 0) fail(p["interval"], "profiler.interval must be more than 0");
    }
    if (const auto& k = root["keep"]) {
      only_keys(k, {"traces", "spans_per_trace"}, "keep");
      if (k["traces"]) c.keep.traces = static_cast<std::uint32_t>(count(k["traces"], "keep.traces", 1u << 17));
      if (k["spans_per_trace"])
        c.keep.spans_per_trace = static_cast<std::uint32_t>(
            count(k["spans_per_trace"], "keep.spans_per_trace", DT_KEEP_SPANS));
    }
    if (const auto& a = root["assembler"]) {
      only_keys(a, {"wait", "max_traces", "max_spans"}, "assembler");
      if (a["wait"]) c.assembler.wait_ns = duration(a["wait"], "assembler.wait");
      if (a["max_traces"])
        c.assembler.max_traces = static_cast<std::uint32_t>(
            count(a["max_traces"], "assembler.max_traces", 1u << 22));
      if (a["max_spans"])
        c.assembler.max_spans = static_cast<std::uint32_t>(
            count(a["max_spans"], "assembler.max_spans", 1u << 24));
    }
    if (const auto& e = root["export"]) {
      if (!e.IsSequence()) fail(e, "export must be a list, e.g. [console, {otlp-json: spans.json}]");
      for (const auto& item : e) {
        if (item.IsScalar()) {
          c.exports.push_back(item.as<std::string>());
        } else if (item.IsMap() && item.size() == 1) {
          auto kv = *item.begin();
          c.exports.push_back(kv.first.as<std::string>() + ":" + text(kv.second, "export target"));
        } else {
          fail(item, "an export is a name (console) or one {kind: target} pair");
        }
      }
    }
    return c;
  }

 private:
  std::string name_;
};

}  // namespace

Config parse_config(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  try {
    return Reader(name).document(root);
  } catch (const YAML::Exception& e) {
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

std::string read_config_text(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ConfigError(path + ": cannot be read");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

Config load_config(const std::string& path) { return parse_config(read_config_text(path), path); }

}  // namespace difftrace::config
