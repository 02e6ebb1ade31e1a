#!/usr/bin/env python3
"""Scores difftrace's output against the load generator's ground truth (stdlib only).

  eval.py --truth build/platform/groundtruth.jsonl --otlp out.otlp.jsonl \
          [--stats stats.json] [--nofilter full.otlp.jsonl [--nofilter-truth gt2.jsonl]] \
          [--json result.json] [--min-recall 0.9] [--min-completeness 0.9]

Metrics (docs/platform.md has the details):
  recall        injected anomalies caught: the trace has an exported span at the injected
                hop's service.name with difftrace.decision = anomalous. "strict" also wants
                difftrace.reason other than flagged_trace (the hop itself was judged).
  precision     flagged traces (any span anomalous) that are real anomalies: injected, or a
                request the client saw fail unexpectedly.
  spans/request spans exported per request sent; reduction = 1 - that / the same for a
                --no-filter run (and 1 - spans_reported / spans_seen from --stats).
  completeness  a trace is complete when every hop of its path (ground truth "hops", by
                comm = service.name) has a SERVER span, as many times as the path passes it.
  gRPC          requests the ground truth marks "grpc" (h2c through every hop) count in all of
                the above like the others; a gRPC call failed unexpectedly when its grpc-status
                is not the expected one. Recall and completeness of the gRPC calls alone are
                reported too, so that a hop whose HTTP/2 spans go missing shows.
Exit status: 0, 1 when a --min-* bar is missed, 2 on unusable input.
"""
import argparse
import base64
import collections
import json
import sys

DECISIONS = ("anomalous", "kept", "estimated", "full")
KINDS = {"SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3,
         "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5}
SERVER = 2


class InputError(Exception):
    pass


def read_jsonl(path):
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as e:
                        raise InputError(f"{path}:{n}: not JSON: {e}") from None
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}") from None


def norm_id(v, nbytes):
    """OTLP/JSON ids are hex; plain protobuf-JSON writers emit base64. Accept both."""
    if not v:
        return None
    v = str(v)
    if len(v) == 2 * nbytes:
        try:
            bytes.fromhex(v)
            return v.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(v, validate=True)
        if len(raw) == nbytes:
            return raw.hex()
    except ValueError:
        pass
    return v.lower()


def attr_value(v):
    for k in ("stringValue", "boolValue", "doubleValue"):
        if k in v:
            return v[k]
    if "intValue" in v:
        return int(v["intValue"])  # a string in OTLP/JSON (64-bit), sometimes a number
    if "arrayValue" in v:
        return [attr_value(x) for x in v["arrayValue"].get("values", [])]
    return None


def attrs(lst):
    return {a.get("key"): attr_value(a.get("value", {})) for a in lst or []}


def load_spans(path):
    """Flatten OTLP ExportTraceServiceRequest lines into plain span dicts."""
    spans = []
    for req in read_jsonl(path):
        for rs in req.get("resourceSpans", []):
            res = attrs(rs.get("resource", {}).get("attributes"))
            service = res.get("service.name", "?")
            for ss in rs.get("scopeSpans", rs.get("instrumentationLibrarySpans", [])):
                for sp in ss.get("spans", []):
                    a = attrs(sp.get("attributes"))
                    kind = sp.get("kind", 0)
                    spans.append({
                        "trace_id": norm_id(sp.get("traceId"), 16),
                        "span_id": norm_id(sp.get("spanId"), 8),
                        "parent": norm_id(sp.get("parentSpanId"), 8),
                        "service": service,
                        "name": sp.get("name", ""),
                        "kind": KINDS.get(kind, kind) if isinstance(kind, str) else int(kind),
                        "start": int(sp.get("startTimeUnixNano", 0)),
                        "end": int(sp.get("endTimeUnixNano", 0)),
                        "decision": a.get("difftrace.decision"),
                        "reason": a.get("difftrace.reason"),
                        "status": a.get("http.response.status_code"),
                        "path": a.get("url.path"),
                        "client_port": a.get("client.port"),
                    })
    return spans


