#!/usr/bin/env bash
# Linking evaluation on the demo platform (issue 5): the share of requests that yield one
# trace holding every hop of their path (ingress, activator, queue-proxy, function, twice
# for fn-chain) with correct parent links, once with the load generator sending traceparent,
# once sending no trace header at all (the ingress starts the trace, as Envoy does), and once
# with no trace header anywhere (the ingress told not to start traces: PLATFORM_INGRESS_TRACES=
# off; links from the kernel's causality and trace ids alone, issue 16). Modes: MODES (default
# all three). For each mode: difftrace starts first (the
# platform's processes are its targets by comm, from scripts/platform/difftrace.yaml, with
# --no-filter), then a fresh platform, then the load; scripts/eval/linking_eval.py checks
# every request's trace against the ground truth. Not part of `make test`.
#   usage: scripts/eval/linking_eval.sh [SECONDS=60] [RATE=50] [ANOMALY_RATE=0]
# The platform runs on INGRESS_PORT etc. (defaults of scripts/platform/common.sh) with its
# own run directory. Output: build/eval/linking/{report.txt,*.json,...}; exit 1 when a mode
# links fewer than MIN_SHARE (0.99) of its requests.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-60}
RATE=${2:-50}
ANOMALY_RATE=${3:-0}
MIN_SHARE=${MIN_SHARE:-0.99}
OUT=build/eval/linking
PYTHON=${PYTHON:-/usr/bin/python3}
export PLATFORM_RUN_DIR=$PWD/$OUT/run PLATFORM_LOG_DIR=$PWD/$OUT/logs
mkdir -p "$OUT"
rm -rf "${OUT:?}"/*

make -s build/difftrace
tracer=""
cleanup() {
  [ -n "$tracer" ] && kill -INT "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null || true
  scripts/platform/down.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT

status=0
MODES=${MODES:-traceparent no-header no-header-anywhere}
for mode in $MODES; do
  rm -f "$OUT/$mode.ready"
  build/difftrace trace --config scripts/platform/difftrace.yaml --no-filter \
    --export "otlp-json:$OUT/$mode.spans.jsonl" --stats-json "$OUT/$mode.stats.json" \
    --ready-file "$OUT/$mode.ready" >/dev/null 2>"$OUT/$mode.log" &
  tracer=$!
  for _ in $(seq 300); do [ -f "$OUT/$mode.ready" ] && break; sleep 0.1; done
  [ -f "$OUT/$mode.ready" ] || { echo "difftrace did not attach:" >&2; cat "$OUT/$mode.log" >&2; exit 1; }
  # A fresh platform: every connection and every read is seen from its start.
  ingress_traces=on
  [ "$mode" = no-header-anywhere ] && ingress_traces=off
  PLATFORM_INGRESS_TRACES=$ingress_traces scripts/platform/up.sh >/dev/null
  flags=()
  [ "$mode" != traceparent ] && flags+=(--no-trace-header)
  echo "== $mode: steady ${RATE}/s for ${DURATION}s, anomalies $ANOMALY_RATE"
  scripts/load/run.sh --shape steady --rate "$RATE" --duration "${DURATION}s" \
    --anomaly-rate "$ANOMALY_RATE" --seed 5 --out "$OUT/gt-$mode.jsonl" \
    --summary "$OUT/load-$mode.json" "${flags[@]}" | tail -n 4
  sleep 3  # async invocations finish, traces leave the assembler
  kill -INT "$tracer"
  wait "$tracer" || true
  tracer=""
  tail -n 1 "$OUT/$mode.log"
  scripts/platform/down.sh >/dev/null
  "$PYTHON" scripts/eval/linking_eval.py --label "$mode" --truth "$OUT/gt-$mode.jsonl" \
    --otlp "$OUT/$mode.spans.jsonl" --json "$OUT/$mode.json" --min "$MIN_SHARE" |
    tee -a "$OUT/report.txt" || status=1
  "$PYTHON" - "$OUT/$mode.stats.json" <<'EOF' | tee -a "$OUT/report.txt"
import json, sys
st = json.load(open(sys.argv[1]))
keys = ["spans_seen", "ringbuf_lost", "late_spans", "late_spans_linked", "parents_by_connection",
        "parents_by_header", "parents_by_response", "parents_in_process",
        "parents_left_ambiguous", "parents_left_unlinked", "parents_by_seq", "parents_by_cause",
        "client_cause_found", "client_cause_ambiguous", "client_cause_unknown", "go_causes_dropped",
        "go_uprobe_hits", "go_g_mismatch",
        "trace_ids_minted", "trace_ids_by_cause", "trace_ids_by_wire", "trace_ids_wire_missed",
        "causal_merges"]
print("  difftrace: " + ", ".join(f"{k} {st.get(k)}" for k in keys))
EOF
done
# Side by side: each mode's share of whole traces, by target.
"$PYTHON" - "$OUT" $MODES <<'EOF' | tee -a "$OUT/report.txt"
import json, sys
from pathlib import Path
out, modes = Path(sys.argv[1]), sys.argv[2:]
res = {m: json.loads((out / f"{m}.json").read_text()) for m in modes if (out / f"{m}.json").exists()}
targets = sorted({t for r in res.values() for t in r["by_target"]})
print("\nwhole traces, side by side")
print(f"  {'target':10s}" + "".join(f"{m:>22s}" for m in res))
for t in ["all"] + targets:
    row = []
    for r in res.values():
        v = r if t == "all" else r["by_target"].get(t)
        row.append(f"{v['linked']}/{v['requests']} {100 * (v['share'] or 0):6.2f}%" if v else "-")
    print(f"  {t:10s}" + "".join(f"{c:>22s}" for c in row))
EOF
echo "report: $OUT/report.txt"
exit $status
