#!/usr/bin/env bash
# difftrace's memory: RSS (and peak RSS, VmHWM) and the BPF maps it holds (memlock bytes per
# map, the kernel's own accounting, from /proc/PID/fdinfo), on nginx made a platform service,
# at three moments:
#   idle   attached, no traffic
#   conns  CONNS (10,000) keep-alive connections open to nginx, one request answered on each
#          (scripts/bench/many_conns.py, a fresh traceparent per request), all still open
#   load   the same connections open while wrk runs 64 more at saturation for LOAD_SECS
# for the filter on and for --no-filter, one difftrace each, and for `difftrace agent` with the
# filter on (its /metrics scraped once a second meanwhile, as Prometheus would), with the CPU
# time each used between the moments.
#   usage: scripts/bench/memory.sh [CONNS=10000] [LOAD_SECS=3] [OUT=build/bench/memory.json]
# Needs root, nginx, wrk, build/difftrace.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
CONNS=${1:-10000}
LOAD_SECS=${2:-3}
OUT=${3:-build/bench/memory.json}
PORT=${BENCH_MEM_PORT:-18192}
METRICS_PORT=${BENCH_METRICS_PORT:-18193}
mkdir -p "$(dirname "$OUT")"
[ -x build/difftrace ] || { echo "memory: build/difftrace missing; run make" >&2; exit 1; }
dir=$(mktemp -d)
tracer='' client='' scraper=''
cleanup() {
  [ -n "$scraper" ] && { kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null || true; }
  [ -n "$client" ] && { kill "$client" 2>/dev/null; wait "$client" 2>/dev/null || true; }
  [ -n "$tracer" ] && bench_stop "$tracer"
  exec 3>&- 2>/dev/null || true
  bench_nginx_stop "$dir/nginx"
  rm -rf "$dir"
}
trap cleanup EXIT
mkdir -p "$dir/nginx"
chmod 755 "$dir"  # nginx workers run as nobody
# nginx's worker needs a descriptor per connection (it raises its own limit up to the hard one)
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge $((CONNS + 4096)) ] ||
  { echo "memory: the hard open-file limit ($(ulimit -Hn)) is below $((CONNS + 4096))" >&2; exit 1; }
ulimit -n $((CONNS + 4096))
bench_nginx_start "$dir/nginx" "$PORT" $((CONNS + 2048))
bench_nginx_config "$dir/nginx.yaml"
bench_traceparent_lua "$dir/traceparent.lua"
url="http://127.0.0.1:$PORT/index.html"

rows="$dir/rows.jsonl"
: >"$rows"
snap() {  # MODE MOMENT: one row of RSS and maps
  echo "{\"mode\": \"$1\", \"moment\": \"$2\", \"rss_kib\": \"$(bench_rss_kib "$tracer")\", \"cpu_s\": $(bench_cpu_s "$tracer"), \"maps\": $(bench_bpf_maps "$tracer")${3:+, $3}}" >>"$rows"
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("memory: %s %s: RSS/HWM %s KiB, CPU %.2f s, BPF maps %.1f MiB" % (r["mode"], r["moment"], r["rss_kib"], r["cpu_s"], sum(m["memlock"] for m in r["maps"]) / 2**20))' "$(tail -n 1 "$rows")" >&2
}
for mode in filter nofilter agent; do
  if [ "$mode" = agent ]; then
    bench_start_agent "$dir" "$mode" "$dir/nginx.yaml" "$METRICS_PORT"
    tracer=$BENCH_PID
    # Prometheus's part: a scrape a second for as long as the agent runs.
    while kill -0 "$tracer" 2>/dev/null; do
      curl -s -o /dev/null "http://127.0.0.1:$METRICS_PORT/metrics" || true
      sleep 1
    done &
    scraper=$!
  else
    args=(--config "$dir/nginx.yaml")
    [ "$mode" = nofilter ] && args+=(--no-filter)
    bench_start_difftrace "$dir" "$mode" "${args[@]}"
    tracer=$BENCH_PID
  fi
  sleep 2
  snap "$mode" idle
  rm -f "$dir/fifo"; mkfifo "$dir/fifo"
  python3 scripts/bench/many_conns.py 127.0.0.1 "$PORT" "$CONNS" <"$dir/fifo" >"$dir/client.out" 2>"$dir/client.err" &
  client=$!
  exec 3>"$dir/fifo"
  for _ in $(seq 600); do grep -q '^open' "$dir/client.out" && break; kill -0 "$client" 2>/dev/null || break; sleep 0.1; done
  grep -q '^open' "$dir/client.out" || { echo "memory: the client did not open its connections:" >&2; cat "$dir/client.err" >&2; exit 1; }
  sleep 2  # the spans of those requests pass the assembler's wait
  read -r _ opened _ ok _ failed <"$dir/client.out"
  snap "$mode" conns "\"open\": $opened, \"ok\": $ok, \"failed\": $failed"
  w=$(bench_wrk -t1 -c64 -d"${LOAD_SECS}s" -s "$dir/traceparent.lua" "$url")
  snap "$mode" load "\"open\": $opened, \"wrk\": \"$w\""
  echo >&3; exec 3>&-
  wait "$client" || true; client=
  bench_stop "$tracer"; tracer=
  [ -n "$scraper" ] && { wait "$scraper" 2>/dev/null || true; scraper=; }
done

python3 - "$rows" "$OUT" "$CONNS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
res = {"what": "nginx as a platform service; difftrace trace --config (filter), --no-filter, and difftrace agent (filter, /metrics scraped every second)", "connections": int(sys.argv[3]), "snapshots": []}
last_cpu = {}
for r in rows:
    rss, hwm = (int(x) for x in r["rss_kib"].split())
    snap = {"mode": r["mode"], "moment": r["moment"], "rss_kib": rss, "peak_rss_kib": hwm,
            "bpf_maps_bytes": sum(m["memlock"] for m in r["maps"]),
            "bpf_maps": {m["name"] or str(m["id"]): m["memlock"] for m in r["maps"]},
            "cpu_s": r["cpu_s"], "cpu_s_since_last": round(r["cpu_s"] - last_cpu.get(r["mode"], 0), 2)}
    last_cpu[r["mode"]] = r["cpu_s"]
    for k in ("open", "ok", "failed", "wrk"):
        if k in r:
            snap[k] = r[k]
    res["snapshots"].append(snap)
res["peak_rss_kib"] = max(s["peak_rss_kib"] for s in res["snapshots"])
res["bpf_maps_bytes_max"] = max(s["bpf_maps_bytes"] for s in res["snapshots"])
json.dump(res, open(sys.argv[2], "w"), indent=2)
md = ["| memory (nginx, platform role) | moment | RSS / peak RSS | CPU since the last moment | BPF maps (memlock) | largest maps |", "|---|---|---:|---:|---:|---|"]
for s in res["snapshots"]:
    top = ", ".join("%s %.1f MiB" % (k, v / 2**20) for k, v in sorted(s["bpf_maps"].items(), key=lambda kv: -kv[1])[:4])
    md.append("| %s | %s%s | %.1f / %.1f MiB | %.2f s | %.1f MiB | %s |" % (
        {"filter": "filter on", "nofilter": "--no-filter", "agent": "agent (filter on)"}[s["mode"]], s["moment"],
        " (%s open)" % s["open"] if "open" in s else "", s["rss_kib"] / 1024, s["peak_rss_kib"] / 1024, s["cpu_s_since_last"], s["bpf_maps_bytes"] / 2**20, top))
open(sys.argv[2][:-5] + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
