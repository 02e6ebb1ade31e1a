"""The container image (scripts/image/build.sh, deploy/Containerfile) run the way the DaemonSet
runs it, in podman (`trace`, and `agent` with /metrics, /healthz, /readyz): host PID namespace, every capability dropped but CAP_BPF, CAP_PERFMON and
CAP_SYS_PTRACE, the seccomp profile deploy/seccomp/difftrace.json, tracefs and cgroupfs
mounted. An HTTP server (the demo platform's Go fn-work) runs in another podman container; the
tracer's spans of it must carry that container's container.id (podman's full id, read from
/proc/PID/cgroup's /libpod_parent/libpod-<id>). Also: with the runtime's default seccomp
profile the same capabilities are refused (the profile is needed), and privileged works.

Root, podman (runc), mmdebstrap and Go required. Slowish: the first run builds the base image
with mmdebstrap (about 30 s); later runs reuse it. Marked `container`.
"""
import json
import os
import subprocess
import time

import pytest

import capture_helpers as ch
from k8s_api_server import FakeApiServer
from test_k8s_watch import TOKEN, fixture, pod_like

pytestmark = pytest.mark.container

PODMAN = ["podman", "--runtime", "runc"]
# The host's hard limits are below podman's default ulimits.
ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"]
IMAGE = "localhost/difftrace:latest"
CAPS = ["--cap-drop=all", "--cap-add=BPF,PERFMON,SYS_PTRACE"]
SECCOMP = os.path.join(ch.REPO, "deploy", "seccomp", "difftrace.json")


def run(cmd, timeout=300, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-2000:],
                                                   p.stderr[-2000:]))
    return p


BASE = None  # the base image build.sh made (its tag names its package list)


@pytest.fixture(scope="module")
def image():
    global BASE
    if os.geteuid() != 0:
        pytest.fail("the container test needs root (rootful podman, BPF)", pytrace=False)
    out = run([os.path.join(ch.REPO, "scripts", "image", "build.sh")], timeout=600).stdout
    BASE = out.strip().splitlines()[-1].rsplit(" on ", 1)[1]
    return IMAGE


def alive(name):
    """A wait_for diag helper's companion: fails at once when the container has exited."""
    state = run(PODMAN + ["inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", name],
                check=False).stdout.split()
    if state and state[0] == "false":
        raise AssertionError("container %s exited (%s):\n%s" % (
            name, state[1], run(PODMAN + ["logs", name], check=False).stderr[-3000:]))
    return True


@pytest.fixture(scope="module")
def fn_work():
    run(["bash", "-c", "source scripts/platform/common.sh && platform_build"], timeout=600)
    return os.path.join(ch.REPO, "build", "platform", "fn-work")


class Containers:
    def __init__(self, tag):
        self.names = []
        self.tag = tag

    def start(self, name, args):
        name = "dt-test-%s-%s" % (self.tag, name)
        run(PODMAN + ["rm", "-f", name], check=False)
        run(PODMAN + ["run", "-d", "--name", name] + ULIMITS + args)
        self.names.append(name)
        return name

    def inspect(self, name, fmt):
        return run(PODMAN + ["inspect", "--format", fmt, name]).stdout.strip()

    def remove_all(self):
        for name in self.names:
            run(PODMAN + ["rm", "-f", "-t", "2", name], check=False)


@pytest.fixture
def containers(request):
    c = Containers(str(os.getpid()))
    yield c
    c.remove_all()


def start_server(containers, fn_work):
    port = ch.free_port()
    name = containers.start("server", ["--network", "host", "-v", fn_work + ":/usr/local/bin/fn-work:ro",
                                       BASE, "/usr/local/bin/fn-work", "--listen", "127.0.0.1:%d" % port])
    ch.wait_for(lambda: ch.can_connect(port), 20, "the server container listening")
    return name, port


def tracer_args(image, outdir, security, extra=()):
    return (["--pid=host", "--network", "host", "--security-opt", "no-new-privileges"] + security +
            ["-v", "/sys/kernel/tracing:/sys/kernel/tracing", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro",
             "-v", "%s:/out" % outdir, image, "trace", "--comm", "fn-work", "--no-filter",
             "--export", "otlp-json:/out/spans.json", "--ready-file", "/out/ready",
             "--stats-json", "/out/stats.json"] + list(extra))


