#!/usr/bin/env python3
"""Reads scripts/eval/filter_eval.sh's output directory and writes report.json and report.md:
recall at the injected hop, platform spans crossing to user space per normal request, spans
exported per mode and the reduction against --no-filter, completeness of anomalous traces, and
how close estimated hop durations come to the real ones (nokeep's estimates against nofilter's
spans of the same trace and hop). Stdlib only."""
import collections
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
import eval as ev  # noqa: E402

PLATFORM = {"haproxy", "activator", "queue-proxy"}


def load(d, name):
    spans = ev.load_spans(os.path.join(d, name + ".spans.jsonl"))
    with open(os.path.join(d, name + ".stats.json")) as f:
        return spans, json.load(f)


def template(name):
    path = name.split(" ", 1)[-1].split("?")[0]
    return "/".join("{n}" if p.isdigit() else p for p in path.split("/"))


def main(d):
    truth = list(ev.read_jsonl(os.path.join(d, "groundtruth.jsonl")))
    sent = [r for r in truth if r.get("error") != "not_sent"]
    normal = {r["trace_id"] for r in sent if not r.get("anomaly") and not ev.failed_unexpectedly(r)}
    modes = {m: load(d, m) for m in ("filter", "fn-filtered", "nofilter", "nokeep")}
    nf_spans = modes["nofilter"][0]
    out = {"requests": len(sent), "normal_requests": len(normal), "modes": {}}
    for m, (spans, stats) in modes.items():
        res = ev.evaluate(truth, spans, stats, nf_spans if m != "nofilter" else None, None)
        crossed = [s for s in spans if s["decision"] in ("anomalous", "reported", "full")]
        plat_normal = [s for s in crossed if s["service"] in PLATFORM and s["trace_id"] in normal]
        out["modes"][m] = {
            "recall": res["recall"]["recall"], "caught": res["recall"]["caught"],
            "injected": res["recall"]["injected_with_trace_id"],
            "precision": res["precision"]["precision"],
            "spans_exported": len(spans),
            "spans_per_request": res["spans"]["per_request"],
            "spans_crossed": stats.get("spans_reported"), "spans_seen": stats.get("spans_seen"),
            "platform_spans_crossed_per_normal_request": ev.ratio(len(plat_normal), len(normal)),
            "reduction_vs_nofilter": res.get("nofilter", {}).get("reduction"),
            "complete_flagged": res["completeness"]["flagged"]["ratio"],
            "recovered_exact": stats.get("spans_recovered_exact"),
            "estimated": stats.get("spans_estimated"), "ringbuf_lost": stats.get("ringbuf_lost"),
            "by_decision": res["spans"]["by_decision"],
        }
    # Estimates against the real spans of the same trace and hop.
    real = collections.defaultdict(list)
    for s in nf_spans:
        real[(s["trace_id"], s["service"], s["kind"], template(s["name"]))].append(s["end"] - s["start"])
    errs = []
    for s in modes["nokeep"][0]:
        if s["decision"] != "estimated":
            continue
        r = real.get((s["trace_id"], s["service"], s["kind"], template(s["name"])))
        if r and len(r) == 1 and r[0] > 0:
            errs.append(abs((s["end"] - s["start"]) - r[0]) / r[0])
    out["estimates"] = {"compared": len(errs),
                        "median_relative_error": round(statistics.median(errs), 4) if errs else None,
                        "p90_relative_error": round(sorted(errs)[int(0.9 * (len(errs) - 1))], 4) if errs else None}
    with open(os.path.join(d, "report.json"), "w") as f:
        json.dump(out, f, indent=2)
    lines = ["| mode | recall | precision | spans exported | per request | crossed/seen | "
             "platform spans crossed per normal request | reduction vs --no-filter | "
             "anomalous traces complete | exact / estimated |", "|" + "---|" * 10]
    for m, r in out["modes"].items():
        lines.append("| %s | %s (%s/%s) | %s | %s | %s | %s/%s | %s | %s | %s | %s / %s |" % (
            m, ev.pct(r["recall"]), r["caught"], r["injected"], ev.pct(r["precision"]),
            r["spans_exported"], r["spans_per_request"], r["spans_crossed"], r["spans_seen"],
            r["platform_spans_crossed_per_normal_request"], ev.pct(r["reduction_vs_nofilter"]),
            ev.pct(r["complete_flagged"]), r["recovered_exact"], r["estimated"]))
    e = out["estimates"]
    lines.append("")
    lines.append("requests: %d (%d normal). Estimated hop durations (nokeep) against the real "
                 "spans (nofilter): %d compared, median relative error %s, p90 %s." % (
                     out["requests"], out["normal_requests"], e["compared"],
                     ev.pct(e["median_relative_error"]), ev.pct(e["p90_relative_error"])))
    nf = out["modes"]["nofilter"]["spans_exported"]
    ff = out["modes"]["fn-filtered"]["spans_exported"]
    lines.append("spans exported, --no-filter / functions filtered: %s" % (round(nf / ff, 1) if ff else "n/a"))
    text = "\n".join(lines) + "\n"
    with open(os.path.join(d, "report.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/eval/filter")
