#!/usr/bin/env python3
"""Scores difftrace's parent links against the load generator's ground truth (issue 5).

A request counts as linked when its trace (the trace id it sent, or without trace headers
the one the platform named in traceresponse, or with no trace header anywhere the trace of
the one ingress SERVER span with its path and client port inside its send and answer)
holds exactly its path and nothing else, as one tree: the SERVER span of each hop in
ground truth's `hops`, the CLIENT span each hop sent to the next one between them, every
span the child of the one before it, and the root's parent the client's span from
traceparent (none without trace headers). An async request answered 202 must also show
the async edge: the activator's SERVER span is the span the 202's traceresponse named, and
the function's SERVER span starts after it ended.

  linking_eval.py --truth gt.jsonl --otlp spans.otlp.jsonl [--json out.json] [--min 0.99]

Exit 1 below --min, 2 on bad input.
"""
import argparse
import collections
import importlib.util
import json
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("difftrace_eval", Path(__file__).with_name("eval.py"))
ev = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ev)

SERVER, CLIENT = 2, 3
KIND = {SERVER: "S", CLIENT: "C"}


def expected_path(hops):
    path = []
    for i, h in enumerate(hops):
        path.append((SERVER, h))
        if i + 1 < len(hops):
            path.append((CLIENT, h))
    return path


def trace_id_of(r):
    return r.get("trace_id") or r.get("response_trace_id")


# Slack for the tracer's clock against the load generator's (both CLOCK_REALTIME, the
# tracer's converted from the kernel's monotonic clock at its start).
CLOCK_SLACK_NS = 1_000_000


def ingress_index(spans):
    """The ingress's SERVER spans by path: where a request that no header names is found."""
    idx = collections.defaultdict(list)
    for s in spans:
        if s["kind"] == SERVER and s["service"] == "haproxy" and s.get("path"):
            idx[s["path"]].append(s)
    return idx


def trace_by_time(r, ingress):
    """The trace of the one ingress SERVER span of r's path inside r's send and answer (and
    from its connection's client port, when the ground truth has it)."""
    c = [s for s in ingress.get(r.get("path"), [])
         if r["start_ns"] - CLOCK_SLACK_NS <= s["start"] and s["end"] <= r["end_ns"] + CLOCK_SLACK_NS
         and (not r.get("client_port") or s.get("client_port") in (None, r["client_port"]))]
    return c[0]["trace_id"] if len(c) == 1 else None


def check(r, spans, tid=None):
    """None when the trace is the request's path with correct parents, else why not."""
    if not (tid or trace_id_of(r)):
        return "no trace id (no traceresponse, no one ingress span in its time)"
    if not spans:
        return "no spans"
    want = expected_path(r["hops"])
    have = collections.Counter((s["kind"], s["service"]) for s in spans)
    need = collections.Counter(want)
    if have != need:
        missing = need - have
        extra = have - need
        parts = []
        if missing:
            parts.append("missing " + ",".join(f"{KIND.get(k, k)}:{svc}" for (k, svc) in sorted(missing)))
        if extra:
            parts.append("extra " + ",".join(f"{KIND.get(k, k)}:{svc}" for (k, svc) in sorted(extra)))
        return "; ".join(parts)
    by_id = {s["span_id"]: s for s in spans}
    if len(by_id) != len(spans):
        return "duplicate span ids"
    children = collections.defaultdict(list)
    roots = []
    for s in spans:
        if s["parent"] in by_id:
            children[s["parent"]].append(s)
        else:
            roots.append(s)
    if len(roots) != 1:
        return f"{len(roots)} roots (unlinked spans)"
    root = roots[0]
    if root["parent"] != r.get("parent_span_id"):
        return "root's parent is not the client's span" if r.get("parent_span_id") else \
            "root has a parent without trace headers"
    node, chain = root, []
    for k, (kind, service) in enumerate(want):
        if (node["kind"], node["service"]) != (kind, service):
            return f"hop {k}: {KIND.get(node['kind'])}:{node['service']} where {KIND[kind]}:{service} belongs"
        chain.append(node)
        kids = children[node["span_id"]]
        if k + 1 < len(want):
            if len(kids) != 1:
                return f"hop {k} ({KIND[kind]}:{service}) has {len(kids)} children"
            node = kids[0]
    if r.get("async") and r.get("status") == 202 and len(chain) >= 3:
        activator, fn = chain[2], chain[-1]
        if r.get("async_parent_span_id") and activator["span_id"] != r["async_parent_span_id"]:
            return "the activator's span is not the one its traceresponse named"
        if len(chain) == 2 * len(r["hops"]) - 1 and r["hops"][-1] == r.get("function") and \
                fn["start"] < activator["end"]:
            return "the function's span starts before the 202"
    return None


def evaluate(truth, spans):
    traces = collections.defaultdict(list)
    for s in spans:
        traces[s["trace_id"]].append(s)
    sent = [r for r in truth if r.get("error") != "not_sent"]
    fails = collections.Counter()
    by_target = collections.defaultdict(lambda: [0, 0])
    examples = {}
    linked = 0
    ingress = ingress_index(spans)
    for r in sent:
        tid = trace_id_of(r) or trace_by_time(r, ingress)
        why = check(r, traces.get(tid, []), tid)
        by_target[r["target"]][1] += 1
        if why is None:
            linked += 1
            by_target[r["target"]][0] += 1
        else:
            fails[why] += 1
            examples.setdefault(why, r.get("seq"))
    return {
        "requests": len(sent),
        "linked": linked,
        "share": round(linked / len(sent), 4) if sent else None,
        "by_target": {t: {"linked": a, "requests": n, "share": round(a / n, 4)} for t, (a, n) in
                      sorted(by_target.items())},
        "failures": [{"why": w, "count": n, "example_seq": examples[w]} for w, n in fails.most_common()],
        "not_sent": len(truth) - len(sent),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--truth", required=True)
    ap.add_argument("--otlp", required=True)
    ap.add_argument("--json")
    ap.add_argument("--min", type=float)
    ap.add_argument("--label", default="")
    a = ap.parse_args(argv)
    try:
        truth = list(ev.read_jsonl(a.truth))
        spans = ev.load_spans(a.otlp)
    except ev.InputError as e:
        print(f"linking_eval: {e}", file=sys.stderr)
        return 2
    res = evaluate(truth, spans)
    res["label"] = a.label
    head = f"{a.label}: " if a.label else ""
    print(f"{head}{res['linked']}/{res['requests']} requests linked whole "
          f"({100 * (res['share'] or 0):.2f}%), {res['not_sent']} not sent")
    for t, v in res["by_target"].items():
        print(f"  {t:10s} {v['linked']}/{v['requests']} ({100 * v['share']:.2f}%)")
    for f in res["failures"][:10]:
        print(f"  not linked: {f['count']:5d}  {f['why']}  (e.g. seq {f['example_seq']})")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")
    if a.min is not None and (res["share"] or 0) < a.min:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