def ratio(a, b):
    return round(a / b, 4) if b else None


def failed_unexpectedly(r):
    if r.get("error") is not None or ("expect_status" in r and r["status"] != r["expect_status"]):
        return True
    return r.get("expect_grpc_status") is not None and r.get("grpc_status") != r["expect_grpc_status"]


def by_trace(spans):
    out = collections.defaultdict(list)
    for s in spans:
        out[s["trace_id"]].append(s)
    return out


def completeness(sent, traces, only=None):
    """Share of requests (with spans in output) whose every expected hop has a SERVER span."""
    checked = complete = 0
    missing = collections.Counter()
    for r in sent:
        tid = r.get("trace_id")
        if not tid or tid not in traces or (only is not None and tid not in only):
            continue
        spans = traces[tid]
        servers = [s for s in spans if s["kind"] == SERVER] or spans  # no kinds: count all
        have = collections.Counter(s["service"] for s in servers)
        want = collections.Counter(r.get("hops") or [])
        gaps = {h: n - have[h] for h, n in want.items() if have[h] < n}
        checked += 1
        if gaps:
            missing.update(gaps)
        else:
            complete += 1
    return {"traces": checked, "complete": complete, "ratio": ratio(complete, checked),
            "missing_spans_by_hop": dict(missing)}


def time_match(unlabelled, spans):
    """Without trace ids: an anomaly counts as caught if an anomalous span at its hop lies
    inside the request's client window; each span is used once."""
    pool = collections.defaultdict(list)
    for s in spans:
        if s["decision"] == "anomalous":
            pool[s["service"]].append(s)
    caught = 0
    for r in sorted(unlabelled, key=lambda r: r["start_ns"]):
        cands = pool.get(r["anomaly"]["hop"], [])
        for i, s in enumerate(cands):
            if r["start_ns"] <= s["start"] and s["end"] <= r["end_ns"] + 1_000_000:
                caught += 1
                del cands[i]
                break
    return caught


def recall_of(labelled, traces):
    """Injected anomalies (with a trace id) caught: (caught, caught strictly, per hop=kind)."""
    per_kind = collections.defaultdict(lambda: {"injected": 0, "caught": 0})
    caught = strict = 0
    for r in labelled:
        a = r["anomaly"]
        at_hop = [s for s in traces.get(r["trace_id"], []) if s["service"] == a["hop"] and s["decision"] == "anomalous"]
        k = per_kind[f'{a["hop"]}={a["kind"]}']
        k["injected"] += 1
        if at_hop:
            caught += 1
            k["caught"] += 1
            strict += any(s["reason"] != "flagged_trace" for s in at_hop)
    return caught, strict, per_kind


def grpc_part(sent, traces, flagged):
    """The gRPC calls alone: recall and completeness, as for all requests."""
    calls = [r for r in sent if r.get("grpc")]
    labelled = [r for r in calls if r.get("anomaly") and r.get("trace_id")]
    caught, strict, per_kind = recall_of(labelled, traces)
    return {"requests": len(calls), "failed_unexpectedly": sum(map(failed_unexpectedly, calls)),
            "injected_with_trace_id": len(labelled), "caught": caught, "recall": ratio(caught, len(labelled)),
            "caught_strict": strict,
            "by_hop_kind": {k: dict(v, recall=ratio(v["caught"], v["injected"])) for k, v in sorted(per_kind.items())},
            "completeness": {"flagged": completeness(calls, traces, flagged), "all": completeness(calls, traces)}}


