#!/usr/bin/env python3
"""Reads scripts/eval/filter_eval.sh's output directory and writes report.json and report.md:
recall at the injected hop, platform spans crossing to user space per normal request, spans
exported per mode and the reduction against --no-filter, completeness of anomalous traces, and
how close estimated hop durations come to the real ones (nokeep's estimates against nofilter's
spans of the same trace and hop). Stdlib only.

Then the same per hop, so that no overall figure hides a broken one (a hop: service, span kind
and endpoint, "METHOD /template", as --no-filter's spans name it):
  recall by kind and hop   injected anomalies by kind ("hop=kind") and the endpoint of the
                           injected service's first SERVER span in the trace, caught per mode;
  flagged normal requests  requests without an injected anomaly (or unexpected failure) whose
                           trace a mode flagged, by the hop whose own span was judged anomalous
                           (reason other than flagged_trace; a trace flagged at several hops
                           counts at each, and "first" at the one whose span ended first), out
                           of the normal requests through that hop (--no-filter's spans);
  estimate error by hop    nokeep's estimated spans against nofilter's real ones: count,
                           median and p90 relative error.
"BARS" lists the hops that miss issue 14's bars: recall under 100%, flagged normal requests
over 0.5% of the hop's, estimates off by over 25% at the median or 100% at p90 (5 or more)."""
import collections
import json
import math
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


KIND_NAMES = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
ANOMALY_REASONS = {"latency", "status", "reset", "timeout"}
FLAG_BAR = 0.005       # flagged normal requests per hop
EST_MEDIAN_BAR = 0.25  # estimate error per hop with EST_MIN or more estimates
EST_P90_BAR = 1.0
EST_MIN = 5


def endpoint(name):
    method = name.split(" ", 1)[0] if " " in name else ""
    return (method + " " + template(name)).strip()


def hop_of(s):
    return (s["service"], KIND_NAMES.get(s["kind"], str(s["kind"])), endpoint(s["name"]))


def hop_name(h):
    return " ".join(h)


def p90(xs):
    """Nearest rank: the smallest value with 90% of them at or under it (the largest of 2)."""
    return sorted(xs)[math.ceil(0.9 * len(xs)) - 1] if xs else None


def per_hop(truth, modes, normal):
    """The per-hop tables (see the top of this file)."""
    nf_traces = ev.by_trace(modes["nofilter"][0])
    mode_traces = {m: ev.by_trace(spans) for m, (spans, _) in modes.items()}
    sent = [r for r in truth if r.get("error") != "not_sent" and r.get("trace_id")]

    # Recall by injected kind and hop.
    recall = {}
    for r in sent:
        a = r.get("anomaly")
        if not a:
            continue
        at = sorted((s for s in nf_traces.get(r["trace_id"], []) if s["service"] == a["hop"]),
                    key=lambda s: (s["kind"] != ev.SERVER, s["start"]))
        ep = endpoint(at[0]["name"]) if at else "GET " + template(r.get("path", "?"))
        row = recall.setdefault((a["hop"] + "=" + a["kind"], a["hop"], ep), {
            "anomaly": a["hop"] + "=" + a["kind"], "service": a["hop"], "endpoint": ep,
            "injected": 0, "caught": {m: 0 for m in modes}})
        row["injected"] += 1
        for m in modes:
            if any(s["service"] == a["hop"] and s["decision"] == "anomalous"
                   for s in mode_traces[m].get(r["trace_id"], [])):
                row["caught"][m] += 1
    recall_rows = []
    for k in sorted(recall):
        row = recall[k]
        row["recall"] = {m: ev.ratio(c, row["injected"]) for m, c in row["caught"].items()}
        recall_rows.append(row)

    # Flagged normal requests by the hop that judged its own span anomalous.
    through = collections.defaultdict(set)
    for t in normal:
        for s in nf_traces.get(t, []):
            through[hop_of(s)].add(t)
    flagged = collections.defaultdict(lambda: {m: set() for m in modes})
    first = collections.defaultdict(lambda: {m: set() for m in modes})
    flagged_any = {}
    for m in modes:
        any_m = set()
        for t in normal:
            own = [s for s in mode_traces[m].get(t, [])
                   if s["decision"] == "anomalous" and s["reason"] in ANOMALY_REASONS]
            if not own:
                continue
            any_m.add(t)
            for s in own:
                flagged[hop_of(s)][m].add(t)
            first[hop_of(min(own, key=lambda s: s["end"]))][m].add(t)
        flagged_any[m] = {"flagged": len(any_m), "share": ev.ratio(len(any_m), len(normal))}
    flag_rows = []
    for h in sorted(set(through) | set(flagged)):
        n = len(through.get(h, ()))
        flag_rows.append({
            "service": h[0], "kind": h[1], "endpoint": h[2], "normal_requests": n,
            "flagged": {m: len(flagged[h][m]) if h in flagged else 0 for m in modes},
            "first": {m: len(first[h][m]) if h in first else 0 for m in modes},
            "share": {m: ev.ratio(len(flagged[h][m]) if h in flagged else 0, n) for m in modes}})

    # Estimate error by hop.
    real = collections.defaultdict(list)
    for s in modes["nofilter"][0]:
        real[(s["trace_id"],) + hop_of(s)].append(s["end"] - s["start"])
    errs = collections.defaultdict(list)
    for s in modes["nokeep"][0]:
        if s["decision"] != "estimated":
            continue
        r = real.get((s["trace_id"],) + hop_of(s))
        if r and len(r) == 1 and r[0] > 0:
            errs[hop_of(s)].append(abs((s["end"] - s["start"]) - r[0]) / r[0])
    est_rows = [{"service": h[0], "kind": h[1], "endpoint": h[2], "compared": len(e),
                 "median_relative_error": round(statistics.median(e), 4),
                 "p90_relative_error": round(p90(e), 4)} for h, e in sorted(errs.items())]

    bars = []
    for row in recall_rows:
        low = ["%s %s" % (m, ev.pct(rc)) for m, rc in row["recall"].items() if rc is not None and rc < 1]
        if low:
            bars.append("recall %s at %s %s (%d injected): %s" % (
                row["anomaly"], row["service"], row["endpoint"], row["injected"], ", ".join(low)))
    for row in flag_rows:
        high = ["%s %s (%d)" % (m, ev.pct(sh), row["flagged"][m])
                for m, sh in row["share"].items() if sh is not None and sh > FLAG_BAR]
        if high:
            bars.append("flagged normal requests at %s %s %s (%d normal): %s" % (
                row["service"], row["kind"], row["endpoint"], row["normal_requests"], ", ".join(high)))
    for row in est_rows:
        if row["compared"] >= EST_MIN and (row["median_relative_error"] > EST_MEDIAN_BAR or
                                           row["p90_relative_error"] > EST_P90_BAR):
            bars.append("estimates at %s %s %s: median %s, p90 %s (%d)" % (
                row["service"], row["kind"], row["endpoint"], ev.pct(row["median_relative_error"]),
                ev.pct(row["p90_relative_error"]), row["compared"]))
    return {"recall_by_kind_and_hop": recall_rows, "flagged_normal_by_hop": flag_rows,
            "flagged_normal_any_hop": flagged_any, "estimates_by_hop": est_rows,
            "bars_missed": bars}


