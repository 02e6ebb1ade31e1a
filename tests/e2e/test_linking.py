"""Whole traces with correct parents on the demo platform (issue 5), end to end.

difftrace starts first (--config scripts/platform/difftrace.yaml --no-filter: the platform's
processes are its targets by comm), then a fresh platform on private ports, then a few dozen
requests of the default mix (hello, work, chain through the ingress twice, async) once with
traceparent and once with no trace header at all. Each request's trace must be its path as
one chain of parents (scripts/eval/linking_eval.py), the async edge after the 202, and no
parent may be wrong: a request may miss a link (absent), never get a wrong one.

Run (root, after `make`): /usr/bin/python3 -m pytest -q tests/e2e/test_linking.py
"""
import importlib.util
import shutil
import time

import pytest

from capture_helpers import Procs, Tracer
from platform_util import DOWN, LOADGEN_RUN, REPO, UP, free_ports, platform_env, read_jsonl, read_state, run

_spec = importlib.util.spec_from_file_location("linking_eval", REPO / "scripts/eval/linking_eval.py")
linking = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(linking)

REQUESTS = 40
# A missing link leaves a request with more than one root; anything else is a wrong link.
ABSENT = ("roots (unlinked spans)", "missing ", "no spans")


@pytest.fixture(scope="module")
def traced_platform(tmp_path_factory):
    for tool in ("haproxy", "go"):
        assert shutil.which(tool), f"{tool} not installed: run scripts/install-deps.sh"
    tmp = tmp_path_factory.mktemp("linking")
    procs = Procs()
    tracer = Tracer(procs, str(tmp), [], extra=["--config", str(REPO / "scripts/platform/difftrace.yaml")])
    tracer.start()
    env = platform_env(tmp, free_ports())
    try:
        run([UP], env, timeout=300)
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
    finally:
        if tracer.proc.poll() is None:
            tracer.stop()
        run([DOWN], env, check=False)
        procs.kill_all()


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