def evaluate(truth, spans, stats=None, nf_spans=None, nf_truth=None):
    sent = [r for r in truth if r.get("error") != "not_sent"]
    known = {r["trace_id"]: r for r in sent if r.get("trace_id")}
    traces = by_trace(spans)

    # Recall.
    injected = [r for r in sent if r.get("anomaly")]
    labelled = [r for r in injected if r.get("trace_id")]
    caught, strict, per_kind = recall_of(labelled, traces)
    unlabelled = [r for r in injected if not r.get("trace_id")]
    by_time = time_match(unlabelled, spans) if unlabelled else 0

    # Precision, over traces the ground truth knows.
    flagged = {t for t, ss in traces.items() if any(s["decision"] == "anomalous" for s in ss)}
    flagged_known = flagged & known.keys()
    true_pos = [t for t in flagged_known if known[t].get("anomaly") or failed_unexpectedly(known[t])]
    injected_pos = [t for t in flagged_known if known[t].get("anomaly")]

    decisions = collections.Counter(s["decision"] or "none" for s in spans)
    services = collections.Counter(s["service"] for s in spans)
    result = {
        "requests": {"planned": len(truth), "sent": len(sent), "with_trace_id": len(known),
                     "injected": len(injected), "failed_unexpectedly": sum(map(failed_unexpectedly, sent))},
        "recall": {"injected_with_trace_id": len(labelled), "caught": caught, "recall": ratio(caught, len(labelled)),
                   "caught_strict": strict, "recall_strict": ratio(strict, len(labelled)),
                   "by_hop_kind": {k: dict(v, recall=ratio(v["caught"], v["injected"])) for k, v in sorted(per_kind.items())},
                   "without_trace_id": len(unlabelled), "caught_by_time": by_time,
                   "recall_by_time": ratio(by_time, len(unlabelled))},
        "precision": {"flagged_traces": len(flagged), "flagged_known": len(flagged_known),
                      "flagged_unknown": len(flagged - known.keys()), "true_positive": len(true_pos),
                      "precision": ratio(len(true_pos), len(flagged_known)),
                      "precision_injected_only": ratio(len(injected_pos), len(flagged_known))},
        "spans": {"exported": len(spans), "per_request": ratio(len(spans), len(sent)),
                  "by_decision": dict(decisions), "by_service": dict(services),
                  "traces": len(traces), "traces_known": len(traces.keys() & known.keys())},
        "completeness": {"flagged": completeness(sent, traces, flagged),
                         "all": completeness(sent, traces)},
    }
    if any(r.get("grpc") for r in sent):
        result["grpc"] = grpc_part(sent, traces, flagged)
    if stats is not None:
        seen, reported = stats.get("spans_seen"), stats.get("spans_reported")
        result["stats"] = {k: stats.get(k) for k in ("spans_seen", "spans_reported", "spans_dropped",
                                                     "spans_recovered_exact", "spans_estimated",
                                                     "ringbuf_lost", "traces_exported")}
        result["stats"]["reduction_in_run"] = round(1 - reported / seen, 4) if seen and reported is not None else None
    if nf_spans is not None:
        # Requests of the no-filter run: its own ground truth if given, else its traces.
        nf_requests = (len([r for r in nf_truth if r.get("error") != "not_sent"]) if nf_truth is not None
                       else len({s["trace_id"] for s in nf_spans}))
        nf_per = ratio(len(nf_spans), nf_requests)
        per = result["spans"]["per_request"]
        result["nofilter"] = {"spans": len(nf_spans), "requests": nf_requests, "per_request": nf_per,
                              "reduction": round(1 - per / nf_per, 4) if per is not None and nf_per else None,
                              "completeness": completeness(nf_truth if nf_truth is not None else sent, by_trace(nf_spans))}
    return result


def pct(x):
    return "n/a" if x is None else f"{100 * x:.1f}%"


