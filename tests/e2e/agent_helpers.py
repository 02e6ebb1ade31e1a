"""Helpers for the agent's end-to-end tests (tests/e2e/test_agent.py): `difftrace agent` as a
subprocess, its HTTP endpoint, its BPF links, config files laid out as a Kubernetes ConfigMap
volume, and a real Prometheus that scrapes it and is queried through its HTTP API."""
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

import capture_helpers as ch


def http_get(port, path, timeout=5):
    """(status, body) of GET http://127.0.0.1:PORT/PATH; a refused connection is (0, why)."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                    timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError) as e:
        return 0, str(e)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{(name, frozenset(labels)): value} of a Prometheus text page."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


class Agent(ch.Tracer):
    """`difftrace agent --config FILE --listen 127.0.0.1:PORT` with a ready file and stats;
    the spans go where the config's export says."""

    def __init__(self, procs, workdir, config, name="agent"):
        super().__init__(procs, workdir, [], name=name)
        self.config = config
        self.port = ch.free_port()
        self.cmd = [ch.TRACER_BIN, "agent", "--config", config,
                    "--listen", "127.0.0.1:%d" % self.port,
                    "--ready-file", self.ready, "--stats-json", self.stats_path]

    def get(self, path):
        return http_get(self.port, path)

    def metrics(self):
        status, body = self.get("/metrics")
        assert status == 200, "/metrics: %s %s\n%s" % (status, body, self.diag())
        return parse_metrics(body)

    def metric(self, name, **labels):
        return self.metrics().get((name, frozenset(labels.items())))

    def wait_metric(self, name, want, timeout=15, **labels):
        """Waits until the sample equals want (a reload's count, say): a synchronisation
        point, not a timed assertion."""
        ch.wait_for(lambda: self.metric(name, **labels) == want, timeout,
                    "%s%s == %s" % (name, labels, want), self.proc,
                    lambda: "last: %s\n%s" % (self.metric(name, **labels), self.diag()))

    def link_ids(self):
        """The ids of the BPF links the agent holds, from /proc/PID/fdinfo."""
        ids = set()
        fdinfo = "/proc/%d/fdinfo" % self.pid
        for fd in os.listdir(fdinfo):
            try:
                with open(os.path.join(fdinfo, fd)) as f:
                    m = re.search(r"^link_id:\s*(\d+)$", f.read(), re.M)
            except OSError:
                continue
            if m:
                ids.add(int(m.group(1)))
        return ids


class ConfigMapDir:
    """A directory laid out as the kubelet lays out a ConfigMap volume: NAME -> ..data/NAME,
    ..data -> ..<version>/; update() writes a new version and renames ..data_tmp over ..data,
    as the kubelet's atomic writer does."""

    def __init__(self, root, name, text):
        self.root, self.name, self.version = root, name, 0
        os.makedirs(root, exist_ok=True)
        self._write_version(text)
        os.symlink(self._vdir(), os.path.join(root, "..data"))
        os.symlink(os.path.join("..data", name), self.path)

    @property
    def path(self):
        return os.path.join(self.root, self.name)

    def _vdir(self):
        return "..v%d" % self.version

    def _write_version(self, text):
        self.version += 1
        d = os.path.join(self.root, self._vdir())
        os.makedirs(d)
        with open(os.path.join(d, self.name), "w") as f:
            f.write(text)

    def update(self, text):
        old = self._vdir()
        self._write_version(text)
        tmp = os.path.join(self.root, "..data_tmp")
        os.symlink(self._vdir(), tmp)
        os.rename(tmp, os.path.join(self.root, "..data"))
        shutil.rmtree(os.path.join(self.root, old))


PROMETHEUS_CONFIG = """
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: difftrace
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
"""


class Prometheus:
    """Debian's prometheus scraping one target every second, its TSDB in the test's dir."""

    def __init__(self, procs, workdir, target_port):
        binary = shutil.which("prometheus")
        if not binary:
            pytest.fail("prometheus is not installed: run scripts/install-deps.sh",
                        pytrace=False)
        self.dir = os.path.join(workdir, "prometheus")
        os.makedirs(os.path.join(self.dir, "data"))
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write(PROMETHEUS_CONFIG.format(port=target_port))
        self.port = ch.free_port()
        self.stderr = os.path.join(workdir, "prometheus.stderr")
        self.proc = procs.spawn("prometheus", [
            binary, "--config.file=" + conf, "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
            "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"], workdir)
        ch.wait_for(lambda: http_get(self.port, "/-/ready")[0] == 200, 30,
                    "prometheus to be ready", self.proc, lambda: ch.tail(self.stderr))

    def query(self, expr):
        """The instant vector of a PromQL expression: [(labels, value)]."""
        status, body = http_get(self.port, "/api/v1/query?" + urllib.parse.urlencode(
            {"query": expr}))
        assert status == 200, "query %r: %s %s" % (expr, status, body)
        data = json.loads(body)
        assert data["status"] == "success", data
        return [(r["metric"], float(r["value"][1])) for r in data["data"]["result"]]

    def wait_query(self, expr, timeout=20):
        """Waits until the expression selects something (a filter such as `x > 0` selects
        nothing until it holds); returns the result."""
        got = []

        def ready():
            got[:] = self.query(expr)
            return bool(got)
        ch.wait_for(ready, timeout, "prometheus: %s" % expr, self.proc,
                    lambda: "targets: %s\n%s" % (http_get(self.port, "/api/v1/targets")[1][:2000],
                                                 ch.tail(self.stderr)))
        return got
