#!/usr/bin/env python3
"""Scores `difftrace analyze` against the load generator's ground truth and tabulates the
breakdown (scripts/eval/analyze_eval.sh's output directory: groundtruth.jsonl, analysis.json,
load-*.json). Writes report.json and report.md there. Stdlib only.

  culprit accuracy   for every injected anomaly (hop=kind): the request's trace is in the
                     analysis, flagged anomalous, and its culprit's service is the hop where the
                     anomaly was injected; per hop and kind, and per kind family (delays: slow,
                     stall, queue; errors: 500, 503, reset).
  async path         requests through the async function: the critical path has a fn-async
                     span (the 202 was answered at once, the function ran later).
  breakdown          per function and shape over the normal requests (no anomaly injected, the
                     expected status): count, end-to-end p50/p99 of the trace, and each
                     category's share of the summed duration, overall and over the traces at or
                     above the group's p99 (the tail). The platform's share per shape.
  intervals          the platform's share per interval, from the analysis's intervals[].
"""
import collections
import json
import os
import sys

CATS = ("platform", "function", "network", "async_wait", "downstream")
SHAPES = ("steady", "fluctuating", "spikes", "jump")
DELAYS = {"slow", "stall", "queue"}


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def ratio(a, b):
    return a / b if b else None


def pct(x):
    if x is None:
        return "-"
    text = "%.1f%%" % (100 * x)
    return "%.2f%%" % (100 * x) if text == "100.0%" and x < 1 else text  # 2089/2090 is not 100%


def ms(ns):
    return "-" if ns is None else "%.2f" % (ns / 1e6)


def quantile(sorted_values, q):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def shares(traces):
    total = sum(t["duration_ns"] for t in traces)
    return {c: ratio(sum(t["breakdown"][c + "_ns"] for t in traces), total) for c in CATS}


def group_stats(traces):
    durations = sorted(t["duration_ns"] for t in traces)
    p99 = quantile(durations, 0.99)
    tail = [t for t in traces if t["duration_ns"] >= p99] if traces else []
    return {"count": len(traces), "p50_ns": quantile(durations, 0.5),
            "p90_ns": quantile(durations, 0.9), "p99_ns": p99,
            "shares": shares(traces), "shares_p99": shares(tail)}