def register_as_pod(api, containers, server, outdir):
    """Makes the server container the activator pod's container in the local API (its
    ReplicaSet too) and writes the API token to outdir/token; returns the container's id."""
    server_id = containers.inspect(server, "{{.Id}}")
    api.put_replicaset(fixture("replicaset-activator.json"))
    api.put_pod(pod_like(fixture("pod-activator.json"), "activator-7d8b9c6f5d-x2x9k",
                         "6d1b2f1c-5d3e-4a8f-9b3c-0f1e2d3c4b5a", server_id))
    with open(os.path.join(outdir, "token"), "w") as f:
        f.write(TOKEN)
    return server_id


def trace_server(containers, image, fn_work, outdir, security, api=None):
    """Runs the tracer container on the server container; returns (server id, spans, stats).
    With api (a FakeApiServer), the server container is a pod's container there, and the
    tracer names spans by pod (--k8s)."""
    server, port = start_server(containers, fn_work)
    extra = []
    if api is not None:
        register_as_pod(api, containers, server, outdir)
        extra = ["--k8s", "--k8s-api", api.url, "--k8s-token-file", "/out/token",
                 "--node-name", "node-1"]
    tracer = containers.start("tracer", tracer_args(image, outdir, security, extra))
    ch.wait_for(lambda: alive(tracer) and os.path.exists(os.path.join(outdir, "ready")), 60,
                "the tracer ready",
                diag=lambda: run(PODMAN + ["logs", tracer], check=False).stderr[-2000:])
    if api is not None:  # the pods listed (the watch follows the list)
        ch.wait_for(api.watch_requests, 30, "the tracer's pod watch")
    paths = ["/fn-work/cpu?iters=%d" % i for i in range(1, 6)]
    for p in paths:
        out = subprocess.run(["curl", "-sf", "http://127.0.0.1:%d%s" % (port, p)], capture_output=True)
        assert out.returncode == 0, p
    rss_kb = tracer_rss_kb(containers, tracer)
    run(PODMAN + ["kill", "--signal", "INT", tracer])
    assert run(PODMAN + ["wait", tracer], timeout=60).stdout.strip() == "0", \
        run(PODMAN + ["logs", tracer], check=False).stderr[-2000:]
    with open(os.path.join(outdir, "stats.json")) as f:
        stats = json.load(f)
    print("tracer RSS in the container: %d KiB" % rss_kb)
    return containers.inspect(server, "{{.Id}}"), ch.load_spans(os.path.join(outdir, "spans.json")), stats


def tracer_rss_kb(containers, tracer):
    pid = containers.inspect(tracer, "{{.State.Pid}}")
    with open("/proc/%s/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def test_capabilities_and_seccomp_profile_give_spans_with_container_id(image, fn_work, containers, outdir):
    server_id, spans, stats = trace_server(containers, image, fn_work, outdir,
                                           CAPS + ["--security-opt", "seccomp=" + SECCOMP])
    assert len(server_id) == 64
    fn = [s for s in spans if s["path"] and s["path"].startswith("/fn-work/cpu")]
    assert len(fn) == 5, [s["path"] for s in spans]
    for s in fn:
        assert s["resource"].get("container.id") == server_id, s["resource"]
        assert "k8s.pod.name" not in s["resource"]  # no --k8s
        assert s["kind"] == ch.SERVER and s["status"] == 200
    assert stats["spans_seen"] >= 5


def test_spans_named_by_pod_from_the_api(image, fn_work, containers, outdir):
    """The server container as a pod's container in the (local) API: --k8s names its spans."""
    api = FakeApiServer(TOKEN).start()
    try:
        server_id, spans, stats = trace_server(containers, image, fn_work, outdir,
                                               CAPS + ["--security-opt", "seccomp=" + SECCOMP], api)
    finally:
        api.stop()
    fn = [s for s in spans if s["path"] and s["path"].startswith("/fn-work/cpu")]
    assert len(fn) == 5, [s["path"] for s in spans]
    want = {"container.id": server_id, "k8s.namespace.name": "knative-serving",
            "k8s.pod.name": "activator-7d8b9c6f5d-x2x9k",
            "k8s.pod.uid": "6d1b2f1c-5d3e-4a8f-9b3c-0f1e2d3c4b5a", "k8s.container.name": "activator",
            "k8s.node.name": "node-1", "k8s.replicaset.name": "activator-7d8b9c6f5d",
            "k8s.deployment.name": "activator"}
    for s in fn:
        assert {k: s["resource"].get(k) for k in want} == want, s["resource"]
    assert stats["k8s_spans_named"] >= 5


def test_the_default_seccomp_profile_refuses_bpf_without_sys_admin(image, containers, outdir):
    name = containers.start("refused", tracer_args(image, outdir, CAPS))
    code = run(PODMAN + ["wait", name], timeout=60).stdout.strip()
    logs = run(PODMAN + ["logs", name], check=False).stderr
    assert code == "1", logs  # the environment's exit code, with the failing step named
    assert "Operation not permitted" in logs or "EPERM" in logs or "permission" in logs.lower(), logs
    assert not os.path.exists(os.path.join(outdir, "ready"))


def test_privileged_fallback(image, fn_work, containers, outdir):
    server_id, spans, _ = trace_server(containers, image, fn_work, outdir, ["--privileged"])
    fn = [s for s in spans if s["path"] and s["path"].startswith("/fn-work/cpu")]
    assert len(fn) == 5 and all(s["resource"].get("container.id") == server_id for s in fn)


def agent_config(out_dir_in_container):
    return ("services:\n"
            "  - name: activator-by-pod\n"
            "    match: {k8s: {namespace: knative-serving, container: activator}}\n"
            "    role: function\n"
            "profiler: {interval: 500ms}\n"
            "export: [{otlp-json: %s/spans.json}]\n" % out_dir_in_container)


def http_get(port, path):
    out = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True, timeout=10)
    body, _, code = out.stdout.rpartition("\n")
    return int(code or 0), body


