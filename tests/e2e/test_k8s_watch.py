"""difftrace's Kubernetes API client (`difftrace k8s-pods`, the code `trace --k8s` and the agent
use) against k8s_api_server.FakeApiServer, a local server speaking the API's list/watch protocol
(no control plane runs here): list then watch of this node's pods with the bearer token, pods as
a cluster returns them (tests/fixtures/k8s), lists in pages (continue tokens), the owner via
the ReplicaSet, ADDED / MODIFIED /
DELETED events, resuming from the last resourceVersion (bookmarks included) when a watch ends,
410 Gone -> a new list, and the API server going away and coming back. No root, no BPF.
"""
import copy
import json
import os
import queue
import subprocess
import threading

import pytest

import capture_helpers as ch
from k8s_api_server import FakeApiServer

FIXTURES = os.path.join(ch.REPO, "tests", "fixtures", "k8s")
TOKEN = "eyJhbGciOiJSUzI1NiJ9.test-token"


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def pod_like(base, name, uid, container_id, node="node-1"):
    p = copy.deepcopy(base)
    p["metadata"]["name"], p["metadata"]["uid"] = name, uid
    p["spec"]["nodeName"] = node
    for cs in p["status"]["containerStatuses"]:
        cs["containerID"] = "containerd://" + container_id if container_id else None
    return p


def cid(n):
    return ("%02x" % n) * 32


class PodsProcess:
    """`difftrace k8s-pods`, its JSON lines read as they come."""

    def __init__(self, workdir, url, token_file, node="node-1"):
        if not os.access(ch.TRACER_BIN, os.X_OK):
            pytest.fail("%s is missing: run `make` first" % ch.TRACER_BIN, pytrace=False)
        self.err_path = os.path.join(workdir, "k8s-pods.stderr")
        self.proc = subprocess.Popen(
            [ch.TRACER_BIN, "k8s-pods", "--k8s-api", url, "--k8s-token-file", token_file,
             "--node-name", node], stdout=subprocess.PIPE, stderr=open(self.err_path, "wb"),
            text=True)
        self.last = None
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def wait(self, pred, what, timeout=20):
        def ready():
            while not self.lines.empty():
                self.last = self.lines.get()
            return self.last is not None and pred(self.last)
        ch.wait_for(ready, timeout, what, self.proc,
                    lambda: "last: %s\nstderr: %s" % (json.dumps(self.last), ch.tail(self.err_path)))
        return self.last

    def stop(self):
        self.proc.terminate()
        return self.proc.wait(10)


def names(state):
    return sorted(p["name"] for p in state["pods"])


@pytest.fixture
def api(tmp_path):
    server = FakeApiServer(TOKEN, page_cap=1).start()  # lists come in pages of one pod
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    yield server, str(token_file)
    if server.httpd is not None:
        server.stop()


