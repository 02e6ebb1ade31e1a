"""Whole traces with correct parents on the demo platform (issue 5), end to end.

difftrace starts first (--config scripts/platform/difftrace.yaml --no-filter: the platform's
processes are its targets by comm), then a fresh platform on private ports, then a few dozen
requests of the default mix (hello, work, chain through the ingress twice, async) once with
traceparent and once with no trace header at all. Each request's trace must be its path as
one chain of parents (scripts/eval/linking_eval.py), the async edge after the 202, and no
parent may be wrong: a request may miss a link (absent), never get a wrong one.

Then (issue 16) haproxy -> nginx -> a Python server with no trace header anywhere: whole traces
from the kernel's causality and TCP sequence numbers alone, at 4 and 32 clients.

Run (root, after `make`): /usr/bin/python3 -m pytest -q tests/e2e/test_linking.py
"""
import importlib.util
import os
import re
import shutil
import subprocess
import time

import pytest

from capture_helpers import (CLIENT, SERVER, Nginx, Procs, PyServer, Tracer, can_connect, conns_for,
                             free_port, run_pyclient, wait_for)
from platform_util import LOADGEN_RUN, REPO, read_jsonl, read_state, run, traced_platform_up

_spec = importlib.util.spec_from_file_location("linking_eval", REPO / "scripts/eval/linking_eval.py")
linking = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(linking)

REQUESTS = 40
# A missing link leaves a request with more than one root; anything else is a wrong link.
ABSENT = ("roots (unlinked spans)", "missing ", "no spans")


