// container.id and the pod uid from /proc/PID/cgroup, table-driven over paths shaped as each
// runtime writes them (systemd and cgroupfs drivers, cgroup v2 and hybrid v1+v2 hosts).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <string>

#include "k8s/cgroup_identity.h"

using difftrace::k8s::CgroupIdentity;
using difftrace::k8s::identity_of_proc_cgroup;

namespace {

const std::string kId = "3f1c2b7e9d0a4c8b6e5f1a2d3c4b5a69788776655443322110ffeeddccbbaa99";
const std::string kOuter = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const std::string kUid = "6d1b2f1c-5d3e-4a8f-9b3c-0f1e2d3c4b5a";
const std::string kUidSlice = "6d1b2f1c_5d3e_4a8f_9b3c_0f1e2d3c4b5a";
const std::string kStaticUid = "0f3b5e1c2d4a6b8c9d0e1f2a3b4c5d6e";

struct Case {
  const char* what;
  std::string proc_cgroup;
  CgroupIdentity want;
};

}  // namespace

TEST_CASE("container id and pod uid from /proc/PID/cgroup, per runtime", "[k8s][cgroup]") {
  const Case cases[] = {
      {"containerd, systemd driver, burstable",
       "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSlice +
           ".slice/cri-containerd-" + kId + ".scope\n",
       {kId, kUid}},
      {"containerd, systemd driver, guaranteed",
       "0::/kubepods.slice/kubepods-pod" + kUidSlice + ".slice/cri-containerd-" + kId + ".scope\n",
       {kId, kUid}},
      {"containerd, cgroupfs driver, v1 lines",
       "12:memory:/kubepods/besteffort/pod" + kUid + "/" + kId + "\n11:cpu,cpuacct:/kubepods/besteffort/pod" +
           kUid + "/" + kId + "\n0::/\n",
       {kId, kUid}},
      {"containerd's own slice form (no systemd cgroup driver)",
       "0::/system.slice/containerd.service/kubepods-burstable-pod" + kUidSlice +
           ".slice:cri-containerd:" + kId + "\n",
       {kId, kUid}},
      {"CRI-O", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidSlice +
                    ".slice/crio-" + kId + ".scope\n",
       {kId, kUid}},
      {"CRI-O's conmon is the pod's, not a container",
       "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidSlice +
           ".slice/crio-conmon-" + kId + ".scope\n",
       {"", kUid}},
      {"static pod (uid is a hash)",
       "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kStaticUid +
           ".slice/cri-containerd-" + kId + ".scope\n",
       {kId, kStaticUid}},
      {"kind: a node inside a Docker container, the innermost id wins",
       "0::/system.slice/docker-" + kOuter + ".scope/kubelet.slice/kubelet-kubepods.slice/"
           "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + kUidSlice +
           ".slice/cri-containerd-" + kId + ".scope\n",
       {kId, kUid}},
      {"read from inside the agent's own cgroup namespace (paths relative to its root)",
       "0::/../../kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidSlice +
           ".slice/cri-containerd-" + kId + ".scope\n",
       {kId, kUid}},
      {"Docker, systemd driver", "0::/system.slice/docker-" + kId + ".scope\n", {kId, ""}},
      {"Docker, cgroupfs driver on a hybrid host (v2 line is the root)",
       "12:pids:/docker/" + kId + "\n4:memory:/docker/" + kId + "\n0::/\n", {kId, ""}},
      {"podman, systemd", "0::/machine.slice/libpod-" + kId + ".scope\n", {kId, ""}},
      {"podman, systemd-mode container's own subgroup",
       "0::/machine.slice/libpod-" + kId + ".scope/container\n", {kId, ""}},
      {"podman rootless",
       "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId + ".scope\n",
       {kId, ""}},
      {"podman, cgroupfs (this host's hybrid shape)",
       "9:name=systemd:/\n4:memory:/\n0::/libpod_parent/libpod-" + kId + "\n", {kId, ""}},
      {"podman's conmon", "0::/machine.slice/libpod-conmon-" + kId + ".scope\n", {"", ""}},
      {"a host service", "0::/system.slice/sshd.service\n", {"", ""}},
      {"a login session", "0::/user.slice/user-0.slice/session-3.scope\n", {"", ""}},
      {"the root cgroup", "0::/\n", {"", ""}},
      {"a 32-hex-digit name is no container id",
       "4:memory:/process_api/9021d9fb525f38486a3faf96ec2c6f37\n0::/\n", {"", ""}},
      {"an id with upper case is not one the runtimes write",
       "0::/system.slice/docker-3F1C2B7E9D0A4C8B6E5F1A2D3C4B5A69788776655443322110FFEEDDCCBBAA99.scope\n",
       {"", ""}},
      {"a malformed uid is no pod", "0::/kubepods.slice/kubepods-podnot_a_uid.slice\n", {"", ""}},
      {"no lines at all", "", {"", ""}},
      {"garbage lines", "what\n::\n0:\n", {"", ""}},
  };
  for (const auto& c : cases) {
    INFO(c.what << "\n" << c.proc_cgroup);
    auto got = identity_of_proc_cgroup(c.proc_cgroup);
    CHECK(got.container_id == c.want.container_id);
    CHECK(got.pod_uid == c.want.pod_uid);
  }
}

TEST_CASE("the v2 line is read before v1 lines", "[k8s][cgroup]") {
  auto got = identity_of_proc_cgroup("4:memory:/docker/" + kOuter + "\n0::/system.slice/docker-" + kId +
                                     ".scope\n");
  CHECK(got.container_id == kId);
}

TEST_CASE("this process's own /proc/PID/cgroup reads, a gone pid does not", "[k8s][cgroup]") {
  CHECK(difftrace::k8s::read_cgroup_identity(getpid()).has_value());
  CHECK_FALSE(difftrace::k8s::read_cgroup_identity(getpid(), "/nonexistent").has_value());
}
