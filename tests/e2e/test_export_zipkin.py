"""`--export zipkin:URL` as a Zipkin collector sees it. `difftrace replay` runs over the
fixture captures with zipkin to a receiver (zipkin_receiver.py) and otlp-json to a file at
once; every POST body must be a Zipkin v2 ListOfSpans (field names, types, id formats,
endpoints, string tags), and each span must say what its OTLP JSON twin says: ids, kind,
name, microsecond times, service and addresses, and the HTTP and difftrace tags.

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_export_zipkin.py
"""
import glob
import json
import os
import subprocess

import pytest

import capture_helpers as ch
from export_helpers import json_spans
from zipkin_receiver import ZipkinReceiver, zipkin_v2_problems

PCAPS = os.path.join(ch.REPO, "tests", "fixtures", "pcap")


def _captures():
    found = glob.glob(os.path.join(PCAPS, "**", "*.pcap"), recursive=True)
    return sorted(os.path.relpath(p, PCAPS) for p in found)


def test_the_shape_checker_catches_what_zipkin_refuses():
    good = {"traceId": "a" * 32, "id": "b" * 16, "kind": "SERVER", "timestamp": 1, "duration": 1,
            "localEndpoint": {"serviceName": "s", "ipv4": "127.0.0.1", "port": 80},
            "tags": {"http.status_code": "200"}}
    assert zipkin_v2_problems([good]) == []
    bad = [dict(good, traceId="A" * 32), dict(good, id="b" * 15), dict(good, kind="server"),
           dict(good, duration=0), dict(good, tags={"http.status_code": 200}),
           dict(good, localEndpoint={"ipv4": "::1"}), dict(good, extra=1),
           dict(good, timestamp="1")]
    for b in bad:
        assert zipkin_v2_problems([b]), b
    assert zipkin_v2_problems({"spans": []})


@pytest.mark.parametrize("capture", _captures())
def test_zipkin_spans_are_v2_and_match_the_otlp_json(capture, tmp_path):
    otlp_json = str(tmp_path / "spans.json")
    if not os.access(ch.TRACER_BIN, os.X_OK):
        pytest.fail("%s is missing: run `make` first" % ch.TRACER_BIN, pytrace=False)
    with ZipkinReceiver() as z:
        p = subprocess.run([ch.TRACER_BIN, "replay", os.path.join(PCAPS, capture),
                            "--export", "zipkin:" + z.url, "--export", "otlp-json:" + otlp_json],
                           capture_output=True, text=True, timeout=60)
        reqs = list(z.requests)
    assert p.returncode == 0, p.stderr
    for r in reqs:
        assert "error" not in r, r
        assert r["path"] == "/api/v2/spans"
        assert r["contentType"] == "application/json"
        assert r["contentEncoding"] == "gzip"
        assert zipkin_v2_problems(r["spans"]) == []
    got = {s["id"]: s for r in reqs for s in r["spans"]}
    want = json_spans(otlp_json)
    assert len(got) == len(want) == sum(len(r["spans"]) for r in reqs)
    for o in want:
        z = got[o["spanId"]]
        a = {k: v for k, (_, v) in o["attributes"].items()}
        assert z["traceId"] == o["traceId"]
        assert z.get("parentId", "") == o["parentSpanId"]
        assert z["kind"] == {2: "SERVER", 3: "CLIENT"}[o["kind"]]
        assert z["name"] == o["name"]
        start, end = int(o["start"]), int(o["end"])
        assert z["timestamp"] == start // 1000
        assert z["duration"] == max(1, (end - start + 999) // 1000)
        assert z["localEndpoint"]["serviceName"] == o["resource"]["service.name"][1]
        server_side = z["localEndpoint"] if z["kind"] == "SERVER" else z["remoteEndpoint"]
        assert server_side.get("ipv4", server_side.get("ipv6")) == a["server.address"]
        assert str(server_side["port"]) == a["server.port"]
        t = z["tags"]
        assert t["http.method"] == a["http.request.method"]
        assert t["http.path"] == a["url.path"]
        assert t.get("http.status_code") == a.get("http.response.status_code")
        assert ("error" in t) == (o["status"][0] == 2)
        if "error" in t:
            assert t["error"] == o["status"][1]
        for k in ("difftrace.decision", "difftrace.reason", "difftrace.threshold_ns",
                  "server.address", "server.port", "client.address", "client.port",
                  "http.request.size", "http.response.size", "thread.id"):
            assert t.get(k) == a.get(k), k
        assert t["process.pid"] == o["resource"]["process.pid"][1]
        assert t["host.name"] == o["resource"]["host.name"][1]