def per_hop_markdown(ph, modes):
    lines = ["", "### Recall by injected kind and hop", "",
             "| anomaly | hop endpoint | injected | " + " | ".join(modes) + " |",
             "|" + "---|" * (3 + len(modes))]
    for row in ph["recall_by_kind_and_hop"]:
        lines.append("| %s | %s | %d | %s |" % (
            row["anomaly"], row["endpoint"], row["injected"],
            " | ".join("%s (%d)" % (ev.pct(row["recall"][m]), row["caught"][m]) for m in modes)))
    lines += ["", "### Flagged normal requests by hop", "",
              "Per mode: requests flagged at the hop (its own span anomalous) / normal requests "
              "through it, and in brackets those where it was the first anomalous span.", "",
              "| hop | normal requests | " + " | ".join(modes) + " |",
              "|" + "---|" * (2 + len(modes))]
    for row in ph["flagged_normal_by_hop"]:
        lines.append("| %s %s %s | %d | %s |" % (
            row["service"], row["kind"], row["endpoint"], row["normal_requests"],
            " | ".join("%d %s [%d]" % (row["flagged"][m], ev.pct(row["share"][m]), row["first"][m])
                       for m in modes)))
    lines.append("| any hop | | %s |" % " | ".join(
        "%d %s" % (ph["flagged_normal_any_hop"][m]["flagged"],
                   ev.pct(ph["flagged_normal_any_hop"][m]["share"])) for m in modes))
    lines += ["", "### Estimate error by hop (nokeep against nofilter)", "",
              "| hop | compared | median | p90 |", "|---|---|---|---|"]
    for row in ph["estimates_by_hop"]:
        lines.append("| %s %s %s | %d | %s | %s |" % (
            row["service"], row["kind"], row["endpoint"], row["compared"],
            ev.pct(row["median_relative_error"]), ev.pct(row["p90_relative_error"])))
    lines += ["", "### BARS: hops that miss issue 14's bars", ""]
    lines += ["- " + b for b in ph["bars_missed"]] or ["none"]
    return lines


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
                        "p90_relative_error": round(p90(errs), 4) if errs else None}
    out["per_hop"] = per_hop(truth, modes, normal)
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
    lines += per_hop_markdown(out["per_hop"], list(modes))
    text = "\n".join(lines) + "\n"
    with open(os.path.join(d, "report.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/eval/filter")