def test_list_watch_owner_resume_gone_and_restart(api, tmp_path):
    server, token_file = api
    activator, proxy = fixture("pod-activator.json"), fixture("pod-kube-proxy.json")
    server.put_replicaset(fixture("replicaset-activator.json"))
    server.put_pod(activator)
    server.put_pod(proxy)
    server.put_pod(pod_like(activator, "activator-7d8b9c6f5d-other", "11111111-2222-4333-8444-555555555555",
                            cid(9), node="node-2"))
    pods = PodsProcess(str(tmp_path), server.url, token_file)
    try:
        # The list: this node's pods only, with the token, owners resolved.
        st = pods.wait(lambda s: names(s) == ["activator-7d8b9c6f5d-x2x9k", "kube-proxy-8k2lq"],
                       "the listed pods of node-1")
        by = {p["name"]: p for p in st["pods"]}
        a = by["activator-7d8b9c6f5d-x2x9k"]
        assert a["namespace"] == "knative-serving" and a["node"] == "node-1"
        assert a["uid"] == "6d1b2f1c-5d3e-4a8f-9b3c-0f1e2d3c4b5a"
        assert a["labels"]["app"] == "activator"
        assert a["containers"] == [{"name": "activator", "id": "3f1c2b7e9d0a4c8b6e5f1a2d3c4b5a69788776655443322110ffeeddccbbaa99"}]
        assert a["owner"] == {"kind": "ReplicaSet", "name": "activator-7d8b9c6f5d"}
        assert a["workload"] == {"kind": "deployment", "name": "activator"}
        assert by["kube-proxy-8k2lq"]["workload"] == {"kind": "daemonset", "name": "kube-proxy"}
        lists = server.list_requests()
        assert lists and lists[0]["fieldSelector"] == "spec.nodeName=node-1"
        assert [bool(q.get("continue")) for q in lists] == [False, True]  # two pages
        assert all(a == "Bearer " + TOKEN for _, _, a in server.requests)
        # The watch starts from the list's version, with bookmarks.
        listed_rv = st["watch"]["resource_version"]
        w = pods.wait(lambda s: server.watch_requests(), "a watch request") and server.watch_requests()[0]
        assert w["resourceVersion"] == listed_rv and w["allowWatchBookmarks"] == "true"

        # ADDED without a container id yet (starting), MODIFIED with one, DELETED.
        new = pod_like(activator, "activator-7d8b9c6f5d-n3w", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", None)
        server.put_pod(new)
        pods.wait(lambda s: "activator-7d8b9c6f5d-n3w" in names(s), "the ADDED pod")
        new = pod_like(activator, "activator-7d8b9c6f5d-n3w", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", cid(7))
        server.put_pod(new)
        pods.wait(lambda s: any(c["id"] == cid(7) for p in s["pods"] for c in p["containers"]),
                  "the MODIFIED pod's container id")
        server.delete_pod(proxy["metadata"]["uid"])
        pods.wait(lambda s: "kube-proxy-8k2lq" not in names(s), "the DELETED pod gone")

        # A bookmark moves the version on; the next watch resumes from it, no new list.
        rv = server.bookmark()
        pods.wait(lambda s: s["watch"]["bookmarks"] >= 1 and s["watch"]["resource_version"] == rv,
                  "the bookmark's version")
        n_watches, n_lists = len(server.watch_requests()), len(server.list_requests())
        server.end_watches()
        pods.wait(lambda s: len(server.watch_requests()) > n_watches, "a new watch after the end")
        assert server.watch_requests()[-1]["resourceVersion"] == rv
        assert len(server.list_requests()) == n_lists

        # 410 Gone: the history is compacted while the client is behind -> a new list.
        server.stop()
        server.put_pod(pod_like(activator, "activator-7d8b9c6f5d-late", "cccccccc-bbbb-4ccc-8ddd-eeeeeeeeeeee", cid(8)))
        server.compact()
        pods.wait(lambda s: s["watch"]["errors"] >= 1 and not s["watch"]["synced"],
                  "the client noticing the API server away")
        assert "activator-7d8b9c6f5d-n3w" in names(pods.last)  # what it had, kept
        server.start()
        st = pods.wait(lambda s: "activator-7d8b9c6f5d-late" in names(s) and s["watch"]["synced"],
                       "the state after 410 and a relist")
        assert st["watch"]["gone"] >= 1
        assert [bool(q.get("continue")) for q in server.list_requests()[n_lists:]] == [False, True, True]

        # Away and back without compaction: the watch resumes from its version, no new list.
        n_lists = len(server.list_requests())
        server.stop()
        server.delete_pod("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
        errors = pods.last["watch"]["errors"]
        pods.wait(lambda s: s["watch"]["errors"] > errors, "a failed reconnect while away")
        server.start()
        pods.wait(lambda s: "activator-7d8b9c6f5d-n3w" not in names(s) and s["watch"]["synced"],
                  "the event missed while away, from the resumed watch")
        assert len(server.list_requests()) == n_lists
    finally:
        assert pods.stop() == 0


def test_wrong_token_is_refused_and_counted(api, tmp_path):
    server, _ = api
    server.put_pod(fixture("pod-kube-proxy.json"))
    bad = tmp_path / "bad-token"
    bad.write_text("not-the-token")
    pods = PodsProcess(str(tmp_path), server.url, str(bad))
    try:
        st = pods.wait(lambda s: s["watch"]["errors"] >= 2, "refused lists")
        assert st["pods"] == [] and not st["watch"]["synced"]
        assert "HTTP 401" in open(pods.err_path).read()
    finally:
        assert pods.stop() == 0
