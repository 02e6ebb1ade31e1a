"""deploy/: the kustomize base renders (`kubectl kustomize deploy/`, Debian's kubernetes-client)
into the objects a node agent needs, with the fields that matter checked: RBAC that only reads
pods and replicasets, a DaemonSet with hostPID, the capability set docs/deploy.md explains (no
privileged), the seccomp profile that allows bpf and perf_event_open, the mounts, NODE_NAME
from the downward API, probes on /healthz and /readyz at 9464, a memory limit, the metrics
Service, and the ConfigMap holding deploy/knative.yaml as the agent's config. No cluster needed.
"""
import json
import os
import shutil
import subprocess

import pytest
import yaml

import capture_helpers as ch

DEPLOY = os.path.join(ch.REPO, "deploy")


@pytest.fixture(scope="module")
def objects():
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.fail("kubectl is missing: scripts/install-deps.sh installs kubernetes-client",
                    pytrace=False)
    out = subprocess.run([kubectl, "kustomize", DEPLOY], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def test_the_objects_and_their_namespace(objects):
    assert sorted(objects) == sorted([
        ("Namespace", "difftrace"), ("ServiceAccount", "difftrace"), ("ClusterRole", "difftrace"),
        ("ClusterRoleBinding", "difftrace"), ("ConfigMap", "difftrace-config"),
        ("DaemonSet", "difftrace-agent"), ("Service", "difftrace-metrics")])
    for (kind, name), o in objects.items():
        if kind not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert o["metadata"]["namespace"] == "difftrace", (kind, name)


def test_rbac_reads_pods_and_replicasets_only(objects):
    rules = objects[("ClusterRole", "difftrace")]["rules"]
    granted = {(g, r, v) for rule in rules for g in rule["apiGroups"]
               for r in rule["resources"] for v in rule["verbs"]}
    assert granted == {(g, r, v) for g, r in (("", "pods"), ("apps", "replicasets"))
                       for v in ("get", "list", "watch")}
    binding = objects[("ClusterRoleBinding", "difftrace")]
    assert binding["roleRef"]["name"] == "difftrace"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "difftrace", "namespace": "difftrace"}]


def agent_of(objects):
    ds = objects[("DaemonSet", "difftrace-agent")]
    pod = ds["spec"]["template"]["spec"]
    (agent,) = pod["containers"]
    return ds, pod, agent


def test_daemonset_least_privilege(objects):
    ds, pod, agent = agent_of(objects)
    assert pod["hostPID"] is True
    assert pod["serviceAccountName"] == "difftrace"
    sc = agent["securityContext"]
    assert not sc.get("privileged")
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert set(sc["capabilities"]["add"]) == {"BPF", "PERFMON", "SYS_PTRACE", "SYS_RESOURCE"}
    assert "SYS_ADMIN" not in sc["capabilities"]["add"]
    assert sc["seccompProfile"] == {"type": "Localhost", "localhostProfile": "difftrace.json"}
    # The selector picks the template's pods.
    labels = ds["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in ds["spec"]["selector"]["matchLabels"].items())


def test_daemonset_mounts_env_probes_limits(objects):
    _, pod, agent = agent_of(objects)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in agent["volumeMounts"]}
    for path, host in (("/sys/kernel/tracing", "/sys/kernel/tracing"), ("/sys/fs/bpf", "/sys/fs/bpf"),
                       ("/sys/fs/cgroup", "/sys/fs/cgroup")):
        assert volumes[mounts[path]["name"]]["hostPath"]["path"] == host, path
    assert mounts["/sys/fs/cgroup"]["readOnly"] is True
    assert volumes[mounts["/etc/difftrace"]["name"]]["configMap"]["name"] == "difftrace-config"
    env = {e["name"]: e for e in agent["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert agent["args"][0] == "agent"
    assert "--config=/etc/difftrace/difftrace.yaml" in agent["args"]
    assert "--listen=0.0.0.0:9464" in agent["args"] and "--k8s" in agent["args"]
    ports = {p["name"]: p["containerPort"] for p in agent["ports"]}
    assert ports == {"metrics": 9464}
    assert agent["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert agent["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert agent["resources"]["limits"]["memory"].endswith("Mi")
    assert agent["resources"]["requests"]["memory"].endswith("Mi")
    assert agent["image"].startswith("localhost/difftrace")


def test_metrics_service_and_config(objects):
    svc = objects[("Service", "difftrace-metrics")]
    _, _, agent = agent_of(objects)
    ds_labels = objects[("DaemonSet", "difftrace-agent")]["spec"]["template"]["metadata"]["labels"]
    assert all(ds_labels.get(k) == v for k, v in svc["spec"]["selector"].items())
    assert svc["spec"]["ports"] == [{"name": "metrics", "port": 9464, "targetPort": "metrics"}]
    cm = objects[("ConfigMap", "difftrace-config")]
    with open(os.path.join(DEPLOY, "knative.yaml")) as f:
        assert cm["data"]["difftrace.yaml"] == f.read()


def test_seccomp_profile_allows_bpf_and_perf_event_open_only_beyond_the_default():
    with open(os.path.join(DEPLOY, "seccomp", "difftrace.json")) as f:
        profile = json.load(f)
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    unconditional = set()
    for rule in profile["syscalls"]:
        if rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("includes") and not rule.get("args"):
            unconditional.update(rule["names"])
        if rule["action"] != "SCMP_ACT_ALLOW":
            assert "bpf" not in rule["names"] and "perf_event_open" not in rule["names"]
    assert {"bpf", "perf_event_open"} <= unconditional
    # What the runtime default denies stays denied (it gates mount, setns and the like on
    # capabilities the agent does not have).
    for dangerous in ("kexec_load", "init_module", "finit_module", "delete_module", "swapon",
                      "open_by_handle_at", "add_key", "iopl", "ioperm", "acct", "settimeofday"):
        assert dangerous not in unconditional, dangerous
