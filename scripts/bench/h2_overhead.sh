#!/usr/bin/env bash
# What difftrace costs an HTTP/2 server, per request and per RPC, in interleaved rounds of three
# modes: none (nothing attached), filter (`difftrace trace --config C`, C making the server a
# platform service with a static 100 ms threshold: normal streams stay in the kernel) and
# nofilter (the same with --no-filter: every stream crosses to user space with its header
# blocks). Two servers, each its own workload:
#   nghttpd   (h2c, nghttp2-server) serving a 612-byte file to h2load -c8 -m16 (8 connections,
#             16 concurrent streams each): the frame follower's cost per request at saturation
#   gRPC      Debian's python3-grpcio demo.Echo server (tests/e2e/tools/grpc_live.py) under a
#             unary loop (scripts/bench/grpc_unary_loop.py, 4 threads on one channel)
# A run where a request failed, or nothing succeeded, is a broken measurement and stops the
# script. Reports medians and ratios to "none" measured in the same run.
#   usage: scripts/bench/h2_overhead.sh [ROUNDS=3] [SECONDS=5] [OUT=build/bench/h2_overhead.json]
# Needs root, nghttpd and h2load (nghttp2-server, nghttp2-client), /usr/bin/python3 with grpc,
# and build/difftrace.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
ROUNDS=${1:-3}
SECS=${2:-5}
OUT=${3:-build/bench/h2_overhead.json}
H2_PORT=${BENCH_H2_PORT:-18290}
GRPC_PORT=${BENCH_GRPC_PORT:-18291}
mkdir -p "$(dirname "$OUT")"
[ -x build/difftrace ] || { echo "h2_overhead: build/difftrace missing; run make" >&2; exit 1; }
for tool in nghttpd h2load; do
  command -v "$tool" >/dev/null || { echo "h2_overhead: $tool missing (bash scripts/install-deps.sh)" >&2; exit 1; }
done
dir=$(mktemp -d)
tracer= h2_pid= grpc_pid=
cleanup() {
  [ -n "$tracer" ] && bench_stop "$tracer"
  [ -n "$h2_pid" ] && kill "$h2_pid" 2>/dev/null
  [ -n "$grpc_pid" ] && kill "$grpc_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# listening PORT: a socket listens on the port (/proc/net/tcp{,6}, port in hex; gRPC's
# 127.0.0.1 is a v4-mapped IPv6 socket).
listening() { grep -qE ":$(printf '%04X' "$1") 0+:0000 0A" /proc/net/tcp /proc/net/tcp6; }
wait_listening() {
  local _
  for _ in $(seq 150); do listening "$1" && return 0; sleep 0.1; done
  echo "h2_overhead: nothing listens on 127.0.0.1:$1" >&2
  return 1
}

mkdir -p "$dir/www"
head -c 612 /dev/zero | tr '\0' 'x' >"$dir/www/index.html"
nghttpd --no-tls -a 127.0.0.1 -d "$dir/www" "$H2_PORT" >/dev/null 2>&1 &
h2_pid=$!
/usr/bin/python3 tests/e2e/tools/grpc_live.py server "$GRPC_PORT" >/dev/null 2>&1 &
grpc_pid=$!
wait_listening "$H2_PORT"
wait_listening "$GRPC_PORT"
cat >"$dir/h2.yaml" <<YAML
services:
  - {name: nghttpd, match: {comm: nghttpd}, role: platform, latency: 100ms}
  - {name: grpc, match: {comm: dt-grpcserver}, role: platform, latency: 100ms}
YAML

# h2 SECS: h2load at saturation; prints "req_per_sec p50_us p99_us requests" or fails.
h2() {
  local out
  out=$(h2load -c8 -m16 -t1 -D "$1" "http://127.0.0.1:$H2_PORT/index.html" 2>&1)
  local ok failed
  ok=$(awk '/^requests:/ {print $8}' <<<"$out")
  failed=$(awk '/^requests:/ {print $10}' <<<"$out")
  if [ -z "$ok" ] || [ "$ok" -eq 0 ] || [ "$failed" -ne 0 ]; then
    echo "h2_overhead: h2load: broken run ($ok succeeded, $failed failed):" >&2
    echo "$out" >&2
    return 1
  fi
  awk -v n="$ok" '/^finished in/ {rps=$4}
       /^time for request:/ {mean=$6}
       function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return v*1000; if (v ~ /s$/) return v*1e6; return v }
       END {print rps+0, us(mean), 0, n}' <<<"$out"
}

# grpc SECS: the unary loop; prints "calls_per_sec p50_us p99_us calls" or fails.
grpc() {
  local out
  out=$(/usr/bin/python3 scripts/bench/grpc_unary_loop.py "$GRPC_PORT" "$1")
  read -r cps p50 p99 calls failed <<<"$out"
  if [ "$calls" -eq 0 ] || [ "$failed" -ne 0 ]; then
    echo "h2_overhead: gRPC loop: broken run ($calls calls, $failed failed)" >&2
    return 1
  fi
  echo "$cps $p50 $p99 $calls"
}

