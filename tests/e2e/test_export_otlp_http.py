"""`--export otlp-http:URL` as a backend sees it. `difftrace replay` runs over the fixture
captures with two exporters at once, otlp-http to a receiver and otlp-json to a file; the
receiver (otlp_receiver/receiver.js, Node) decodes every POST body with the OpenTelemetry JS
package @opentelemetry/otlp-transformer's ExportTraceServiceRequest, generated from the
official opentelemetry-proto, not with our proto/otlp_trace.proto. The decoded spans must
equal the OTLP JSON ones: count, trace/span/parent ids, kinds, names, times, attributes,
status, resource. Also: 503 answers are retried, and a backend that is down costs a bounded
wait, exit 0 and a log line with the drops.

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_export_otlp_http.py

The receiver's npm packages are pinned in otlp_receiver/package-lock.json; install-deps.sh
runs `npm ci` there, and so does this file when node_modules is missing.
"""
import glob
import json
import os
import select
import shutil
import socket
import subprocess
import time

import pytest

import capture_helpers as ch
from export_helpers import flatten, json_spans

PCAPS = os.path.join(ch.REPO, "tests", "fixtures", "pcap")
RECEIVER_DIR = os.path.join(ch.E2E_DIR, "otlp_receiver")
TRANSFORMER = os.path.join(RECEIVER_DIR, "node_modules", "@opentelemetry", "otlp-transformer")


def _captures():
    found = glob.glob(os.path.join(PCAPS, "**", "*.pcap"), recursive=True)
    return sorted(os.path.relpath(p, PCAPS) for p in found)


def _binary():
    if not os.access(ch.TRACER_BIN, os.X_OK):
        pytest.fail("%s is missing: run `make` first (or set DIFFTRACE_BIN)" % ch.TRACER_BIN,
                    pytrace=False)
    return ch.TRACER_BIN


@pytest.fixture(scope="session")
def receiver_ready():
    """node and the pinned packages (npm ci when node_modules is missing)."""
    node = shutil.which("node")
    if not node:
        pytest.fail("node is missing: run scripts/install-deps.sh", pytrace=False)
    if not os.path.isdir(TRANSFORMER):
        p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=RECEIVER_DIR,
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0 or not os.path.isdir(TRANSFORMER):
            pytest.fail("npm ci in %s failed: %s" % (RECEIVER_DIR, p.stderr[-2000:]),
                        pytrace=False)
    return node