def test_agent_in_the_image(image, fn_work, containers, outdir):
    """`difftrace agent` as the DaemonSet runs it (capabilities, seccomp profile, --k8s): the
    server container, a pod's container in the local API, is matched by the config's k8s
    selector (its spans carry that service's name), its spans carry container.id and k8s.*,
    /metrics counts them, /healthz and /readyz answer."""
    api = FakeApiServer(TOKEN).start()
    try:
        server, port = start_server(containers, fn_work)
        server_id = register_as_pod(api, containers, server, outdir)
        with open(os.path.join(outdir, "difftrace.yaml"), "w") as f:
            f.write(agent_config("/out"))
        listen = ch.free_port()
        agent = containers.start("agent", [
            "--pid=host", "--network", "host", "--security-opt", "no-new-privileges"] + CAPS +
            ["--security-opt", "seccomp=" + SECCOMP,
             "-v", "/sys/kernel/tracing:/sys/kernel/tracing", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro",
             "-v", "%s:/out" % outdir, image, "agent", "--config=/out/difftrace.yaml",
             "--listen=127.0.0.1:%d" % listen, "--ready-file=/out/ready", "--k8s",
             "--k8s-api", api.url, "--k8s-token-file", "/out/token", "--node-name", "node-1"])
        logs = lambda: run(PODMAN + ["logs", agent], check=False).stderr[-3000:]
        ch.wait_for(lambda: alive(agent) and os.path.exists(os.path.join(outdir, "ready")), 60,
                    "the agent ready", diag=logs)
        assert http_get(listen, "/healthz") == (200, "ok\n")
        ch.wait_for(lambda: http_get(listen, "/readyz")[0] == 200, 30, "/readyz 200", diag=logs)

        # The service follows the pod: once a rescan has seen it, spans carry its name.
        spans_file = os.path.join(outdir, "spans.json")

        complete = os.path.join(outdir, "complete.json")

        def named_spans():
            subprocess.run(["curl", "-sf", "http://127.0.0.1:%d/fn-work/cpu?iters=5" % port],
                           capture_output=True)
            if not os.path.exists(spans_file):
                return []
            with open(spans_file) as f, open(complete, "w") as out:  # lines written whole so far
                out.writelines(l for l in f if l.endswith("\n"))
            return [s for s in ch.load_spans(complete) if s["service"] == "activator-by-pod"]
        spans = ch.wait_for(named_spans, 60, "spans of the service the k8s selector names", diag=logs)
        for s in spans:
            assert s["resource"].get("container.id") == server_id
            assert s["resource"].get("k8s.pod.name") == "activator-7d8b9c6f5d-x2x9k"
            assert s["resource"].get("k8s.deployment.name") == "activator"
        code, metrics = http_get(listen, "/metrics")
        assert code == 200
        seen = [l for l in metrics.splitlines() if l.startswith("difftrace_spans_seen_total")]
        assert seen and float(seen[0].split()[-1]) >= len(spans), metrics[:2000]
        named = [l for l in metrics.splitlines() if l.startswith("difftrace_k8s_spans_named_total")]
        assert named and float(named[0].split()[-1]) >= 1, metrics[:2000]
        run(PODMAN + ["kill", "--signal", "TERM", agent])
        assert run(PODMAN + ["wait", agent], timeout=60).stdout.strip() == "0", logs()
    finally:
        api.stop()
