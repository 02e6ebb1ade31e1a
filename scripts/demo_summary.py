#!/usr/bin/env python3
"""Prints what `make demo` captured: spans per service and kind, error spans, a few
sample spans of one request's path, and how the captured requests compare with the load
generator's ground truth. Usage: demo_summary.py OUTDIR (as written by scripts/demo.sh)."""
import collections
import json
import os
import sys


def load_spans(path):
    spans = []
    with open(path) as f:
        for line in f:
            req = json.loads(line)
            for rs in req.get("resourceSpans", []):
                attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
                service = attrs["service.name"]["stringValue"]
                for ss in rs["scopeSpans"]:
                    for s in ss["spans"]:
                        a = {x["key"]: next(iter(x["value"].values())) for x in s["attributes"]}
                        spans.append({
                            "service": service, "trace": s["traceId"], "name": s["name"],
                            "kind": "SERVER" if s["kind"] == 2 else "CLIENT",
                            "status": int(a.get("http.response.status_code", 0)),
                            "grpc": a.get("rpc.grpc.status_code"),
                            "ms": (int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"])) / 1e6,
                            "start": int(s["startTimeUnixNano"]),
                            "decision": a.get("difftrace.decision", ""),
                            "reason": a.get("difftrace.reason", ""),
                        })
    return spans


def main(out):
    spans = load_spans(os.path.join(out, "spans.jsonl"))
    truth = [json.loads(l) for l in open(os.path.join(out, "groundtruth.jsonl"))]
    with open(os.path.join(out, "stats.json")) as f:
        st = json.load(f)
    print("\n== the filter: %d spans closed in the kernel, %d crossed to user space (%d anomalous, "
          "%d of functions, %d warming up, %d of flagged traces), %d kept in the kernel; "
          "%d kept spans pulled back for traces with an anomaly, %d hops estimated"
          % (st["spans_seen"], st["spans_reported"],
             st["reported_latency"] + st["reported_status"] + st["reported_reset"] + st["reported_timeout"],
             st["reported_function"], st["reported_warmup"], st["reported_flagged_trace"],
             st["spans_kept"], st["spans_recovered_exact"], st["spans_estimated"]))
    print("\n== spans exported: %d" % len(spans))
    by = collections.Counter((s["service"], s["kind"]) for s in spans)
    print("%-16s %-7s %7s %9s %9s" % ("service", "kind", "spans", "p50 ms", "errors"))
    for (svc, kind), n in sorted(by.items()):
        ms = sorted(s["ms"] for s in spans if s["service"] == svc and s["kind"] == kind)
        errs = sum(1 for s in spans if s["service"] == svc and s["kind"] == kind
                   and (s["status"] == 0 or s["status"] >= 500 or int(s["grpc"] or 0) != 0))
        print("%-16s %-7s %7d %9.3f %9d" % (svc, kind, n, ms[len(ms) // 2], errs))

    traced = {t["trace_id"] for t in truth if t.get("trace_id")}
    seen = {s["trace"] for s in spans}
    print("\n== requests sent: %d; with an exported span of their trace: %d (%.1f%%; normal "
          "requests leave only their function spans)"
          % (len(truth), len(traced & seen), 100.0 * len(traced & seen) / max(1, len(traced))))
    injected = [t for t in truth if t.get("anomaly")]
    print("== injected anomalies: %d; their traces:" % len(injected))
    for t in injected[:8]:
        a = t["anomaly"]
        mine = sorted((s for s in spans if s["trace"] == t["trace_id"]), key=lambda s: s["start"])
        print("  %s %s:%s%s client saw %s" % (t["trace_id"][:12], a.get("hop"), a.get("kind"),
                                             " %sms" % a["amount_ms"] if a.get("amount_ms") else "",
                                             t.get("status") or t.get("error")))
        for s in mine:
            print("      %-12s %-6s %-28s %4s %9.3f ms  %s %s" % (
                s["service"], s["kind"], s["name"][:28], s["status"] or "-", s["ms"], s["decision"],
                s["reason"]))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/demo")