class OtlpReceiver:
    def __init__(self, node, workdir, fail=0):
        self.out = os.path.join(workdir, "received.jsonl")
        self.proc = subprocess.Popen(
            [node, os.path.join(RECEIVER_DIR, "receiver.js"), "--out", self.out,
             "--fail", str(fail)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=RECEIVER_DIR)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.stop()
            pytest.fail("the OTLP receiver did not start: %s" % self.proc.stderr.read(),
                        pytrace=False)
        self.url = "http://127.0.0.1:%d/v1/traces" % json.loads(line)["port"]

    def requests(self):
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            return [json.loads(l) for l in f if l.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def receiver(receiver_ready, tmp_path):
    started = []

    def start(fail=0):
        r = OtlpReceiver(receiver_ready, str(tmp_path), fail)
        started.append(r)
        return r
    yield start
    for r in started:
        r.stop()


def replay(capture, *args, timeout=60):
    t0 = time.monotonic()
    p = subprocess.run([_binary(), "replay", os.path.join(PCAPS, capture), *args],
                       capture_output=True, text=True, timeout=timeout)
    return p, time.monotonic() - t0


@pytest.mark.parametrize("capture", _captures())
def test_otlp_http_decodes_to_the_otlp_json_spans(capture, receiver, tmp_path):
    rcv = receiver()
    otlp_json = str(tmp_path / "spans.json")
    stats = str(tmp_path / "stats.json")
    p, _ = replay(capture, "--export", "otlp-http:" + rcv.url, "--export", "otlp-json:" + otlp_json,
                  "--stats-json", stats)
    assert p.returncode == 0, p.stderr
    want = json_spans(otlp_json)
    reqs = rcv.requests()
    assert [r for r in reqs if "error" in r] == [], "bodies the official schema refused"
    for r in reqs:
        assert r["method"] == "POST" and r["path"] == "/v1/traces"
        assert r["contentType"] == "application/x-protobuf"
        assert r["contentEncoding"] == "gzip"
        assert r["reencodedLength"] == r["bodyLength"], \
            "fields the official schema does not know: %s" % r
    got = sorted((s for r in reqs for s in flatten(r["request"])),
                 key=lambda s: (s["start"], s["spanId"]))
    assert len(got) == len(want)
    assert got == want
    for s in got:
        assert s["kind"] in (2, 3)
        assert len(s["traceId"]) == 32 and len(s["spanId"]) == 16
        assert s["resource"]["service.name"][0] == "string"
        assert s["resource"]["process.pid"][0] == "int"
        assert "host.name" in s["resource"]
        assert s["attributes"]["http.request.method"][0] == "string"
        assert s["attributes"]["server.port"][0] == "int"
        # replay runs the filter: with no config every span is reported (a function's, by
        # default role) or anomalous
        assert s["attributes"]["difftrace.decision"] in (("string", "reported"),
                                                         ("string", "anomalous"))
        assert s["attributes"]["difftrace.reason"][0] == "string"
    with open(stats) as f:
        counters = json.load(f)
    # The first exporter's spans_exported: spans the backend took.
    assert counters["spans_exported"] == len(want)
    if want:
        assert "%d spans sent" % len(want) in p.stderr


def test_otlp_http_retries_503_and_delivers_once(receiver, tmp_path):
    rcv = receiver(fail=2)
    otlp_json = str(tmp_path / "spans.json")
    p, _ = replay("lo_statuses_chunked_large.pcap", "--export", "otlp-http:" + rcv.url,
                  "--export", "otlp-json:" + otlp_json)
    assert p.returncode == 0, p.stderr
    reqs = rcv.requests()
    assert [r["status"] for r in reqs] == [503, 503, 200]
    delivered = [s for r in reqs if r["status"] == 200 for s in flatten(r["request"])]
    assert sorted(delivered, key=lambda s: (s["start"], s["spanId"])) == json_spans(otlp_json)
    assert "5 spans sent in 3 requests (2 retries)" in p.stderr


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("kind,path", [("otlp-http", "/v1/traces"), ("zipkin", "/api/v2/spans")])
def test_backend_down_costs_a_bounded_wait_and_counts_the_drops(kind, path, tmp_path):
    url = "http://127.0.0.1:%d%s" % (_closed_port(), path)
    otlp_json = str(tmp_path / "spans.json")
    stats = str(tmp_path / "stats.json")
    p, took = replay("lo_statuses_chunked_large.pcap", "--export", "otlp-json:" + otlp_json,
                     "--export", "%s:%s" % (kind, url), "--stats-json", stats)
    assert p.returncode == 0, p.stderr
    assert took < 20, "replay took %.1fs with the backend down" % took
    assert len(json_spans(otlp_json)) == 5  # the other exporter is unaffected
    assert "Couldn't connect to server" in p.stderr
    assert "%s %s: 0 spans sent, 5 dropped" % (kind, url) in p.stderr, p.stderr
    with open(stats) as f:
        assert json.load(f)["spans_exported"] == 5  # otlp-json, the first exporter


@pytest.mark.parametrize("spec,why", [
    ("otlp-http:", "needs a URL"),
    ("otlp-http:ftp://127.0.0.1/x", "only http:// and https://"),
    ("zipkin:http://", "not a URL"),
])
def test_bad_export_urls_are_refused_before_anything_runs(spec, why):
    p, _ = replay("lo_statuses_chunked_large.pcap", "--export", spec)
    assert p.returncode == 2
    assert why in p.stderr
    assert p.stdout == ""
