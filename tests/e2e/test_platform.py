"""The demo platform of issue 3, end to end: start it, check its request path, send 1,000
requests across the four workload shapes with 2% injected anomalies, check the ground truth
against what the client and the activator's async log saw, stop it, and check nothing is
left. Also checks scripts/eval/eval.py on hand-made files, and the Go unit tests.

Run: /usr/bin/python3 -m pytest tests/e2e/test_platform.py
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from platform_util import (DOWN, EVAL, LOADGEN_RUN, REPO, UP, free_ports, otlp_line, pid_alive,
                           platform_env, read_jsonl, read_state, run, run_eval, span, truth_line)

SHAPES = ("steady", "fluctuating", "spikes", "jump")
PER_SHAPE = 250
HEX32 = re.compile(r"^[0-9a-f]{32}$")
PATH = {fn: ["haproxy", "activator", "queue-proxy", fn] for fn in ("fn-hello", "fn-work", "fn-chain", "fn-async", "fn-grpc")}


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    for tool in ("haproxy", "go", "curl"):
        assert shutil.which(tool), f"{tool} not installed: run scripts/install-deps.sh"
    tmp = tmp_path_factory.mktemp("platform")
    ports = free_ports()
    env = platform_env(tmp, ports)
    t0 = time.monotonic()
    up = run([UP], env, timeout=300)  # the first run compiles the Go programs
    state = read_state(env)
    yield {"env": env, "ports": ports, "tmp": tmp, "state": state, "up": up, "up_seconds": time.monotonic() - t0}
    run([DOWN], env, check=False)


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()  # headers: case-insensitive (haproxy lower-cases them)
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_up_starts_every_component(platform):
    st = platform["state"]
    out = platform["up"].stdout
    assert st["COMMS"] == "haproxy activator queue-proxy fn-hello fn-work fn-chain fn-async fn-grpc"
    assert st["INGRESS_PORT"] == platform["ports"]["INGRESS_PORT"]
    pids, comms = st["PIDS"].split(), st["PID_COMMS"].split()
    assert len(pids) == 12 and comms.count("queue-proxy") == 5
    for pid, comm in zip(pids, comms):
        assert pid_alive(pid) and Path(f"/proc/{pid}/comm").read_text().strip() == comm
        assert re.search(rf"\b{comm}\s+\d+\s+{pid}\b", out), f"table lacks {comm} {pid}:\n{out}"


def test_up_twice_does_not_double_start(platform):
    again = run([UP], platform["env"])
    assert "already running" in again.stdout
    assert read_state(platform["env"])["PIDS"] == platform["state"]["PIDS"]


def test_port_in_use_is_named(platform, tmp_path):
    env = platform_env(tmp_path, platform["ports"])  # same ports, another run directory
    p = run([UP], env, check=False)
    assert p.returncode != 0
    assert re.search(r"port \d+ \(.+\) is already in use", p.stderr), p.stderr
    assert not (tmp_path / "run" / "state.env").exists()


def test_trace_headers_reach_functions_unchanged(platform):
    ingress = platform["state"]["INGRESS_URL"]
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    hdrs = {"traceparent": tp, "tracestate": "dt=1", "b3": "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1"}
    for path in ("/fn-hello/", "/fn-work/cpu", "/fn-work/mem?mb=16"):
        status, _, body = get(ingress + path, hdrs)
        got = json.loads(body)
        assert status == 200 and got["traceparent"] == tp and got["tracestate"] == "dt=1" and got["b3"] == hdrs["b3"], got
    status, _, body = get(ingress + "/fn-chain/", hdrs)
    assert status == 200 and json.loads(body)["traceparent"] == tp


def test_async_answers_202_and_runs_later_in_the_same_trace(platform):
    ingress, log = platform["state"]["INGRESS_URL"], Path(platform["state"]["ASYNC_LOG"])
    tp = "00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    status, headers, body = get(ingress + "/fn-async/", {"traceparent": tp, "Prefer": "respond-async"})
    assert status == 202, body
    parent = headers["traceresponse"].split("-")[2]
    async_id = headers["X-Difftrace-Async-Id"]
    for _ in range(100):
        recs = [r for r in read_jsonl(log) if r["async_id"] == async_id]
        if recs:
            break
        time.sleep(0.05)
    assert recs and recs[0]["trace_id"] == "1af7651916cd43dd8448eb211c80319c"
    assert recs[0]["parent_span_id"] == parent and recs[0]["status"] == 200


def test_injection_header_errors_are_clear(platform):
    ingress = platform["state"]["INGRESS_URL"]
    status, _, body = get(ingress + "/fn-hello/", {"X-Difftrace-Inject": "activator=nap:5ms"})
    assert status == 400 and b"unknown kind" in body
    status, _, body = get(ingress + "/fn-hello/", {"X-Difftrace-Inject": "fn-hello=stall:5ms"})
    assert status == 400 and b"does not implement" in body
    status, _, body = get(ingress + "/nope/")
    assert status == 404 and b"no function" in body


def run_shape(platform, shape, seed):
    tmp = platform["tmp"]
    truth, summary = tmp / f"truth-{shape}.jsonl", tmp / f"summary-{shape}.json"
    # 250 requests in 4 s: base 40/s, so spikes peak at 160/s and jump goes to 80/s.
    args = [LOADGEN_RUN, "--shape", shape, "--requests", PER_SHAPE, "--duration", "4s", "--rate", "40",
            "--spike-every", "2s", "--spike-width", "500ms", "--period", "4s",
            "--anomaly-rate", "0.02", "--seed", seed, "--out", truth, "--summary", summary, "--strict"]
    p = run(args, platform["env"], timeout=60, check=False)
    assert p.returncode == 0, f"loadgen {shape}: {p.stdout}\n{p.stderr}"
    return read_jsonl(truth), json.loads(summary.read_text())


def test_load_all_shapes_ground_truth_is_complete_and_consistent(platform):
    records = []
    for seed, shape in enumerate(SHAPES, 1):
        recs, summary = run_shape(platform, shape, seed)
        assert len(recs) == PER_SHAPE and summary["sent"] == PER_SHAPE and summary["not_sent"] == 0
        assert sorted(r["seq"] for r in recs) == list(range(PER_SHAPE))
        assert sum(1 for r in recs if r["anomaly"]) == 5  # 2% of 250, exactly
        assert summary["unexpected"] == 0, summary["unexpected_examples"]
        records += recs
    assert len(records) == 1000
    assert len({r["trace_id"] for r in records}) == 1000
    assert {r["target"] for r in records} == {"hello", "work-cpu", "work-mem", "chain", "async", "grpc"}

    clean = []
    for r in records:
        assert HEX32.match(r["trace_id"]) and re.match(r"^[0-9a-f]{16}$", r["parent_span_id"])
        assert r["error"] is None and 0 < r["start_ns"] < r["end_ns"]
        assert r["status"] == r["expect_status"], r
        full = PATH["fn-chain"] + PATH["fn-hello"] if r["function"] == "fn-chain" else PATH[r["function"]]
        assert r["hops"] == full[:len(r["hops"])], r
        ms = (r["end_ns"] - r["start_ns"]) / 1e6
        a = r["anomaly"]
        if a is None or a["kind"] not in ("503", "500", "reset"):
            assert r["hops"] == full
        if r["target"] == "grpc":  # every hop answers gRPC with 200; grpc-status tells the rest
            assert r["grpc"] and r["status"] == 200 and r["grpc_status"] == r["expect_grpc_status"], r
            assert (r["grpc_status"] == 0) == (a is None or a["kind"] not in ("503", "500", "reset")), r
        if a is None:
            assert r["status"] == (202 if r["async"] else 200)
            clean.append(ms)
            continue
        # Injected anomalies show to the client, unless they happen after an async 202.
        before_reply = not r["async"] or a["hop"] in ("haproxy", "activator")
        if a["kind"] in ("stall", "queue", "slow") and before_reply:
            assert ms >= a["amount_ms"], f"{a} but only {ms:.1f} ms: {r}"
        if a["kind"] in ("503", "500", "reset") and before_reply:
            assert (r["status"] >= 500 or r["grpc_status"]) and r["hops"][-1] == a["hop"], r
    clean.sort()
    assert clean[len(clean) // 2] < 50, f"median latency without anomalies {clean[len(clean) // 2]:.1f} ms"

    # Every accepted async request ran later, in the same trace, as a child of the span id
    # the activator returned in traceresponse.
    accepted = {r["async_id"]: r for r in records if r["async"] and r["status"] == 202}
    assert accepted
    log = Path(platform["state"]["ASYNC_LOG"])
    deadline = time.monotonic() + 15
    while True:
        ran = {x["async_id"]: x for x in read_jsonl(log) if x["async_id"] in accepted}
        if len(ran) == len(accepted) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(ran) == len(accepted), f"{len(accepted) - len(ran)} async requests never ran"
    for aid, r in accepted.items():
        x = ran[aid]
        assert x["trace_id"] == r["trace_id"] and x["parent_span_id"] == r["async_parent_span_id"]
        assert x["start_ns"] >= r["start_ns"]
        a = r["anomaly"]
        if a and a["kind"] in ("503", "500", "reset"):
            assert x["status"] >= 500, (r, x)
        else:
            assert x["status"] == 200, (r, x)
            if a and a["kind"] in ("stall", "queue", "slow") and a["hop"] in ("queue-proxy", "fn-async"):
                assert (x["end_ns"] - x["start_ns"]) / 1e6 >= a["amount_ms"]


def test_down_stops_everything(platform):
    env, st = platform["env"], platform["state"]
    p = run([DOWN], env)
    assert "platform stopped" in p.stdout
    assert not any(pid_alive(pid) for pid in st["PIDS"].split())
    assert not (Path(env["PLATFORM_RUN_DIR"]) / "state.env").exists()
    leftovers = subprocess.run(["pgrep", "-f", env["PLATFORM_LOG_DIR"]], capture_output=True, text=True).stdout
    assert leftovers == "", f"processes left: {leftovers}"
    assert "not running" in run([DOWN], env).stdout  # and down twice is harmless


# ---- eval.py on hand-made input ----------------------------------------------------------

T = [f"{i:032x}" for i in range(1, 8)]
HOPS = ["haproxy", "activator", "queue-proxy"]


def write_synthetic(tmp):
    truth = [
        truth_line(0, T[0], "fn-hello", HOPS + ["fn-hello"]),
        truth_line(1, T[1], "fn-work", HOPS + ["fn-work"], {"hop": "activator", "kind": "stall", "amount_ms": 200}),
        truth_line(2, T[2], "fn-work", HOPS + ["fn-work"], {"hop": "fn-work", "kind": "500", "amount_ms": 0}, status=500),
        truth_line(3, T[3], "fn-hello", HOPS, {"hop": "queue-proxy", "kind": "503", "amount_ms": 0}, status=503),
        truth_line(4, T[4], "fn-hello", HOPS + ["fn-hello"]),
        truth_line(5, None, "fn-hello", HOPS + ["fn-hello"], {"hop": "fn-hello", "kind": "slow", "amount_ms": 150},
                   start_ms=1000, end_ms=1200),
        truth_line(6, T[6], "fn-hello", HOPS + ["fn-hello"], status=0, error="not_sent"),
    ]
    (tmp / "truth.jsonl").write_text("\n".join(truth) + "\n")

    def full(t, decisions, reasons=(None,) * 4, services=HOPS + ["fn-work"]):
        return {svc: [span(t, f"{i + 1:016x}", f"{i:016x}" if i else None, i, 10 - i, d, r)]
                for i, (svc, d, r) in enumerate(zip(services, decisions, reasons)) if d}

    lines = [
        otlp_line({"fn-hello": [span(T[0], "a1", None, 0, 5, "kept")]}),
        otlp_line(full(T[1], ["anomalous", "anomalous", "estimated", "kept"], ["flagged_trace", "latency", None, None])),
        otlp_line(full(T[2], ["anomalous", None, None, "anomalous"], ["flagged_trace", None, None, "status"])),
        otlp_line({"haproxy": [span(T[3], "d1", None, 0, 1, "anomalous", "status", 503)]}),
        otlp_line(full(T[4], ["kept", "anomalous", "kept", "kept"], [None, "latency", None, None],
                       HOPS + ["fn-hello"])),
        # A trace id difftrace generated itself (no header sent), caught by time.
        otlp_line({"fn-hello": [span("ff" * 16, "f1", None, 1010, 1190, "anomalous", "latency")]}),
    ]
    (tmp / "out.otlp.jsonl").write_text("\n".join(lines) + "\n")
    paths = [HOPS + ["fn-hello"], HOPS + ["fn-work"], HOPS + ["fn-work"], HOPS, HOPS + ["fn-hello"]]
    nofilter = [otlp_line({svc: [span(T[i], f"{j + 1:016x}", None, 0, 1, "full")] for j, svc in enumerate(hops)})
                for i, hops in enumerate(paths)]
    (tmp / "full.otlp.jsonl").write_text("\n".join(nofilter) + "\n")
    (tmp / "stats.json").write_text(json.dumps({"spans_seen": 40, "spans_reported": 13, "ringbuf_lost": 0}))


def test_eval_on_hand_made_input(tmp_path):
    write_synthetic(tmp_path)
    p = run_eval(["--truth", tmp_path / "truth.jsonl", "--otlp", tmp_path / "out.otlp.jsonl",
                  "--stats", tmp_path / "stats.json", "--nofilter", tmp_path / "full.otlp.jsonl",
                  "--json", tmp_path / "res.json"])
    assert p.returncode == 0, p.stderr
    res = json.loads((tmp_path / "res.json").read_text())
    assert res["requests"] == {"planned": 7, "sent": 6, "with_trace_id": 5, "injected": 4, "failed_unexpectedly": 0}
    rc = res["recall"]
    assert (rc["injected_with_trace_id"], rc["caught"], rc["caught_strict"]) == (3, 2, 2)
    assert rc["recall"] == 0.6667 and rc["by_hop_kind"]["queue-proxy=503"]["caught"] == 0
    assert (rc["without_trace_id"], rc["caught_by_time"]) == (1, 1)
    pr = res["precision"]
    assert (pr["flagged_known"], pr["true_positive"], pr["flagged_unknown"], pr["precision"]) == (4, 3, 1, 0.75)
    assert res["spans"]["exported"] == 13 and res["spans"]["per_request"] == 2.1667
    assert res["stats"]["reduction_in_run"] == 0.675
    assert res["nofilter"]["per_request"] == 3.8 and res["nofilter"]["reduction"] == 0.4298
    assert res["nofilter"]["completeness"]["ratio"] == 1.0
    fl = res["completeness"]["flagged"]
    assert (fl["traces"], fl["complete"]) == (4, 2)
    assert fl["missing_spans_by_hop"] == {"activator": 2, "queue-proxy": 2}
    assert "recall:    66.7% (2/3)" in p.stdout

    bar = run_eval(["--truth", tmp_path / "truth.jsonl", "--otlp", tmp_path / "out.otlp.jsonl", "--min-recall", "0.9"])
    assert bar.returncode == 1 and "recall 66.7% < 90.0%" in bar.stderr
    (tmp_path / "bad.jsonl").write_text('{"resourceSpans": []}\nnot json\n')
    bad = run_eval(["--truth", tmp_path / "truth.jsonl", "--otlp", tmp_path / "bad.jsonl"])
    assert bad.returncode == 2 and "bad.jsonl:2: not JSON" in bad.stderr


def test_filter_report_per_hop_on_hand_made_input(tmp_path):
    """scripts/eval/filter_report.py's per-hop tables (issue 14) on four hand-made modes."""
    fh, fw = HOPS + ["fn-hello"], HOPS + ["fn-work"]
    truth = [truth_line(0, T[0], "fn-hello", fh), truth_line(1, T[1], "fn-hello", fh),
             truth_line(2, T[2], "fn-work", fw, {"hop": "fn-work", "kind": "slow", "amount_ms": 150}),
             truth_line(3, T[3], "fn-work", fw)]
    (tmp_path / "groundtruth.jsonl").write_text("\n".join(truth) + "\n")

    def path_of(t):
        return [fh, fh, fw, fw][T.index(t)], "/fn-hello/" if T.index(t) < 2 else "/fn-work/"

    def trace(t, decided):  # decided: {service: (decision, reason, duration)}; others left out
        hops, path = path_of(t)
        return otlp_line({svc: [span(t, f"{i + 1:016x}", f"{i:016x}" if i else None, i,
                                     i + decided[svc][2], decided[svc][0], decided[svc][1], path=path)]
                          for i, svc in enumerate(hops) if svc in decided})

    def full(t):
        return trace(t, {svc: ("full", "no_filter", 10 - i) for i, svc in enumerate(path_of(t)[0])})

    modes = {
        "nofilter": [full(t) for t in T[:4]],
        "filter": [trace(T[1], {"haproxy": ("anomalous", "flagged_trace", 10), "fn-hello": ("anomalous", "latency", 7)}),
                   trace(T[2], {"haproxy": ("anomalous", "flagged_trace", 10), "queue-proxy": ("anomalous", "latency", 8),
                                "fn-work": ("anomalous", "latency", 7)})],
        "fn-filtered": [trace(T[2], {"fn-work": ("anomalous", "latency", 7)})],
        # haproxy's real span lasts 10 ms, the estimate 15 ms: 50% off
        "nokeep": [trace(T[2], {"haproxy": ("estimated", None, 15), "fn-work": ("reported", "function", 7)})],
    }
    for m, lines in modes.items():
        (tmp_path / f"{m}.spans.jsonl").write_text("\n".join(lines) + "\n")
        (tmp_path / f"{m}.stats.json").write_text(json.dumps({"spans_seen": 16, "spans_reported": 4}))
    p = subprocess.run([sys.executable, str(REPO / "scripts/eval/filter_report.py"), str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    ph = json.loads((tmp_path / "report.json").read_text())["per_hop"]
    assert ph["recall_by_kind_and_hop"] == [{
        "anomaly": "fn-work=slow", "service": "fn-work", "endpoint": "GET /fn-work/", "injected": 1,
        "caught": {"filter": 1, "fn-filtered": 1, "nofilter": 0, "nokeep": 0},
        "recall": {"filter": 1.0, "fn-filtered": 1.0, "nofilter": 0.0, "nokeep": 0.0}}]
    rows = {(r["service"], r["kind"], r["endpoint"]): r for r in ph["flagged_normal_by_hop"]}
    hello = rows[("fn-hello", "SERVER", "GET /fn-hello/")]
    assert hello["normal_requests"] == 2 and hello["flagged"]["filter"] == 1 and hello["first"]["filter"] == 1
    assert hello["share"] == {"filter": 0.5, "fn-filtered": 0.0, "nofilter": 0.0, "nokeep": 0.0}
    # haproxy only followed the flag; queue-proxy's anomaly was in an injected request
    assert rows[("haproxy", "SERVER", "GET /fn-hello/")]["flagged"]["filter"] == 0
    assert rows[("queue-proxy", "SERVER", "GET /fn-work/")]["flagged"]["filter"] == 0
    assert ph["flagged_normal_any_hop"]["filter"] == {"flagged": 1, "share": 0.3333}
    assert ph["estimates_by_hop"] == [{"service": "haproxy", "kind": "SERVER", "endpoint": "GET /fn-work/",
                                       "compared": 1, "median_relative_error": 0.5, "p90_relative_error": 0.5}]
    bars = ph["bars_missed"]
    assert bars == ["recall fn-work=slow at fn-work GET /fn-work/ (1 injected): nofilter 0.0%, nokeep 0.0%",
                    "flagged normal requests at fn-hello SERVER GET /fn-hello/ (2 normal): filter 50.0% (1)"]
    md = (tmp_path / "report.md").read_text()
    for heading in ("Recall by injected kind and hop", "Flagged normal requests by hop",
                    "Estimate error by hop", "BARS"):
        assert heading in md


def test_go_unit_tests_and_vet():
    src = REPO / "scripts/platform"
    build = REPO / "build/platform/go"
    env = dict(os.environ, GOCACHE=str(build / "cache"), GOPATH=str(build / "path"), GOPROXY="off", GOFLAGS="-mod=mod")
    for cmd in (["go", "vet", "./..."], ["go", "test", "./..."]):
        p = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, timeout=240)
        assert p.returncode == 0, f"{' '.join(cmd)}:\n{p.stdout}\n{p.stderr}"
    fmt = subprocess.run(["gofmt", "-l", "."], cwd=src, capture_output=True, text=True)
    assert fmt.stdout == "", f"not gofmt'd: {fmt.stdout}"
