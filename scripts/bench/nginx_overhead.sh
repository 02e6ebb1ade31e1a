#!/usr/bin/env bash
# Throughput and latency of nginx serving a small static file under wrk, with
# nothing attached and with `difftrace trace` attached, in interleaved runs of
# the same session; prints medians, the traced/untraced ratio and difftrace's
# peak RSS, and writes them as JSON.
#   usage: scripts/bench/nginx_overhead.sh [ROUNDS=5] [SECONDS=5] [OUT=build/bench/nginx_overhead.json]
# Needs root, nginx, wrk and build/difftrace (make).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}
SECS=${2:-5}
OUT=${3:-build/bench/nginx_overhead.json}
PORT=${BENCH_PORT:-18190}
CONNS=${BENCH_CONNS:-32}
mkdir -p "$(dirname "$OUT")"
dir=$(mktemp -d)
chmod 755 "$dir"  # nginx workers run as nobody
tracer=
cleanup() {
  [ -n "$tracer" ] && kill -INT "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null
  [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
  sleep 0.2
  rm -rf "$dir"
}
trap cleanup EXIT

mkdir -p "$dir/www" "$dir/logs"
head -c 612 /dev/zero | tr '\0' 'x' >"$dir/www/index.html"
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$PORT;
    root $dir/www;
  }
}
CONF
nginx -p "$dir" -c "$dir/nginx.conf"
sleep 0.3
curl -sf "http://127.0.0.1:$PORT/index.html" >/dev/null

run_wrk() {  # prints "requests_per_sec p50_us p99_us"
  wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$PORT/index.html" |
    awk '/Requests\/sec/ {rps=$2}
         /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
         function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return v*1000; if (v ~ /s$/) return v*1e6; return v }
         END {print rps, us(p50), us(p99)}'
}

# Run time of difftrace's BPF programs (ns, needs kernel.bpf_stats_enabled):
# the CPU the probes add inside the traced processes' syscalls.
bpf_ns() {
  bpftool -j prog show | python3 -c '
import json, sys
names = ("enter_", "exit_", "on_newtask", "on_process_exit")
print(sum(p.get("run_time_ns", 0) for p in json.load(sys.stdin)
          if p.get("name", "").startswith(names)))'
}

base=() traced=() rss=() bpfns=()
for r in $(seq "$ROUNDS"); do
  base+=("$(run_wrk)")
  rm -f "$dir/ready"
  build/difftrace trace --comm nginx --export "otlp-json:$dir/spans.json" \
    --stats-json "$dir/stats.json" --ready-file "$dir/ready" 2>"$dir/trace.log" &
  tracer=$!
  for _ in $(seq 300); do [ -f "$dir/ready" ] && break; sleep 0.1; done
  sysctl -qw kernel.bpf_stats_enabled=1
  before=$(bpf_ns)
  traced+=("$(run_wrk)")
  bpfns+=("$(( $(bpf_ns) - before ))")
  sysctl -qw kernel.bpf_stats_enabled=0
  rss+=("$(awk '/VmHWM/ {print $2}' "/proc/$tracer/status")")
  kill -INT "$tracer"; wait "$tracer"; tracer=
  echo "round $r: untraced ${base[-1]} | traced ${traced[-1]} | BPF ${bpfns[-1]} ns | difftrace peak RSS ${rss[-1]} KiB" >&2
done

python3 - "$OUT" "$SECS" "$CONNS" "${base[@]}" -- "${traced[@]}" -- "${rss[@]}" -- "${bpfns[@]}" <<'PY'
import json, statistics, sys
out, secs, conns = sys.argv[1], sys.argv[2], sys.argv[3]
rest = sys.argv[4:]
i = rest.index("--"); base = rest[:i]; rest = rest[i + 1:]
i = rest.index("--"); traced = rest[:i]; rest = rest[i + 1:]
i = rest.index("--"); rss = [int(x) for x in rest[:i]]; bpfns = [int(x) for x in rest[i + 1:]]
def col(rows, k): return statistics.median(float(r.split()[k]) for r in rows)
res = {
    "workload": "nginx 612-byte static file, wrk -t1 -c%s -d%ss, keep-alive" % (conns, secs),
    "rounds": len(base),
    "untraced": {"rps": col(base, 0), "p50_us": col(base, 1), "p99_us": col(base, 2)},
    "traced": {"rps": col(traced, 0), "p50_us": col(traced, 1), "p99_us": col(traced, 2)},
    "difftrace_peak_rss_kib": max(rss),
}
res["throughput_ratio"] = round(res["traced"]["rps"] / res["untraced"]["rps"], 3)
res["p50_added_us"] = round(res["traced"]["p50_us"] - res["untraced"]["p50_us"], 1)
# BPF time per request served while traced (wrk's count: rps x seconds)
per_req = [ns / (float(t.split()[0]) * float(secs)) for ns, t in zip(bpfns, traced)]
res["bpf_ns_per_request"] = round(statistics.median(per_req))
json.dump(res, open(out, "w"), indent=2)
print(json.dumps(res, indent=2))
PY
