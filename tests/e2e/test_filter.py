"""The differential filter in the real kernel, on a real server (tests/e2e/servers/pyserver.py):
normal platform spans stay in the kernel, anomalies are reported, a flagged trace's kept spans
come back exactly, functions are reported by role, --no-filter reports all and marks anomalies.
Thresholds are the profiler's (adaptive, written while tracing) or the config's (static)."""
import os
import time

import capture_helpers as ch

SERVER = ch.SERVER


def write_config(workdir, role="platform", latency=None, min_samples=20):
    path = os.path.join(workdir, "difftrace.yaml")
    lines = ["services:", "  - name: py", "    match: {comm: dt-pyserver}", "    role: " + role]
    if latency:
        lines.append("    latency: " + latency)
    lines += ["profiler: {interval: 500ms, window: 30s, min_samples: %d}" % min_samples,
              "assembler: {wait: 300ms}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def traced(path, tid=None):
    tid = tid or os.urandom(16).hex()
    return {"method": "GET", "path": path,
            "headers": {"traceparent": "00-%s-%s-01" % (tid, os.urandom(8).hex())}}, tid


def decisions(spans):
    return {s["path"]: (s["attrs"].get("difftrace.decision"), s["attrs"].get("difftrace.reason"))
            for s in spans if s["kind"] == SERVER}


def warm_up(workdir, srv, n=30):
    # One endpoint, /sleep/{n}/{n}: the numbers keep every path unique and the template one.
    reqs = [traced("/sleep/1/%d" % (100 + i))[0] for i in range(n)]
    ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, per_conn=10), name="warm")
    time.sleep(1.5)  # profiler ticks: the endpoint gets its threshold


def test_adaptive_threshold_keeps_normal_spans_and_reports_anomalies(workdir, pyserver,
                                                                     start_tracer):
    srv = pyserver()
    cfg = write_config(workdir)
    tr = start_tracer(["--comm", "dt-pyserver"], extra=["--config", cfg], no_filter=False)
    warm_up(workdir, srv)
    normal = [traced("/sleep/1/%d" % (200 + i))[0] for i in range(40)]
    slow = [traced("/sleep/300/%d" % (300 + i))[0] for i in range(2)]
    errors = [traced("/status/503/%d" % (400 + i))[0] for i in range(2)]
    ch.run_pyclient(workdir, srv.port, ch.conns_for(normal + slow + errors, per_conn=11),
                    name="after")
    tr.stop_ok()
    got = decisions(tr.spans)
    for r in normal:
        assert r["path"] not in got, "normal span exported: %s %s\n%s" % (
            r["path"], got.get(r["path"]), tr.diag())
    for r in slow:
        assert got.get(r["path"]) == ("anomalous", "latency"), (r["path"], got.get(r["path"]))
    for r in errors:
        assert got.get(r["path"]) == ("anomalous", "status"), (r["path"], got.get(r["path"]))
    st = tr.stats()
    assert st["spans_kept"] >= len(normal), tr.diag()
    assert st["reported_latency"] == len(slow) and st["reported_status"] == len(errors), tr.diag()
    assert st["spans_seen"] == st["spans_reported"] + st["spans_kept"] + \
        st["spans_dropped_no_trace_id"] + st["ringbuf_lost"], tr.diag()
    prof = [e for e in st["profile"] if e["template"] == "/sleep/{n}/{n}"]
    assert len(prof) == 1 and prof[0]["service"] == "py" and prof[0]["threshold_ns"] > 0 and \
        not prof[0]["warming"] and prof[0]["count"] >= 70, st["profile"]
    # The slow spans' threshold is exported with them.
    slow_spans = [s for s in tr.spans if s["path"] in {r["path"] for r in slow}]
    assert all(int(s["attrs"]["difftrace.threshold_ns"]) > 0 for s in slow_spans)


def test_kept_spans_of_a_flagged_trace_come_back_exactly(workdir, pyserver, start_tracer):
    srv = pyserver()
    cfg = write_config(workdir, latency="100ms")  # static: no warm-up
    tr = start_tracer(["--comm", "dt-pyserver"], extra=["--config", cfg], no_filter=False)
    first, tid = traced("/bytes/10/first")
    second, _ = traced("/bytes/20/second", tid)
    bad, _ = traced("/status/500/bad", tid)
    other, _ = traced("/bytes/30/other")
    # One after the other on one connection: the normal ones are kept before the 500 flags the
    # trace.
    ch.run_pyclient(workdir, srv.port, ch.conns_for([first, second, bad, other], per_conn=4))
    tr.stop_ok()
    by_path = {s["path"]: s for s in tr.spans}
    assert by_path["/status/500/bad"]["attrs"]["difftrace.decision"] == "anomalous"
    for p in ("/bytes/10/first", "/bytes/20/second"):
        assert p in by_path, "kept span of the flagged trace not recovered: %s\n%s" % (
            p, tr.diag())
        s = by_path[p]
        assert s["attrs"]["difftrace.decision"] == "kept" and s["trace_id"] == tid
    assert "/bytes/30/other" not in by_path  # its trace had no anomaly
    st = tr.stats()
    assert st["spans_recovered_exact"] == 2 and st["traces_with_anomaly"] == 1, tr.diag()
    # Exact: the kept spans match the server's own log of the requests.
    log = {r["path"]: r for r in srv.requests()}
    for p in ("/bytes/10/first", "/bytes/20/second"):
        assert by_path[p]["status"] == log[p]["status"] == 200


def test_function_role_reports_every_span(workdir, pyserver, start_tracer):
    srv = pyserver()
    cfg = write_config(workdir, role="function", latency="100ms")
    tr = start_tracer(["--comm", "dt-pyserver"], extra=["--config", cfg], no_filter=False)
    reqs = [traced("/bytes/10/f-%d" % i)[0] for i in range(10)]
    ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs))
    tr.stop_ok()
    got = decisions(tr.spans)
    assert all(got.get(r["path"]) == ("reported", "function") for r in reqs), got


def test_no_filter_reports_everything_and_marks_anomalies(workdir, pyserver, start_tracer):
    srv = pyserver()
    cfg = write_config(workdir, latency="100ms")
    tr = start_tracer(["--comm", "dt-pyserver"], extra=["--config", cfg])
    reqs = [traced("/bytes/10/a-%d" % i)[0] for i in range(10)]
    slow = traced("/sleep/200/slow")[0]
    ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs + [slow]))
    tr.stop_ok()
    got = decisions(tr.spans)
    assert all(got.get(r["path"]) == ("full", "no_filter") for r in reqs), got
    assert got.get("/sleep/200/slow") == ("anomalous", "latency")
    assert tr.stats()["spans_kept"] == 0
