#!/usr/bin/env bash
# `difftrace analyze` against the demo platform's ground truth (issue 19): one load run through
# the four shapes (steady, fluctuating, spikes, jump; MINUTES/4 each) with ANOMALY_RATE injected
# anomalies, traced with --no-filter to OTLP JSON; then `difftrace analyze` (JSON and HTML) and
# scripts/eval/analyze_report.py, which scores, for every injected anomaly, whether the culprit
# is the hop where it was injected (per hop and kind), whether async requests' critical paths go
# through the async function, and tabulates the breakdown per function and per shape.
# Output: build/eval/analyze/{report.md,report.json,analysis.json,report.html,...}.
#   usage: scripts/eval/analyze_eval.sh [MINUTES=5] [RATE=50] [ANOMALY_RATE=0.01]
#   ANALYZE_ONLY=1 scores the last run's spans again (no platform, no lock needed).
# Run it under the shared lock: flock /tmp/dt-live.lock scripts/eval/analyze_eval.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${1:-5}
RATE=${2:-50}
ANOMALY_RATE=${3:-0.01}
OUT=build/eval/analyze
PYTHON=${PYTHON:-/usr/bin/python3}
CONFIG=scripts/platform/difftrace.yaml
mkdir -p "$OUT"

make -s build/difftrace
if [ -z "${ANALYZE_ONLY:-}" ]; then
  rm -rf "${OUT:?}"/*
  pid=
  cleanup() {
    if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    scripts/platform/down.sh >/dev/null 2>&1 || true
  }
  trap cleanup EXIT
  scripts/platform/up.sh
  build/difftrace trace --config "$CONFIG" --no-filter --export "otlp-json:$OUT/spans.jsonl" \
    --stats-json "$OUT/trace.stats.json" --ready-file "$OUT/trace.ready" \
    >/dev/null 2>"$OUT/trace.log" &
  pid=$!
  for _ in $(seq 300); do [ -f "$OUT/trace.ready" ] && break; sleep 0.1; done
  [ -f "$OUT/trace.ready" ] || { echo "difftrace did not attach:" >&2; cat "$OUT/trace.log" >&2; exit 1; }

  scripts/eval/load_shapes.sh "$OUT" "$MINUTES" "$RATE" "$ANOMALY_RATE"
  sleep 3  # async invocations finish, traces leave the assembler
  kill -INT "$pid"; wait "$pid"; pid=
  tail -n 1 "$OUT/trace.log"
  scripts/platform/down.sh >/dev/null 2>&1 || true
  trap - EXIT
fi

echo "== difftrace analyze"
/usr/bin/time -v -o "$OUT/analyze.time" build/difftrace analyze "$OUT/spans.jsonl" \
  --config "$CONFIG" --format json --out "$OUT/analysis.json"
build/difftrace analyze "$OUT/spans.jsonl" --config "$CONFIG" --format html --out "$OUT/report.html" \
  2>/dev/null || echo "(no HTML report from this build)"
"$PYTHON" scripts/eval/analyze_report.py "$OUT"
