#!/usr/bin/env bash
# The differential filter's evaluation on the demo platform (issue 4): one load run, four
# difftrace instances tracing it at once, so every mode sees the same requests:
#   filter        scripts/platform/difftrace.yaml (platform filtered, functions reported)
#   fn-filtered   the same with the functions set to function-filtered
#   nofilter      --no-filter (full tracing, the baseline)
#   nokeep        the filter with a one-trace keep-buffer: dropped hops are estimated, and
#                 scripts/eval/filter_report.py compares them with nofilter's real spans
# The load mixes the four shapes (steady, fluctuating, spikes, jump), MINUTES/4 each, with
# ANOMALY_RATE injected anomalies. Output: build/eval/filter/{report.md,report.json,...}, with
# per-hop tables (recall by kind and hop, flagged normal requests and estimate error by hop).
#   usage: scripts/eval/filter_eval.sh [MINUTES=10] [RATE=50] [ANOMALY_RATE=0.01]
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${1:-10}
RATE=${2:-50}
ANOMALY_RATE=${3:-0.01}
OUT=build/eval/filter
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p "$OUT"
rm -rf "${OUT:?}"/*

make -s build/difftrace
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/platform/down.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT

scripts/platform/up.sh
sed 's/role: function$/role: function-filtered/' scripts/platform/difftrace.yaml >"$OUT/fn-filtered.yaml"
{ cat scripts/platform/difftrace.yaml; echo "keep: {traces: 1}"; } >"$OUT/nokeep.yaml"

start() {  # name, args...
  local name=$1; shift
  build/difftrace trace "$@" --export "otlp-json:$OUT/$name.spans.jsonl" \
    --stats-json "$OUT/$name.stats.json" --ready-file "$OUT/$name.ready" \
    >/dev/null 2>"$OUT/$name.log" &
  pids+=($!)
  for _ in $(seq 300); do [ -f "$OUT/$name.ready" ] && return 0; sleep 0.1; done
  echo "difftrace ($name) did not attach:" >&2; cat "$OUT/$name.log" >&2; exit 1
}
start filter --config scripts/platform/difftrace.yaml
start fn-filtered --config "$OUT/fn-filtered.yaml"
start nofilter --config scripts/platform/difftrace.yaml --no-filter
start nokeep --config "$OUT/nokeep.yaml"

scripts/eval/load_shapes.sh "$OUT" "$MINUTES" "$RATE" "$ANOMALY_RATE"
sleep 3  # async invocations finish, traces leave the assemblers
for p in "${pids[@]}"; do kill -INT "$p"; done
for p in "${pids[@]}"; do wait "$p"; done
pids=()
for name in filter fn-filtered nofilter nokeep; do tail -n 1 "$OUT/$name.log"; done

"$PYTHON" scripts/eval/filter_report.py "$OUT"
