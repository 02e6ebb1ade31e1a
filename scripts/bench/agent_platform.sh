#!/usr/bin/env bash
# The node agent under the demo platform's load: `difftrace agent` on the platform's config
# (filter on, spans to an OTLP JSON file, /metrics scraped once a second, as Prometheus would),
# its RSS (VmRSS, VmHWM) and CPU time at three moments: idle, after the platform's mixed load
# (sync, chain, async and work functions, 1% anomalies) at RATE req/s for LOAD_SECS, and after
# SAT_SECS of wrk at saturation. What a DaemonSet's requests and limits must cover.
#   scripts/bench/agent_platform.sh [RATE=50] [LOAD_SECS=30] [SAT_SECS=10] [OUT=build/bench/agent_platform.json]
# Fails (a broken measurement, not a result) when the load got no answers or the agent counted
# no span.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
RATE=${1:-50}
LOAD_SECS=${2:-30}
SAT_SECS=${3:-10}
OUT=${4:-build/bench/agent_platform.json}
PORT=${BENCH_METRICS_PORT:-19466}
CONFIG=${BENCH_PLATFORM_CONFIG:-scripts/platform/difftrace.yaml}
bench_platform_env
mkdir -p "$(dirname "$OUT")"
[ -x build/difftrace ] || { echo "agent_platform: build/difftrace missing; run make" >&2; exit 1; }

dir=$(mktemp -d)
agent='' scraper='' started_platform=''
cleanup() {
  [ -n "$scraper" ] && kill "$scraper" 2>/dev/null
  [ -n "$agent" ] && bench_stop "$agent"
  [ -n "$started_platform" ] && scripts/platform/down.sh >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT

bench_platform_up
bench_start_agent "$dir" agent "$CONFIG" "$PORT"
agent=$BENCH_PID
# Prometheus's part: a scrape a second for as long as the agent runs.
(while sleep 1; do curl -fsS "http://127.0.0.1:$PORT/metrics" >/dev/null || true; done) &
scraper=$!

moments="$dir/moments.jsonl"
: >"$moments"
moment() {  # NAME
  read -r rss hwm <<<"$(bench_rss_kib "$agent")"
  echo "{\"moment\": \"$1\", \"rss_kib\": $rss, \"hwm_kib\": $hwm, \"cpu_s\": $(bench_cpu_s "$agent")}" >>"$moments"
}

sleep 3
moment idle
scripts/load/run.sh --url "$INGRESS_URL" --shape steady --rate "$RATE" --duration "${LOAD_SECS}s" \
  --anomaly-rate 0.01 --out "$dir/truth.jsonl" --summary "$dir/load.json" >/dev/null 2>&1
moment "after ${LOAD_SECS}s of the platform's mixed load at ${RATE} req/s"
sat=$(bench_wrk -t1 -c16 -d"${SAT_SECS}s" "$INGRESS_URL/fn-hello/")
sleep 2  # the traces of the last requests leave the assembler
moment "after ${SAT_SECS}s of wrk -t1 -c16 at saturation"
curl -fsS "http://127.0.0.1:$PORT/metrics" >"$dir/metrics.txt"

python3 - "$moments" "$dir/load.json" "$dir/metrics.txt" "$sat" "$OUT" <<'PY'
import json, sys
moments_path, load_path, metrics_path, sat, out = sys.argv[1:]
moments = [json.loads(l) for l in open(moments_path)]
load = json.load(open(load_path))
metrics = {}
for line in open(metrics_path):
    if line.startswith("#") or not line.strip():
        continue
    name, value = line.rsplit(" ", 1)
    metrics[name] = metrics.get(name, 0) + float(value)
seen = sum(v for k, v in metrics.items() if k.startswith("difftrace_spans_seen_total"))
reported = {k.split('reason="', 1)[1].split('"', 1)[0]: v for k, v in metrics.items()
            if k.startswith("difftrace_spans_reported_total{")}
if load.get("ok", 0) == 0 or seen == 0:
    sys.exit("agent_platform: broken measurement: %d load answers, %d spans seen by the agent" % (load.get("ok", 0), seen))
res = {"what": "difftrace agent on the demo platform (filter on, /metrics scraped every second)",
       "load": {"sent": load["sent"], "ok": load["ok"]}, "wrk": sat, "spans_seen": seen, "spans_reported": reported,
       "moments": moments}
json.dump(res, open(out, "w"), indent=1)
prev = 0.0
for m in moments:
    print("%-55s RSS %6.1f MiB  peak %6.1f MiB  CPU +%.2f s" % (m["moment"], m["rss_kib"] / 1024, m["hwm_kib"] / 1024, m["cpu_s"] - prev))
    prev = m["cpu_s"]
print("load: %d sent, %d ok; wrk (req/s p50 p99 n): %s; spans seen by the agent: %d, reported: %s" % (
    load["sent"], load["ok"], sat, seen, ", ".join("%s %d" % kv for kv in sorted(reported.items())) or "none"))
PY
