#!/usr/bin/env bash
# make demo: starts the demo platform (haproxy ingress -> activator ->
# queue-proxy -> functions), traces all its processes with difftrace and its
# differential filter (scripts/platform/difftrace.yaml: platform spans stay in
# the kernel unless anomalous, function spans are reported) while the load
# generator sends a short spiky load with a few injected anomalies, and prints
# what was captured and what the filter decided. Everything goes to build/demo/.
#   DEMO_DURATION=seconds of load (default 15), DEMO_RATE=base requests/s (40)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/demo
DURATION=${DEMO_DURATION:-15}
RATE=${DEMO_RATE:-40}
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p "$OUT"
rm -f "$OUT"/*

tracer=
cleanup() {
  if [ -n "$tracer" ]; then kill -INT "$tracer" 2>/dev/null || true; wait "$tracer" || true; fi
  scripts/platform/down.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== starting the demo platform"
scripts/platform/up.sh
# shellcheck source=/dev/null
source build/platform/state.env
args=()
for c in $COMMS; do args+=(--comm "$c"); done

echo "== tracing: build/difftrace trace ${args[*]} --config scripts/platform/difftrace.yaml --export otlp-json:$OUT/spans.jsonl"
build/difftrace trace "${args[@]}" --config scripts/platform/difftrace.yaml \
  --export console --export "otlp-json:$OUT/spans.jsonl" \
  --stats-json "$OUT/stats.json" --ready-file "$OUT/ready" >"$OUT/console.txt" 2>"$OUT/difftrace.log" &
tracer=$!
for _ in $(seq 300); do
  [ -f "$OUT/ready" ] && break
  if ! kill -0 "$tracer" 2>/dev/null; then
    cat "$OUT/difftrace.log" >&2
    tracer=
    exit 1
  fi
  sleep 0.1
done
[ -f "$OUT/ready" ] || { echo "difftrace did not attach in 30 s" >&2; exit 1; }

echo "== load: spikes around $RATE req/s for ${DURATION}s, 3% injected anomalies"
scripts/load/run.sh --shape spikes --rate "$RATE" --duration "${DURATION}s" \
  --spike-every 5s --anomaly-rate 0.03 --out "$OUT/groundtruth.jsonl" --summary "$OUT/load.json"
sleep 1.5  # let async invocations finish and traces leave the assembler
kill -INT "$tracer"
wait "$tracer"
tracer=
cat "$OUT/difftrace.log"

"$PYTHON" scripts/demo_summary.py "$OUT"
echo
echo "== scored against the ground truth (scripts/eval/eval.py)"
"$PYTHON" scripts/eval/eval.py --truth "$OUT/groundtruth.jsonl" --otlp "$OUT/spans.jsonl" \
  --stats "$OUT/stats.json" | grep -E '^(recall|precision|spans|stats|complete \(flagged|gRPC(:| complete \(flagged))'

echo
echo "files: $OUT/console.txt (one line per span), $OUT/spans.jsonl (OTLP JSON),"
echo "       $OUT/stats.json, $OUT/groundtruth.jsonl (what the load generator saw)"
