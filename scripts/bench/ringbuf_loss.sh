#!/usr/bin/env bash
# Ring-buffer loss at rising request rates, with `difftrace trace --no-filter` (every span
# crosses to user space: the most the ring buffer ever carries). A fresh difftrace per step:
#   platform  the load generator at rising rates (steady, no anomalies, default mix), then
#             wrk at saturation on fn-hello with more and more connections
#   nginx     wrk on a 612-byte file with 1, 8, 64 and 256 connections (up to saturation)
# Per step: requests answered per second, spans seen and crossed per second, ringbuf_lost
# (and anomalies_lost). The synthetic counterpart, event rates past what real traffic reaches
# here, is build/ringbuf-ingest-bench.
#   usage: scripts/bench/ringbuf_loss.sh [SECS=5] [RATES="200 400 800"] [OUT=build/bench/ringbuf_loss.json]
# Starts its own platform on ports 182xx unless one is up in build/bench/platform, and nginx
# on port 18191. Needs root, wrk, nginx, build/difftrace.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
SECS=${1:-5}
RATES=${2:-200 400 800}
OUT=${3:-build/bench/ringbuf_loss.json}
CONFIG=${BENCH_PLATFORM_CONFIG:-scripts/platform/difftrace.yaml}
NGINX_PORT=${BENCH_LOSS_NGINX_PORT:-18191}
bench_platform_env
mkdir -p "$(dirname "$OUT")"
[ -x build/difftrace ] || { echo "ringbuf_loss: build/difftrace missing; run make" >&2; exit 1; }

dir=$(mktemp -d)
mkdir -p "$dir/nginx"
chmod 755 "$dir"  # nginx workers run as nobody
tracer='' started_platform=''
cleanup() {
  [ -n "$tracer" ] && bench_stop "$tracer"
  bench_nginx_stop "$dir/nginx"
  [ -n "$started_platform" ] && scripts/platform/down.sh >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
bench_platform_up
bench_nginx_start "$dir/nginx" "$NGINX_PORT"
bench_nginx_config "$dir/nginx.yaml"
bench_traceparent_lua "$dir/traceparent.lua"

rows="$dir/rows.jsonl"
: >"$rows"
step() {  # TARGET LABEL CONFIG COMMAND...: one difftrace --no-filter around COMMAND, which prints "answered seconds"
  local target=$1 label=$2 config=$3
  shift 3
  bench_start_difftrace "$dir" step --config "$config" --no-filter
  tracer=$BENCH_PID
  local got
  got=$("$@")
  bench_stop "$tracer"; tracer=
  python3 - "$dir/step.stats.json" "$target" "$label" "$got" >>"$rows" <<'PY'
import json, sys
st, target, label, got = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4].split()
n, secs = float(got[0]), float(got[1])
print(json.dumps({"target": target, "load": label, "requests_per_sec": round(n / secs, 1),
                  "spans_seen_per_sec": round(st["spans_seen"] / secs), "events_per_sec": round(st["spans_reported"] / secs),
                  "spans_seen": st["spans_seen"], "spans_reported": st["spans_reported"],
                  "ringbuf_lost": st["ringbuf_lost"], "anomalies_lost": st["anomalies_lost"]}))
PY
  tail -n 1 "$rows" >&2
}
platform_load() {  # RATE
  scripts/load/run.sh --url "$INGRESS_URL" --shape steady --rate "$1" --duration "${SECS}s" \
    --anomaly-rate 0 --out "$dir/truth.jsonl" --summary "$dir/load.json" >/dev/null 2>&1
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["ok"], sys.argv[2])' "$dir/load.json" "$SECS"
}
wrk_load() {  # CONNS URL [wrk args]
  local c=$1 url=$2
  shift 2
  echo "$(bench_wrk -t1 -c"$c" -d"${SECS}s" "$@" "$url" | cut -d" " -f4) $SECS"
}

for rate in $RATES; do
  step platform "load generator, $rate req/s offered" "$CONFIG" platform_load "$rate"
done
for c in 16 64; do
  step platform "wrk fn-hello, $c connections" "$CONFIG" wrk_load "$c" "$INGRESS_URL/fn-hello/"
done
for c in 1 8 64 256; do
  step nginx "wrk, $c connections" "$dir/nginx.yaml" wrk_load "$c" "http://127.0.0.1:$NGINX_PORT/index.html" -s "$dir/traceparent.lua"
done

python3 - "$rows" "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
res = {"what": "difftrace trace --no-filter, a fresh instance per step", "steps": rows}
json.dump(res, open(sys.argv[2], "w"), indent=2)
md = ["| ring-buffer loss, --no-filter | load | req/s | spans crossing/s | lost (anomalies) |", "|---|---|---:|---:|---:|"]
md += ["| %s | %s | %.0f | %d | %d (%d) |" % (r["target"], r["load"], r["requests_per_sec"], r["events_per_sec"], r["ringbuf_lost"], r["anomalies_lost"]) for r in rows]
open(sys.argv[2][:-5] + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
