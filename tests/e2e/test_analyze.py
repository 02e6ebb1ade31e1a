"""`difftrace analyze` as users run it: the built binary, unprivileged, over the OTLP JSON that
`difftrace replay` writes for a fixture capture. Checks the JSON contract of issue 19 (traces[]
with the critical path, breakdown and culprit; routes[]), that each trace's breakdown adds up
to its duration, that a config's platform role moves the time to platform, the text table, and
that a bad file is one stderr line and exit 2.

    /usr/bin/python3 -m pytest -q tests/e2e/test_analyze.py
"""
import json
import os

import pytest

import capture_helpers as ch

PCAP = os.path.join(ch.REPO, "tests", "fixtures", "pcap", "lo_statuses_chunked_large.pcap")
PORT = 18483  # the server port of that capture
CATEGORIES = ("platform_ns", "function_ns", "network_ns", "async_wait_ns", "downstream_ns")


def replayed(outdir, *extra):
    spans = os.path.join(outdir, "spans.json")
    proc = ch.run_unprivileged("replay", PCAP, "--export", "otlp-json:" + spans, *extra)
    assert proc.returncode == 0, proc.stderr
    return spans


def analyzed(outdir, spans, *extra):
    out = os.path.join(outdir, "analysis.json")
    proc = ch.run_unprivileged("analyze", spans, "--format", "json", "--out", out, *extra)
    assert proc.returncode == 0, proc.stderr
    with open(out) as f:
        return json.load(f)


def test_json_follows_the_contract(outdir):
    spans = replayed(outdir)
    with open(spans) as f:
        exported = sum(len(s["spans"]) for line in f
                       for r in json.loads(line)["resourceSpans"] for s in r["scopeSpans"])
    report = analyzed(outdir, spans)
    traces = report["traces"]
    assert len(traces) == report["summary"]["traces"] == exported == 5
    for t in traces:
        for key in ("trace_id", "duration_ns", "anomalous", "critical_path", "breakdown",
                    "culprit"):
            assert key in t, (key, t)
        assert t["critical_path"], t
        for step in t["critical_path"]:
            for key in ("span_id", "service", "name", "self_ns", "estimated"):
                assert key in step, (key, step)
        assert sum(t["breakdown"][k] for k in CATEGORIES) == t["duration_ns"], t
        assert sum(s["self_ns"] for s in t["critical_path"]) \
            + t["breakdown"]["async_wait_ns"] == t["duration_ns"], t
        if t["anomalous"]:
            assert set(t["culprit"]) >= {"span_id", "service", "excess_ns"}, t
        else:
            assert t["culprit"] is None, t
    # The capture's 500 is the one anomaly (status): its culprit is its own span.
    bad = [t for t in traces if t["anomalous"]]
    assert len(bad) == 1, traces
    assert bad[0]["culprit"]["span_id"] == bad[0]["critical_path"][0]["span_id"]
    assert bad[0]["culprit"]["by"] == "error"

    routes = report["routes"]
    assert sum(r["count"] for r in routes) == len(traces)
    for r in routes:
        for key in ("service", "endpoint", "count", "p50_ns", "p99_ns", "shares"):
            assert key in r, (key, r)
        assert r["service"] == "127.0.0.1:%d" % PORT
        assert r["p50_ns"] <= r["p99_ns"]
        assert r["shares"]["function"] == pytest.approx(1.0)


def test_config_roles_make_platform_time(outdir):
    config = os.path.join(outdir, "roles.yaml")
    with open(config, "w") as f:
        f.write("services:\n  - name: web\n    match: {listen_port: %d}\n    role: platform\n"
                % PORT)
    spans = replayed(outdir, "--config", config, "--no-filter")
    report = analyzed(outdir, spans, "--config", config)
    assert len(report["traces"]) == 5
    for t in report["traces"]:
        assert t["critical_path"][0]["service"] == "web"
        assert t["breakdown"]["platform_ns"] == t["duration_ns"], t
    for r in report["routes"]:
        assert r["shares"]["platform"] == pytest.approx(1.0)


def test_text_table(outdir):
    proc = ch.run_unprivileged("analyze", replayed(outdir), "--worst", "2")
    assert proc.returncode == 0, proc.stderr
    assert "5 spans, 5 traces (1 anomalous" in proc.stdout
    assert "GET /status/{n}" in proc.stdout
    assert proc.stdout.count("\ntrace ") == 2
    assert "culprit:" in proc.stdout or "ANOMALOUS" not in proc.stdout


def test_intervals_add_up_to_the_routes(outdir):
    report = analyzed(outdir, replayed(outdir), "--interval", "500ms")
    assert report["summary"]["interval_ns"] == 500_000_000
    for r in report["routes"]:
        mine = [i for i in report["intervals"]
                if (i["service"], i["endpoint"]) == (r["service"], r["endpoint"])]
        assert mine and sum(i["count"] for i in mine) == r["count"]
        assert all(i["start_ns"] % 500_000_000 == 0 for i in mine)
    every = [i for i in report["intervals"] if i["service"] == "*"]
    assert sum(i["count"] for i in every) == len(report["traces"])


@pytest.mark.parametrize("what", ["missing", "bad-format", "bad-interval"])
def test_bad_input_is_one_line_and_exit_2(what, outdir):
    spans = replayed(outdir)
    args = {"missing": [os.path.join(outdir, "nothing.json")],
            "bad-format": [spans, "--format", "xml"],
            "bad-interval": [spans, "--interval", "5 parsecs"]}[what]
    proc = ch.run_unprivileged("analyze", *args)
    assert proc.returncode == 2
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr


def test_lines_that_are_not_otlp_are_skipped_and_counted(outdir):
    spans = replayed(outdir)
    mixed = os.path.join(outdir, "mixed.json")
    with open(spans) as f, open(mixed, "w") as out:
        out.write("not json\n")
        out.write(f.read())
    os.chmod(mixed, 0o644)
    out = os.path.join(outdir, "analysis.json")
    proc = ch.run_unprivileged("analyze", mixed, "--format", "json", "--out", out)
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "mixed.json:1" in lines[0], proc.stderr
    with open(out) as f:
        report = json.load(f)
    assert report["summary"]["bad_lines"] == 1
    assert len(report["traces"]) == 5