@pytest.fixture(scope="module")
def traced_platform(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("linking")
    with traced_platform_up(tmp) as (tracer, env):
        truth = {}
        for mode, flags in (("traceparent", []), ("no-header", ["--no-trace-header"])):
            out = tmp / f"truth-{mode}.jsonl"
            run([LOADGEN_RUN, "--requests", REQUESTS, "--rate", "20", "--duration", "2s",
                 "--seed", "3", "--out", out, *flags], env, timeout=120)
            truth[mode] = read_jsonl(out)
        time.sleep(1.5)  # async invocations finish, traces leave the assembler (1 s)
        tracer.stop_ok()
        yield {"tracer": tracer, "truth": truth, "state": read_state(env),
               "spans": linking.ev.load_spans(tracer.out)}


def check_mode(traced_platform, mode):
    tracer, truth = traced_platform["tracer"], traced_platform["truth"][mode]
    res = linking.evaluate(truth, traced_platform["spans"])
    wrong = [f for f in res["failures"] if not any(a in f["why"] for a in ABSENT)]
    summary = f"{mode}: {res['linked']}/{res['requests']} linked; failures {res['failures']}\n{tracer.diag()}"
    assert res["requests"] == REQUESTS, summary
    assert not wrong, "wrong parents: " + summary
    assert res["linked"] >= REQUESTS - 1, summary
    targets = {r["target"] for r in truth}
    assert {"chain", "async"} <= targets, targets  # the seed's mix has both
    return res


def test_traceparent_hops_hang_under_their_callers(traced_platform):
    res = check_mode(traced_platform, "traceparent")
    st = traced_platform["tracer"].stats()
    assert st["parents_by_header"] >= res["linked"]  # each root under the client's span, once
    assert st["parents_left_ambiguous"] == 0


def test_no_header_the_ingress_starts_the_trace(traced_platform):
    check_mode(traced_platform, "no-header")
    truth = traced_platform["truth"]["no-header"]
    assert all(r["trace_id"] is None and r.get("response_trace_id") for r in truth)
    # Every root is haproxy's SERVER span, without a parent: nothing outside is known.
    by_trace = {}
    for s in traced_platform["spans"]:
        by_trace.setdefault(s["trace_id"], []).append(s)
    for r in truth:
        spans = by_trace.get(r["response_trace_id"], [])
        ids = {s["span_id"] for s in spans}
        roots = [s for s in spans if s["parent"] not in ids]
        assert roots and all(s["parent"] is None for s in roots), spans
        assert any(s["service"] == "haproxy" and s["kind"] == linking.SERVER for s in roots), spans


def test_async_edge_after_the_202(traced_platform):
    by_trace = {}
    for s in traced_platform["spans"]:
        by_trace.setdefault(s["trace_id"], []).append(s)
    checked = 0
    for mode, truth in traced_platform["truth"].items():
        for r in truth:
            if not r["async"] or r["status"] != 202:
                continue
            spans = by_trace.get(linking.trace_id_of(r), [])
            act = [s for s in spans if s["service"] == "activator" and s["kind"] == linking.SERVER]
            fn = [s for s in spans if s["service"] == "fn-async" and s["kind"] == linking.SERVER]
            assert act and fn, (mode, r, spans)
            # The activator's span is the one its traceresponse named, and the function ran
            # after it answered.
            assert act[0]["span_id"] == r["async_parent_span_id"], (mode, r, act)
            assert fn[0]["start"] >= act[0]["end"], (mode, r, act, fn)
            assert fn[0]["parent"] and act[0]["parent"], (mode, r, spans)
            checked += 1
    assert checked >= 4


# --------------------------------------------------------------------------- no headers at all
# haproxy -> nginx -> Python server, keep-alive connections reused on every hop, and no trace
# header anywhere (issue 16): the kernel's causality (the inbound request a thread was serving
# when it sent one) and the TCP sequence number of each request's first byte must make each
# request one trace of its five spans with the right parents. Correctness is checked against
# something the tracer does not use: a request id in the URL that every hop forwards.
HAPROXY_CFG = """
global
    nbthread 2
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 60s
    option http-keep-alive
frontend fe
    bind 127.0.0.1:{port}
    default_backend nginx
backend nginx
    http-reuse always
    server ng 127.0.0.1:{upstream}
"""
HOPS = [("haproxy", SERVER), ("haproxy", CLIENT), ("nginx", SERVER), ("nginx", CLIENT),
        ("dt-pyserver", SERVER)]
HEADERLESS_REQUESTS = 300
RID = re.compile(r"/rq-(c\d+|a)-(\d+)")


def _rid(span):
    m = RID.search(span.get("path") or "")
    return m.group(0) if m else None


def headerless_report(spans, rids, rid_of=_rid, hops=HOPS):
    """Per request id: its spans make one trace, each hop under the one in front of it.
    Returns (whole, problems of incomplete requests, wrong parents)."""
    parent_hop = {hops[i]: hops[i - 1] for i in range(1, len(hops))}
    by_id = {s["span_id"]: s for s in spans}
    by_rid = {}
    for s in spans:
        by_rid.setdefault(rid_of(s), []).append(s)
    wrong = []
    for s in spans:
        if not s["parent_span_id"]:
            continue
        p = by_id.get(s["parent_span_id"])
        hop = (s["service"], s["kind"])
        if p is None or rid_of(p) != rid_of(s) or parent_hop.get(hop) != (p["service"], p["kind"]):
            wrong.append("%s %s under %s" % (hop, s["path"], p and ((p["service"], p["kind"]), p["path"])))
    whole, missing = 0, []
    for rid in rids:
        got = {(s["service"], s["kind"]): s for s in by_rid.get(rid, [])}
        problems = []
        if len(by_rid.get(rid, [])) != len(hops) or set(got) != set(hops):
            problems.append("spans %s" % sorted(got))
        elif len({s["trace_id"] for s in got.values()}) != 1:
            problems.append("traces %d" % len({s["trace_id"] for s in got.values()}))
        else:
            for hop, s in got.items():
                want = got[parent_hop[hop]]["span_id"] if hop in parent_hop else ""
                if s["parent_span_id"] != want:
                    problems.append("%s parent %s" % (hop, "missing" if not s["parent_span_id"] else "other"))
        if problems:
            missing.append((rid, problems))
        else:
            whole += 1
    return whole, missing, wrong


def start_chain(procs, tmp):
    """haproxy -> nginx -> Python server; returns haproxy's port and the chain's pids."""
    assert shutil.which("haproxy"), "haproxy not installed: run scripts/install-deps.sh"
    py = PyServer(procs, tmp)
    ng = Nginx(procs, tmp, upstream_port=py.port, workers=2, keepalive=64)
    port = free_port()
    cfg = os.path.join(tmp, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(HAPROXY_CFG.format(port=port, upstream=ng.port))
    hp = procs.spawn("haproxy", ["haproxy", "-db", "-f", cfg], tmp)
    wait_for(lambda: can_connect(port), 15, "haproxy to listen", hp)
    return port, {hp.pid, py.pid, *ng.pids}


def pid_args(pids):
    return [a for p in sorted(pids) for a in ("--pid", str(p))]


@pytest.fixture(scope="module")
def headerless_chain(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("headerless"))
    procs = Procs()
    try:
        port, pids = start_chain(procs, tmp)
        tracer = Tracer(procs, tmp, pid_args(pids))
        tracer.start()
        rids = {}
        for conc in (4, 32):
            tag = "c%d" % conc
            reqs = [{"method": "GET", "path": "/proxy/bytes/64/rq-%s-%d" % (tag, i)}
                    for i in range(HEADERLESS_REQUESTS)]
            run_pyclient(tmp, port, conns_for(reqs, per_conn=HEADERLESS_REQUESTS // conc),
                         concurrency=conc, name="client-" + tag)
            rids[conc] = ["/rq-%s-%d" % (tag, i) for i in range(HEADERLESS_REQUESTS)]
        time.sleep(1.5)  # the last traces leave the assembler
        tracer.stop_ok()
        yield {"tracer": tracer, "rids": rids, "spans": tracer.spans}
    finally:
        procs.kill_all()


@pytest.mark.parametrize("conc", [4, 32])
def test_no_headers_whole_traces_from_the_kernel(headerless_chain, conc):
    spans, tracer = headerless_chain["spans"], headerless_chain["tracer"]
    whole, missing, wrong = headerless_report(spans, headerless_chain["rids"][conc])
    mine = [w for w in wrong if "-c%d-" % conc in w]
    summary = "%d concurrent: %d/%d whole; incomplete %s\nwrong %s\n%s" % (
        conc, whole, HEADERLESS_REQUESTS, missing[:10], mine[:10], tracer.diag())
    print(summary.splitlines()[0])
    assert not mine, "wrong parents: " + summary
    assert whole >= 0.99 * HEADERLESS_REQUESTS, summary


def test_no_headers_causes_counted(headerless_chain):
    st = headerless_chain["tracer"].stats()
    # every CLIENT request judged once: found, ambiguous or unknown
    judged = sum(st.get(k, 0) for k in ("client_cause_found", "client_cause_ambiguous",
                                        "client_cause_unknown"))
    assert judged >= 2 * 2 * HEADERLESS_REQUESTS, st
    assert st["parents_by_seq"] >= 2 * 2 * HEADERLESS_REQUESTS * 0.99, st


def test_no_headers_trace_ids_from_the_kernel(headerless_chain):
    """The kernel gave every span its request's trace id (minted at haproxy, inherited by
    cause and by the wire downstream): user space joined almost nothing it had not."""
    spans, st = headerless_chain["spans"], headerless_chain["tracer"].stats()
    requests = 2 * HEADERLESS_REQUESTS
    assert all(s["attrs"].get("difftrace.trace_id.origin") == "kernel" for s in spans), \
        [s for s in spans if s["attrs"].get("difftrace.trace_id.origin") != "kernel"][:3]
    # One id minted per request (its haproxy SERVER span), inherited by the four others.
    assert requests <= st["trace_ids_minted"] <= requests * 1.01, st
    assert st["trace_ids_by_cause"] >= 2 * requests * 0.99, st
    assert st["trace_ids_by_wire"] >= 2 * requests * 0.99, st
    assert st["causal_merges"] <= requests * 0.01, st


# --------------------------------------------------------------- no headers, the filter on
# The same chain under the differential filter (issue 16): the platform hops (haproxy, nginx)
# keep their normal spans in the kernel, the Python server is the function. A request made
# slow at the function is an anomaly there, and its trace must come with the exact spans of
# the hops in front of it: reported as its flagged trace's, or pulled back from the
# keep-buffer, all by the trace id the kernel gave a request that carried none. A normal
# request's platform spans stay in the kernel: kept under their trace id, not dropped.
FILTER_CFG = """services:
  - {name: haproxy, match: {comm: haproxy}, role: platform, latency: 5s}
  - {name: nginx, match: {comm: nginx}, role: platform, latency: 5s}
  - {name: dt-pyserver, match: {comm: dt-pyserver}, role: function, latency: 100ms}
assembler: {wait: 300ms}
"""
NORMAL, SLOW = 40, 6
# Request ids as numbers: every request of a kind is one endpoint ({n}), not one each.
FRID = re.compile(r"/rq/(\d+)")


def _frid(span):
    m = FRID.search(span.get("path") or "")
    return m.group(0) if m else None


@pytest.fixture(scope="module")
def filtered_chain(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("headerless-filter"))
    procs = Procs()
    try:
        port, pids = start_chain(procs, tmp)
        cfg = os.path.join(tmp, "difftrace.yaml")
        with open(cfg, "w") as f:
            f.write(FILTER_CFG)
        tracer = Tracer(procs, tmp, pid_args(pids), extra=["--config", cfg], no_filter=False)
        tracer.start()
        reqs = [{"method": "GET", "path": "/proxy/bytes/64/rq/%d" % (10000 + i)}
                for i in range(NORMAL)]
        slow = [{"method": "GET", "path": "/proxy/sleep/150/rq/%d" % (20000 + i)}
                for i in range(SLOW)]
        # the slow ones among the normal ones, on connections kept alive
        mixed = reqs[:NORMAL // 2] + slow + reqs[NORMAL // 2:]
        run_pyclient(tmp, port, conns_for(mixed, per_conn=len(mixed) // 4), concurrency=4,
                     name="client-filter")
        time.sleep(1.0)  # the last traces leave the assembler (300 ms)
        tracer.stop_ok()
        yield {"tracer": tracer, "spans": tracer.spans}
    finally:
        procs.kill_all()


def assert_slow_requests_whole(spans, tracer, label="", **report_args):
    """Every slow request of a filtered chain is one whole trace with every parent right: the
    function's span anomalous by latency, each hop in front of it reported as its flagged
    trace's span or kept and pulled back, never estimated (degraded: the kernel had no room for
    its endpoint's histogram, and reported it). The summary, for further checks."""
    rids = ["/rq/%d" % (20000 + i) for i in range(SLOW)]
    whole, missing, wrong = headerless_report([s for s in spans if _frid(s) in rids], rids, _frid,
                                              **report_args)
    summary = "%s%d/%d slow requests whole; incomplete %s\nwrong %s\n%s" % (
        label, whole, SLOW, missing, wrong[:10], tracer.diag())
    assert not wrong and whole == SLOW, summary
    for s in spans:
        if _frid(s) not in rids:
            continue
        d, why = s["attrs"].get("difftrace.decision"), s["attrs"].get("difftrace.reason")
        if s["service"] == "dt-pyserver":
            assert (d, why) == ("anomalous", "latency"), (s, summary)
        else:
            assert (d, why) in (("reported", "flagged_trace"), ("kept", None),
                                ("reported", "degraded")), (s, summary)
    return summary


def test_no_headers_filter_anomaly_comes_with_every_hop(filtered_chain):
    spans, tracer = filtered_chain["spans"], filtered_chain["tracer"]
    assert_slow_requests_whole(spans, tracer)


def test_no_headers_filter_keeps_normal_platform_spans(filtered_chain):
    spans, tracer = filtered_chain["spans"], filtered_chain["tracer"]
    st = tracer.stats()
    normal = [s for s in spans if (_frid(s) or "").startswith("/rq/1")]
    # only the function's spans of normal requests leave the kernel (or a platform span the
    # kernel had no histogram room for: reported as degraded, never lost)
    fn = [s for s in normal if s["service"] == "dt-pyserver"]
    platform = [s for s in normal if s["service"] != "dt-pyserver"]
    assert len(fn) == NORMAL, tracer.diag()
    assert all(s["attrs"].get("difftrace.reason") == "degraded" for s in platform), tracer.diag()
    # every platform span had a trace id to be kept by: none dropped for want of one
    assert st["spans_dropped_no_trace_id"] == 0, tracer.diag()
    assert st["spans_kept"] >= 4 * NORMAL, tracer.diag()


# ---------------------------------------------------------------- no headers, Go proxies
# Go's net/http (issue 16): goroutines move between threads, and Transport writes a request
# from its connection's writeLoop goroutine, not from the handler's, so threads say nothing
# of causes there. The platform's own Go proxies, activator -> queue-proxy -> a Python
# server, no trace header anywhere: whole traces from causes by goroutine (the Go uprobes,
# bpf/lib/go_causality.bpf.h) and TCP sequence numbers. Async requests (Prefer:
# respond-async) are answered 202 by the activator and sent later by one of its workers:
# the deferred invocation hangs under the activator's span of the 202.
GO_HOPS = [("activator", SERVER), ("activator", CLIENT), ("queue-proxy", SERVER),
           ("queue-proxy", CLIENT), ("dt-pyserver", SERVER)]
GO_REQUESTS, GO_ASYNC = 200, 20


def build_platform_binaries():
    subprocess.run(["bash", "-c", "source scripts/platform/common.sh && platform_build"],
                   cwd=REPO, check=True, timeout=300)
    return REPO / "build/platform"


def start_go_chain(procs, tmp):
    """activator -> queue-proxy -> Python server (the platform's Go proxies); returns the
    activator's port, the Python server and the chain's pids."""
    assert shutil.which("go"), "go not installed: run scripts/install-deps.sh"
    bins = build_platform_binaries()
    py = PyServer(procs, tmp)
    qport, aport = free_port(), free_port()
    qp = procs.spawn("queue-proxy", [str(bins / "queue-proxy"), "-listen", "127.0.0.1:%d" % qport,
                                     "-upstream", "127.0.0.1:%d" % py.port, "-function", "bytes"], tmp)
    act = procs.spawn("activator", [str(bins / "activator"), "-listen", "127.0.0.1:%d" % aport,
                                    "-route", "bytes=127.0.0.1:%d" % qport,
                                    "-route", "sleep=127.0.0.1:%d" % qport], tmp)
    for port, p in ((qport, qp), (aport, act)):
        wait_for(lambda: can_connect(port), 15, "a Go proxy to listen", p)
    return aport, py, {py.pid, qp.pid, act.pid}


@pytest.fixture(scope="module")
def go_chain(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("headerless-go"))
    procs = Procs()
    try:
        aport, py, pids = start_go_chain(procs, tmp)
        tracer = Tracer(procs, tmp, pid_args(pids))
        tracer.start()
        rids = {}
        for conc in (4, 32):
            tag = "c%d" % conc
            reqs = [{"method": "GET", "path": "/bytes/64/rq-%s-%d" % (tag, i)} for i in range(GO_REQUESTS)]
            run_pyclient(tmp, aport, conns_for(reqs, per_conn=GO_REQUESTS // conc), concurrency=conc,
                         name="client-go-" + tag)
            rids[conc] = ["/rq-%s-%d" % (tag, i) for i in range(GO_REQUESTS)]
        asy = [{"method": "GET", "path": "/bytes/64/rq-a-%d" % i, "headers": {"Prefer": "respond-async"}}
               for i in range(GO_ASYNC)]
        answered = run_pyclient(tmp, aport, conns_for(asy, per_conn=GO_ASYNC // 4), concurrency=4,
                                name="client-go-async")
        rids["async"] = ["/rq-a-%d" % i for i in range(GO_ASYNC)]
        wait_for(lambda: sum(1 for r in py.requests() if "/rq-a-" in r.get("path", "")) >= GO_ASYNC,
                 15, "the async invocations to reach the server")
        time.sleep(1.5)  # the last traces leave the assembler
        tracer.stop_ok()
        yield {"tracer": tracer, "rids": rids, "spans": tracer.spans, "answered": answered}
    finally:
        procs.kill_all()


@pytest.mark.parametrize("conc", [4, 32])
def test_no_headers_go_proxies_whole_traces(go_chain, conc):
    spans, tracer = go_chain["spans"], go_chain["tracer"]
    whole, missing, wrong = headerless_report(spans, go_chain["rids"][conc], hops=GO_HOPS)
    mine = [w for w in wrong if "-c%d-" % conc in w]
    summary = "Go, %d concurrent: %d/%d whole; incomplete %s\nwrong %s\n%s" % (
        conc, whole, GO_REQUESTS, missing[:10], mine[:10], tracer.diag())
    print(summary.splitlines()[0])
    assert not mine, "wrong parents: " + summary
    assert whole >= 0.99 * GO_REQUESTS, summary
    st = tracer.stats()
    assert st["go_g_mismatch"] == 0, st
    # two uprobe hits per request a Go proxy sends, none per request it reads
    sent = 2 * (2 * GO_REQUESTS + GO_ASYNC)
    assert sent <= st["go_uprobe_hits"] <= 2 * sent * 1.05, st
    # each probe on its function's stack-check branch (one trap per hit, not two): the
    # platform's Go binaries (Debian's Go 1.19) have the lea/cmp/jbe prologue, the jbe at +12
    placed = re.findall(r"uprobes attached, causes by goroutine \(\S+\+(\d+), \S+\+(\d+)\)",
                        tracer.stderr())
    assert len(placed) == 2 and all(int(a) > 0 and int(b) > 0 for a, b in placed), tracer.diag()


def test_no_headers_go_async_under_the_202(go_chain):
    spans, tracer = go_chain["spans"], go_chain["tracer"]
    assert all(r["status"] == 202 for r in go_chain["answered"]), go_chain["answered"][:3]
    rids = go_chain["rids"]["async"]
    whole, missing, wrong = headerless_report(spans, rids, hops=GO_HOPS)
    summary = "Go async: %d/%d whole; incomplete %s\nwrong %s\n%s" % (
        whole, GO_ASYNC, missing[:10], [w for w in wrong if "-a-" in w][:10], tracer.diag())
    assert not [w for w in wrong if "-a-" in w], summary
    assert whole == GO_ASYNC, summary
    for rid in rids:
        got = {(s["service"], s["kind"]): s for s in spans if _rid(s) == rid}
        accepted, invoked = got[("activator", SERVER)], got[("activator", CLIENT)]
        assert accepted["attrs"].get("http.response.status_code") == 202, accepted
        assert invoked["start"] >= accepted["end"], (accepted, invoked)


# The Go proxies under the filter, no headers: a request made slow at the function comes
# with the exact spans of the Go hops in front of it (the trace id the kernel gave it,
# inherited by goroutine), and a normal request's Go spans stay in the kernel, kept.
GO_FILTER_CFG = """services:
  - {name: activator, match: {comm: activator}, role: platform, latency: 5s}
  - {name: queue-proxy, match: {comm: queue-proxy}, role: platform, latency: 5s}
  - {name: dt-pyserver, match: {comm: dt-pyserver}, role: function, latency: 100ms}
assembler: {wait: 300ms}
"""


@pytest.fixture(scope="module")
def filtered_go_chain(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("headerless-go-filter"))
    procs = Procs()
    try:
        aport, _, pids = start_go_chain(procs, tmp)
        cfg = os.path.join(tmp, "difftrace.yaml")
        with open(cfg, "w") as f:
            f.write(GO_FILTER_CFG)
        tracer = Tracer(procs, tmp, pid_args(pids), extra=["--config", cfg], no_filter=False)
        tracer.start()
        reqs = [{"method": "GET", "path": "/bytes/64/rq/%d" % (10000 + i)} for i in range(NORMAL)]
        slow = [{"method": "GET", "path": "/sleep/150/rq/%d" % (20000 + i)} for i in range(SLOW)]
        mixed = reqs[:NORMAL // 2] + slow + reqs[NORMAL // 2:]
        run_pyclient(tmp, aport, conns_for(mixed, per_conn=len(mixed) // 4), concurrency=4,
                     name="client-go-filter")
        time.sleep(1.0)  # the last traces leave the assembler (300 ms)
        tracer.stop_ok()
        yield {"tracer": tracer, "spans": tracer.spans}
    finally:
        procs.kill_all()


def test_no_headers_go_filter_anomaly_comes_with_every_hop(filtered_go_chain):
    spans, tracer = filtered_go_chain["spans"], filtered_go_chain["tracer"]
    summary = assert_slow_requests_whole(spans, tracer, "Go: ", hops=GO_HOPS)
    # the normal requests' Go spans stayed in the kernel
    normal = [s for s in spans if (_frid(s) or "").startswith("/rq/1")]
    assert all(s["service"] == "dt-pyserver" or s["attrs"].get("difftrace.reason") == "degraded"
               for s in normal), summary