def report(res, out=sys.stdout):
    q, rc, p, sp, c = res["requests"], res["recall"], res["precision"], res["spans"], res["completeness"]
    w = out.write
    w(f"requests: {q['sent']} sent ({q['with_trace_id']} with trace id), {q['injected']} injected, "
      f"{q['failed_unexpectedly']} failed without injection\n")
    w(f"recall:    {pct(rc['recall'])} ({rc['caught']}/{rc['injected_with_trace_id']}), "
      f"strict {pct(rc['recall_strict'])}")
    if rc["without_trace_id"]:
        w(f"; without trace id, by time: {pct(rc['recall_by_time'])} ({rc['caught_by_time']}/{rc['without_trace_id']})")
    w("\n")
    for k, v in rc["by_hop_kind"].items():
        w(f"  {k:24s} {v['caught']:4d}/{v['injected']:<4d} {pct(v['recall'])}\n")
    w(f"precision: {pct(p['precision'])} of {p['flagged_known']} flagged traces "
      f"(injected only: {pct(p['precision_injected_only'])}; {p['flagged_unknown']} flagged traces not in ground truth)\n")
    w(f"spans:     {sp['exported']} exported, {sp['per_request']} per request; by decision {sp['by_decision']}\n")
    if "stats" in res:
        s = res["stats"]
        w(f"stats:     seen {s['spans_seen']}, reported {s['spans_reported']}, reduction in run "
          f"{pct(s['reduction_in_run'])}, ringbuf lost {s['ringbuf_lost']}\n")
    if "nofilter" in res:
        n = res["nofilter"]
        w(f"no-filter: {n['per_request']} spans per request, reduction {pct(n['reduction'])}, "
          f"completeness {pct(n['completeness']['ratio'])}\n")
    for name in ("flagged", "all"):
        w(complete_line(f"complete ({name} traces)", c[name]))
    if "grpc" in res:
        g = res["grpc"]
        w(f"gRPC:      {g['requests']} calls ({g['failed_unexpectedly']} failed without injection), "
          f"recall {pct(g['recall'])} ({g['caught']}/{g['injected_with_trace_id']})\n")
        for name in ("flagged", "all"):
            w(complete_line(f"gRPC complete ({name} traces)", g["completeness"][name]))


def complete_line(label, x):
    return (f"{label}: {pct(x['ratio'])} ({x['complete']}/{x['traces']})"
            f"{'; missing ' + str(x['missing_spans_by_hop']) if x['missing_spans_by_hop'] else ''}\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--truth", required=True, help="ground truth JSON lines from the load generator")
    ap.add_argument("--otlp", required=True, help="difftrace --export otlp-json:PATH output")
    ap.add_argument("--stats", help="difftrace --stats-json output")
    ap.add_argument("--nofilter", help="otlp-json output of a --no-filter run")
    ap.add_argument("--nofilter-truth", help="ground truth of the --no-filter run, if it was a separate run")
    ap.add_argument("--json", help="write the result as JSON here")
    ap.add_argument("--min-recall", type=float)
    ap.add_argument("--min-completeness", type=float, help="bar for completeness of flagged traces")
    args = ap.parse_args(argv)
    try:
        truth = list(read_jsonl(args.truth))
        spans = load_spans(args.otlp)
        stats = None
        if args.stats:
            try:
                with open(args.stats, encoding="utf-8") as f:
                    stats = json.load(f)
            except (OSError, json.JSONDecodeError) as e:
                raise InputError(f"{args.stats}: {e}") from None
        nf_spans = load_spans(args.nofilter) if args.nofilter else None
        nf_truth = list(read_jsonl(args.nofilter_truth)) if args.nofilter_truth else None
    except InputError as e:
        print(f"eval.py: {e}", file=sys.stderr)
        return 2
    if not truth:
        print(f"eval.py: {args.truth}: no requests", file=sys.stderr)
        return 2
    res = evaluate(truth, spans, stats, nf_spans, nf_truth)
    report(res)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=2)
            f.write("\n")
    bad = []
    if args.min_recall is not None and (res["recall"]["recall"] or 0) < args.min_recall:
        bad.append(f"recall {pct(res['recall']['recall'])} < {pct(args.min_recall)}")
    if args.min_completeness is not None and (res["completeness"]["flagged"]["ratio"] or 0) < args.min_completeness:
        bad.append(f"completeness {pct(res['completeness']['flagged']['ratio'])} < {pct(args.min_completeness)}")
    for b in bad:
        print(f"eval.py: {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
