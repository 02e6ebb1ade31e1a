#!/usr/bin/env bash
# The evaluations' load: the demo platform's four load shapes in turn (steady, fluctuating,
# spikes, jump), MINUTES/4 each at RATE req/s with ANOMALY_RATE injected anomalies, seeds 1-4.
# Writes OUT/gt-SHAPE.jsonl (ground truth) and OUT/load-SHAPE.json per shape, and
# OUT/groundtruth.jsonl (all four). Used by filter_eval.sh and analyze_eval.sh.
#   usage: scripts/eval/load_shapes.sh OUT MINUTES RATE ANOMALY_RATE
# LOAD_ARGS (environment): more load generator options, e.g. the mix and anomalies from before
# the gRPC function joined them (to compare with runs made then):
#   LOAD_ARGS="--mix hello=40,work-cpu=25,work-mem=3,chain=20,async=12 --anomalies ..."
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=$1 MINUTES=$2 RATE=$3 ANOMALY_RATE=$4
phase_s=$((MINUTES * 60 / 4))
echo "== load: steady, fluctuating, spikes, jump; ${phase_s}s each at $RATE req/s, anomalies $ANOMALY_RATE"
seed=1
for shape in steady fluctuating spikes jump; do
  scripts/load/run.sh --shape "$shape" --rate "$RATE" --duration "${phase_s}s" \
    --anomaly-rate "$ANOMALY_RATE" --seed "$seed" --out "$OUT/gt-$shape.jsonl" ${LOAD_ARGS:-} \
    --summary "$OUT/load-$shape.json" | tail -n 3
  seed=$((seed + 1))
done
cat "$OUT"/gt-{steady,fluctuating,spikes,jump}.jsonl >"$OUT/groundtruth.jsonl"