def main(d):
    truth = list(read_jsonl(os.path.join(d, "groundtruth.jsonl")))
    with open(os.path.join(d, "analysis.json")) as f:
        analysis = json.load(f)
    traces = {t["trace_id"]: t for t in analysis["traces"]}

    # Culprit accuracy per hop=kind.
    per = collections.defaultdict(lambda: collections.Counter())
    misses = []
    for r in truth:
        a = r.get("anomaly")
        if not a:
            continue
        key = "%s=%s" % (a["hop"], a["kind"])
        c = per[key]
        c["injected"] += 1
        t = traces.get(r["trace_id"])
        if not t:
            misses.append({"trace_id": r["trace_id"], "injected": key, "why": "no trace"})
            continue
        c["found"] += 1
        if not t["anomalous"]:
            misses.append({"trace_id": r["trace_id"], "injected": key, "why": "not anomalous"})
            continue
        c["anomalous"] += 1
        culprit = t.get("culprit") or {}
        if culprit.get("service") == a["hop"]:
            c["culprit_at_hop"] += 1
        else:
            misses.append({"trace_id": r["trace_id"], "injected": key,
                           "why": "culprit %s (%s, excess %s ns)" % (
                               culprit.get("service"), culprit.get("by"), culprit.get("excess_ns")),
                           "path": [(p["service"], p["self_ns"], p.get("async_wait_ns", 0))
                                    for p in t["critical_path"]]})

    def acc(c):
        return {**c, "accuracy": ratio(c["culprit_at_hop"], c["injected"])}

    by_hop_kind = {k: acc(per[k]) for k in sorted(per)}
    fam = collections.defaultdict(collections.Counter)
    for k, c in per.items():
        fam["delay" if k.split("=")[1] in DELAYS else "error"].update(c)
        fam["all"].update(c)
    by_family = {k: acc(fam[k]) for k in ("delay", "error", "all") if k in fam}

    # Async requests: the path goes through the async function.
    async_reqs = [r for r in truth if r.get("async") and not r.get("anomaly")]
    async_found = [traces[r["trace_id"]] for r in async_reqs if r["trace_id"] in traces]
    through = sum(any(p["service"] == r_fn for p in t["critical_path"])
                  for t, r_fn in ((traces[r["trace_id"]], r["function"]) for r in async_reqs
                                  if r["trace_id"] in traces))
    async_res = {"requests": len(async_reqs), "found": len(async_found), "through_function": through,
                 "share": ratio(through, len(async_found)),
                 "async_wait_share": shares(async_found)["async_wait"] if async_found else None}

    # Breakdown per function and shape, normal requests.
    normal = collections.defaultdict(list)
    for r in truth:
        if r.get("anomaly") or r.get("status") != r.get("expect_status") or r.get("error"):
            continue
        t = traces.get(r["trace_id"])
        if not t:
            continue
        name = r["target"]
        normal[(name, r["shape"])].append(t)
        normal[(name, "all")].append(t)
        normal[("all", r["shape"])].append(t)
        normal[("all", "all")].append(t)
    breakdown = [{"function": k[0], "shape": k[1], **group_stats(v)}
                 for k, v in sorted(normal.items())]

    # The platform's share per interval (every route together), with the shape that ran then.
    intervals = analysis.get("intervals") or []
    width = (analysis.get("summary") or {}).get("interval_ns") or 1
    shape_at = sorted((r["start_ns"], r["shape"]) for r in truth)
    def shape_of(t):
        shapes = collections.Counter(sh for st, sh in shape_at if t <= st < t + width)
        return shapes.most_common(1)[0][0] if shapes else "-"
    over_time = [{"start_ns": i["start_ns"], "shape": shape_of(i["start_ns"]), "count": i["count"],
                  "anomalous": i["anomalous"], "p50_ns": i["p50_ns"], "p99_ns": i["p99_ns"],
                  "shares": i["shares"]}
                 for i in intervals if i["service"] == "*"]
    res = {"requests": len(truth), "traces": len(traces),
           "injected": sum(c["injected"] for c in per.values()),
           "culprit_accuracy": {"by_family": by_family, "by_hop_kind": by_hop_kind},
           "async": async_res, "breakdown": breakdown, "misses": misses[:50],
           "summary": analysis.get("summary"), "interval_ns": width, "over_time": over_time}
    with open(os.path.join(d, "report.json"), "w") as f:
        json.dump(res, f, indent=1)

    md = ["%d requests, %d traces analyzed, %d anomalies injected." % (
        res["requests"], res["traces"], res["injected"]), "",
        "Culprit accuracy (the culprit's service is the hop where the anomaly was injected):", "",
        "| injected (hop=kind) | injected | trace found | flagged anomalous | culprit at the hop | accuracy |",
        "|---|---:|---:|---:|---:|---:|"]
    for k, c in list(by_family.items()) + list(by_hop_kind.items()):
        name = "**%s**" % k if k in by_family else k
        md.append("| %s | %d | %d | %d | %d | %s |" % (name, c["injected"], c["found"], c["anomalous"],
                                                     c["culprit_at_hop"], pct(c["accuracy"])))
    md += ["", "Async requests (no anomaly): %d, %d traces found, the critical path goes through "
           "the async function in %d (%s); async wait is %s of their summed latency." % (
               async_res["requests"], async_res["found"], async_res["through_function"],
               pct(async_res["share"]), pct(async_res["async_wait_share"])), ""]
    md += ["Breakdown of normal requests (shares of the summed end-to-end latency; tail: the "
           "traces at or above the group's p99):", "",
           "| function | shape | count | p50 ms | p99 ms | platform | function | network | async wait | downstream | platform, tail |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for b in breakdown:
        s = b["shares"]
        md.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            b["function"], b["shape"], b["count"], ms(b["p50_ns"]), ms(b["p99_ns"]),
            *(pct(s[c]) for c in CATS), pct(b["shares_p99"]["platform"])))
    if over_time:
        t0 = over_time[0]["start_ns"]
        md += ["", "Every route together per interval of %g s (the traces' start; the shape that "
               "sent most of them):" % (width / 1e9), "",
               "| from | shape | traces | anomalous | p50 ms | p99 ms | platform | function | network | async wait | downstream |",
               "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for i in over_time:
            md.append("| +%.0f s | %s | %d | %d | %s | %s | %s |" % (
                (i["start_ns"] - t0) / 1e9, i["shape"], i["count"], i["anomalous"], ms(i["p50_ns"]),
                ms(i["p99_ns"]), " | ".join(pct(i["shares"][c]) for c in CATS)))
    if misses:
        md += ["", "Misses (first %d):" % min(len(misses), 20), ""]
        md += ["- %s %s: %s" % (m["trace_id"], m["injected"], m["why"]) for m in misses[:20]]
    with open(os.path.join(d, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/eval/analyze")
