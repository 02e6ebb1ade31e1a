#!/usr/bin/env bash
# Runs the load generator against the running demo platform (scripts/platform/up.sh).
# Builds it first if needed; the ingress URL comes from the platform's state.env and the
# ground truth goes to build/platform/groundtruth.jsonl unless --url / --out say otherwise.
# Examples:
#   scripts/load/run.sh --shape spikes --rate 100 --duration 60s
#   scripts/load/run.sh --shape csv:scripts/load/shapes/ramp.csv --duration 50s --anomaly-rate 0.05
#   scripts/load/run.sh --help
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../platform/common.sh"
platform_build
defaults=(--out "$BUILD_DIR/groundtruth.jsonl")
if [[ -f $STATE_FILE ]]; then
  source "$STATE_FILE"
  defaults+=(--url "$INGRESS_URL")
fi
# Later flags win, so anything given on the command line overrides these defaults.
exec "$BUILD_DIR/loadgen" "${defaults[@]}" "$@"
