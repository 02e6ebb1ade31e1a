// Which container, and which Kubernetes pod, a process runs in, read from its cgroup path
// (/proc/PID/cgroup) as the runtimes name them:
//   containerd  .../kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope (systemd)
//               /kubepods/burstable/pod<uid>/<id> (cgroupfs)
//               .../kubepods-pod<uid>.slice:cri-containerd:<id> (containerd's own slices)
//               .../kubelet-kubepods-...-pod<uid>.slice/... (kind, inside a Docker container)
//   CRI-O       .../crio-<id>.scope
//   Docker      /system.slice/docker-<id>.scope, /docker/<id>
//   podman      /machine.slice/libpod-<id>.scope, /libpod_parent/libpod-<id>
// On cgroup v2 the `0::` line names it; on hybrid hosts a v1 controller's line may be the one
// that does, so every line is looked at, the v2 line first. The innermost id wins (kind nests
// a node's containers inside a Docker container). Conmon's scopes (crio-conmon-, libpod-conmon-)
// are the runtime's monitor, not a container.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace difftrace::k8s {

struct CgroupIdentity {
  std::string container_id;  // 64 lowercase hex digits, empty when not in a container
  std::string pod_uid;       // with dashes, as the API writes metadata.uid; empty when none

  bool empty() const { return container_id.empty() && pod_uid.empty(); }
  bool operator==(const CgroupIdentity&) const = default;
};

// From one cgroup path ("/kubepods.slice/...").
CgroupIdentity identity_of_cgroup_path(std::string_view path);
// From the whole text of /proc/PID/cgroup ("0::/path\n" and v1's "N:controllers:/path" lines).
CgroupIdentity identity_of_proc_cgroup(std::string_view text);
// Reads /proc/PID/cgroup; nullopt when the process is gone or the file cannot be read.
std::optional<CgroupIdentity> read_cgroup_identity(pid_t pid, const std::string& proc_root = "/proc");

}  // namespace difftrace::k8s