h2 1 >/dev/null  # warm up
grpc 1 >/dev/null
modes=(none filter nofilter)
rows="$dir/rows.jsonl"
: >"$rows"
for r in $(seq "$ROUNDS"); do
  for k in 0 1 2; do
    mode=${modes[$(( (k + r - 1) % 3 ))]}
    case $mode in
      filter) bench_start_difftrace "$dir" "$mode" --config "$dir/h2.yaml"; tracer=$BENCH_PID ;;
      nofilter) bench_start_difftrace "$dir" "$mode" --config "$dir/h2.yaml" --no-filter; tracer=$BENCH_PID ;;
    esac
    a=$(h2 "$SECS")
    g=$(grpc "$SECS")
    stats='{}'
    if [ -n "$tracer" ]; then
      bench_stop "$tracer"; tracer=
      stats=$(bench_stats_flat "$dir/$mode.stats.json")
    fi
    echo "{\"round\": $r, \"mode\": \"$mode\", \"h2\": \"$a\", \"grpc\": \"$g\", \"stats\": $stats}" >>"$rows"
    echo "round $r $mode: h2load req/s mean_us - n $a | gRPC calls/s p50 p99 n $g" >&2
  done
done
python3 - "$rows" "$OUT" "$SECS" <<'PY'
import json, statistics, sys
rows_path, out, secs = sys.argv[1:]
rows = [json.loads(l) for l in open(rows_path)]
med = statistics.median
res = {"workloads": {"h2": "nghttpd h2c, 612-byte file, h2load -c8 -m16 -t1 -D %ss" % secs,
                     "grpc": "python3-grpcio demo.Echo/Unary, 4 threads on one channel, %ss" % secs},
       "rounds": max(r["round"] for r in rows), "modes": {}}
for mode in ("none", "filter", "nofilter"):
    rs = [r for r in rows if r["mode"] == mode]
    H = [[float(x) for x in r["h2"].split()] for r in rs]
    G = [[float(x) for x in r["grpc"].split()] for r in rs]
    m = {"h2_rps": round(med(h[0] for h in H), 1), "h2_mean_us": round(med(h[1] for h in H), 1),
         "per_round_h2_rps": [h[0] for h in H],
         "grpc_cps": round(med(g[0] for g in G), 1), "grpc_p50_us": round(med(g[1] for g in G), 1),
         "grpc_p99_us": round(med(g[2] for g in G), 1), "per_round_grpc_cps": [g[0] for g in G]}
    if mode != "none":
        S = [r["stats"] for r in rs]
        tot = lambda k: sum(s.get(k) or 0 for s in S)
        n = sum(h[3] for h in H) + sum(g[3] for g in G)
        m["requests"] = int(n)
        for k in ("spans_seen", "spans_reported", "spans_kept", "spans_dropped", "ringbuf_lost",
                  "http2_io_not_followed", "http2_streams_untracked", "non_http_data"):
            m[k] = tot(k)
        m["ringbuf_events_per_request"] = round(tot("spans_reported") / max(n, 1), 4)
        # Streams the kernel saw as spans per request made (h2load counts requests it started
        # and the tracer saw as streams closed at the end, a few over 1).
        m["spans_seen_per_request"] = round(tot("spans_seen") / max(n, 1), 3)
    res["modes"][mode] = m
base = res["modes"]["none"]
for mode in ("filter", "nofilter"):
    m = res["modes"][mode]
    m["h2_throughput_ratio"] = round(m["h2_rps"] / base["h2_rps"], 3)
    m["grpc_throughput_ratio"] = round(m["grpc_cps"] / base["grpc_cps"], 3)
    m["grpc_p50_added_us"] = round(m["grpc_p50_us"] - base["grpc_p50_us"], 1)
json.dump(res, open(out, "w"), indent=2)
names = {"none": "nothing attached", "filter": "difftrace, filter on (server = platform)", "nofilter": "difftrace --no-filter"}
md = ["| HTTP/2 server | h2load req/s (ratio) | gRPC unary calls/s (ratio) | gRPC p50 / p99 (us) | spans seen / reported | spans seen per request | ring-buffer events/req | I/Os not followed / not HTTP |",
      "|---|---:|---:|---:|---:|---:|---:|---:|"]
for mode in ("none", "filter", "nofilter"):
    m = res["modes"][mode]
    md.append("| %s | %.0f (%s) | %.0f (%s) | %.0f / %.0f | %s | %s | %s | %s |" % (
        names[mode], m["h2_rps"], m.get("h2_throughput_ratio", "1"), m["grpc_cps"], m.get("grpc_throughput_ratio", "1"),
        m["grpc_p50_us"], m["grpc_p99_us"],
        "%d / %d" % (m["spans_seen"], m["spans_reported"]) if "spans_seen" in m else "-",
        m.get("spans_seen_per_request", "-"), m.get("ringbuf_events_per_request", "-"),
        "%d / %d" % (m["http2_io_not_followed"], m["non_http_data"]) if "spans_seen" in m else "-"))
open(out[:-5] + ".md" if out.endswith(".json") else out + ".md", "w").write("\n".join(md) + "\n")
print(json.dumps(res, indent=2))
print("\n".join(md))
PY
