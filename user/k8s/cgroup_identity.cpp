#include "k8s/cgroup_identity.h"

#include <fstream>
#include <sstream>
#include <vector>

namespace difftrace::k8s {
namespace {

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return !s.empty();
}

bool is_container_id(std::string_view s) { return s.size() == 64 && is_hex(s); }

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// A pod uid is a UUID (36 chars with dashes); a static pod's is a 32-hex-digit hash. Systemd
// slice names write the UUID's dashes as underscores ('-' separates slice levels there).
std::string pod_uid_of(std::string_view raw) {
  std::string uid(raw);
  for (char& c : uid)
    if (c == '_') c = '-';
  std::string hex;
  for (char c : uid)
    if (c != '-') hex += c;
  const bool uuid = uid.size() == 36 && uid[8] == '-' && uid[13] == '-' && uid[18] == '-' &&
                    uid[23] == '-';
  if (hex.size() != 32 || !is_hex(hex) || !(uuid || uid.size() == 32)) return {};
  return uid;
}

// The container id a path segment names, or empty.
std::string container_of_segment(std::string_view seg) {
  // containerd's own slice form: "kubepods-pod<uid>.slice:cri-containerd:<id>"
  if (auto colon = seg.rfind(':'); colon != std::string_view::npos) {
    auto last = seg.substr(colon + 1);
    return is_container_id(last) ? std::string(last) : std::string();
  }
  if (ends_with(seg, ".scope")) seg.remove_suffix(6);
  if (starts_with(seg, "crio-conmon-") || starts_with(seg, "libpod-conmon-")) return {};
  for (std::string_view prefix : {"cri-containerd-", "crio-", "docker-", "libpod-", "containerd-"})
    if (starts_with(seg, prefix)) {
      seg.remove_prefix(prefix.size());
      break;
    }
  return is_container_id(seg) ? std::string(seg) : std::string();
}

// The pod uid a segment names: "kubepods-besteffort-pod<uid>.slice" or cgroupfs's "pod<uid>".
std::string pod_of_segment(std::string_view seg) {
  if (auto colon = seg.find(':'); colon != std::string_view::npos) seg = seg.substr(0, colon);
  if (ends_with(seg, ".slice")) {
    seg.remove_suffix(6);
    auto at = seg.rfind("-pod");
    if (seg.find("kubepods") == std::string_view::npos || at == std::string_view::npos) return {};
    return pod_uid_of(seg.substr(at + 4));
  }
  if (starts_with(seg, "pod")) return pod_uid_of(seg.substr(3));
  return {};
}

}  // namespace

CgroupIdentity identity_of_cgroup_path(std::string_view path) {
  CgroupIdentity id;
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto seg = path.substr(0, slash);
    if (!seg.empty()) segments.push_back(seg);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
    if (id.container_id.empty()) id.container_id = container_of_segment(*it);
    if (id.pod_uid.empty()) id.pod_uid = pod_of_segment(*it);
    if (!id.container_id.empty() && !id.pod_uid.empty()) break;
  }
  return id;
}

CgroupIdentity identity_of_proc_cgroup(std::string_view text) {
  std::vector<std::string_view> v2, v1;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto first = line.find(':');
    auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    auto path = line.substr(second + 1);
    (starts_with(line, "0::") ? v2 : v1).push_back(path);
  }
  CgroupIdentity id;
  for (const auto* lines : {&v2, &v1})
    for (auto path : *lines) {
      auto found = identity_of_cgroup_path(path);
      if (id.container_id.empty()) id.container_id = found.container_id;
      if (id.pod_uid.empty()) id.pod_uid = found.pod_uid;
    }
  return id;
}

std::optional<CgroupIdentity> read_cgroup_identity(pid_t pid, const std::string& proc_root) {
  std::ifstream f(proc_root + "/" + std::to_string(pid) + "/cgroup");
  if (!f) return std::nullopt;
  std::stringstream s;
  s << f.rdbuf();
  if (f.bad()) return std::nullopt;
  return identity_of_proc_cgroup(s.str());
}

}  // namespace difftrace::k8s
