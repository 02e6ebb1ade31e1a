#!/usr/bin/env bash
# Throughput and latency of nginx serving a small static file under wrk (the worst case for a
# per-syscall tracer: tiny requests, one read and one write each), in interleaved rounds of
# four modes:
#   none      nothing attached
#   floor     empty programs on difftrace's two hooks (build/hook-floor): what any tracer on
#             the raw sys_enter/sys_exit tracepoints costs nginx before it does any work
#   filter    `difftrace trace --config C` where C makes nginx a platform service
#             (services: [{name: nginx, match: {comm: nginx}, role: platform}]): after a
#             warm-up of a few spans per endpoint its normal spans stay in the kernel
#   nofilter  the same with --no-filter: every span crosses to user space
# Every request carries a fresh W3C traceparent (a wrk Lua script), as requests through a
# platform hop do; the filter keeps spans by trace id (BENCH_NO_TRACE_HEADER=1: none, and the
# kernel's own trace ids keep them). The mode order rotates each round.
# Each mode, each round: wrk with 32 connections (saturation: throughput), then wrk with one
# connection for LAT_SECS (no queueing: the p50 difference to "none" is the latency the
# tracer adds to one server hop), and with a tracer two more, BPF_SECS wrk at saturation and
# BPF_SECS wrk with one connection, with the kernel's BPF run-time accounting on
# (kernel.bpf_stats_enabled: it costs two clock reads per program run, so it is off while
# throughput and latency are measured; with one connection every program run of a request is
# on its path, the CPU the tracer adds to one hop beyond the floor's dispatch). Reports medians,
# ratios to "none", difftrace's BPF run time and program runs per request, its peak RSS, and
# what crossed the ring buffer.
#   usage: scripts/bench/nginx_overhead.sh [ROUNDS=5] [SECONDS=5] [OUT=build/bench/nginx_overhead.json] [LAT_SECS=3]
# Needs root, nginx, wrk, build/difftrace and build/hook-floor (make all build/hook-floor).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
ROUNDS=${1:-5}
SECS=${2:-5}
OUT=${3:-build/bench/nginx_overhead.json}
LAT_SECS=${4:-3}
BPF_SECS=${BENCH_BPF_SECS:-2}
PORT=${BENCH_PORT:-18190}
CONNS=${BENCH_CONNS:-32}
mkdir -p "$(dirname "$OUT")"
[ -x build/difftrace ] || { echo "nginx_overhead: build/difftrace missing; run make" >&2; exit 1; }
dir=$(mktemp -d)
tracer=
trap 'bench_nginx_cleanup "$dir" "$tracer"' EXIT
bench_nginx_setup "$dir" "$PORT"
# BENCH_NO_TRACE_HEADER=1: requests without any trace header (the kernel gives each its own
# trace id to keep its span by: bpf/lib/trace_inherit.bpf.h); an empty wrk script.
[ "${BENCH_NO_TRACE_HEADER:-0}" = 1 ] && : > "$dir/traceparent.lua"
url="http://127.0.0.1:$PORT/index.html"
bench_wrk -t1 -c"$CONNS" -d1s -s "$dir/traceparent.lua" "$url" >/dev/null  # warm up

modes=(none floor filter nofilter)
rows="$dir/rows.jsonl"
: >"$rows"
for r in $(seq "$ROUNDS"); do
  for k in 0 1 2 3; do
    mode=${modes[$(( (k + r - 1) % 4 ))]}
    before=$(bench_prog_ids)
    case $mode in
      floor) bench_start_floor "$dir" floor; tracer=$BENCH_PID ;;
      filter) bench_start_difftrace "$dir" "$mode" --config "$dir/nginx.yaml"; tracer=$BENCH_PID ;;
      nofilter) bench_start_difftrace "$dir" "$mode" --config "$dir/nginx.yaml" --no-filter; tracer=$BENCH_PID ;;
    esac
    ids=$(bench_new_ids "$before")
    w=$(bench_wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$dir/traceparent.lua" "$url")
    lat=$(bench_wrk -t1 -c1 -d"${LAT_SECS}s" -s "$dir/traceparent.lua" "$url")
    bpf="0 0 0" bpf1="0 0 0"
    if [ -n "$tracer" ] && [ "$mode" != floor ]; then
      bpf=$(BENCH_IDS="$ids" bench_bpf_time bench_wrk -t1 -c"$CONNS" -d"${BPF_SECS}s" -s "$dir/traceparent.lua" "$url")
      bpf1=$(BENCH_IDS="$ids" bench_bpf_time bench_wrk -t1 -c1 -d"${BPF_SECS}s" -s "$dir/traceparent.lua" "$url")
    fi
    rss="0 0" stats='{}'
    if [ "$mode" = floor ]; then
      bench_stop "$tracer"; tracer=
    elif [ -n "$tracer" ]; then
      rss=$(bench_rss_kib "$tracer")
      bench_stop "$tracer"; tracer=
      stats=$(bench_stats_flat "$dir/$mode.stats.json")
    fi
    echo "{\"round\": $r, \"mode\": \"$mode\", \"wrk\": \"$w\", \"lat\": \"$lat\", \"bpf\": \"$bpf\", \"bpf1\": \"$bpf1\", \"rss_kib\": \"$rss\", \"stats\": $stats}" >>"$rows"
    echo "round $r $mode: wrk rps/p50/p99/n $w | one connection $lat | BPF ns/runs per request $bpf (one connection: $bpf1) | RSS/HWM $rss KiB" >&2
  done
done
python3 - "$rows" "$OUT" "$SECS" "$CONNS" "$LAT_SECS" <<'PY'
import json, os, statistics, sys
rows_path, out, secs, conns, lat_secs = sys.argv[1:]
headers = "no trace header" if os.environ.get("BENCH_NO_TRACE_HEADER") == "1" else \
    "a fresh W3C traceparent per request"
rows = [json.loads(l) for l in open(rows_path)]
med = statistics.median
res = {"workload": "nginx 612-byte static file, wrk -t1 -c%s -d%ss, keep-alive, %s" % (conns, secs, headers),
       "one_connection": "wrk -t1 -c1 -d%ss, the same script" % lat_secs,
       "rounds": max(r["round"] for r in rows), "modes": {}}
for mode in ("none", "floor", "filter", "nofilter"):
    rs = [r for r in rows if r["mode"] == mode]
    W = [[float(x) for x in r["wrk"].split()] for r in rs]
    C = [[float(x) for x in r["lat"].split()] for r in rs]
    m = {"rps": round(med(w[0] for w in W), 1), "p50_us": round(med(w[1] for w in W), 1),
         "p99_us": round(med(w[2] for w in W), 1), "per_round_rps": [w[0] for w in W],
         "c1_rps": round(med(c[0] for c in C), 1), "c1_p50_us": round(med(c[1] for c in C), 1),
         "c1_p99_us": round(med(c[2] for c in C), 1), "per_round_c1_p50_us": [c[1] for c in C]}
    if mode not in ("none", "floor"):
        m["bpf_ns_per_request"] = round(med(float(r["bpf"].split()[0]) for r in rs))
        m["bpf_runs_per_request"] = round(med(float(r["bpf"].split()[1]) for r in rs), 2)
        # one connection: every program run of a request is on its path (nginx waits on no
        # other request), so this is the CPU the tracer adds to one hop, beyond the floor's
        # dispatch; steadier than a p50 difference of a few microseconds
        m["c1_bpf_ns_per_request"] = round(med(float(r["bpf1"].split()[0]) for r in rs))
        m["c1_bpf_runs_per_request"] = round(med(float(r["bpf1"].split()[1]) for r in rs), 2)
        m["peak_rss_kib"] = max(int(r["rss_kib"].split()[1]) for r in rs)
        S = [r["stats"] for r in rs]
        n = sum(w[3] for w in W) + sum(c[3] for c in C) + sum(int(r["bpf"].split()[2]) for r in rs) + \
            sum(int(r["bpf1"].split()[2]) for r in rs)
        tot = lambda k: sum(s.get(k) or 0 for s in S)
        m["requests"] = int(n)
        for k in ("spans_seen", "spans_reported", "spans_kept", "spans_dropped", "ringbuf_lost",
                  "reported_warmup", "reported_latency", "reported_no_filter", "spans_exported"):
            m[k] = tot(k)
        m["ringbuf_events_per_request"] = round(tot("spans_reported") / max(n, 1), 4)
    res["modes"][mode] = m
base = res["modes"]["none"]
for mode in ("floor", "filter", "nofilter"):
    m = res["modes"][mode]
    m["throughput_ratio"] = round(m["rps"] / base["rps"], 3)
    m["p50_added_us"] = round(m["p50_us"] - base["p50_us"], 1)
    m["c1_p50_added_us"] = round(m["c1_p50_us"] - base["c1_p50_us"], 1)
    m["c1_p99_added_us"] = round(m["c1_p99_us"] - base["c1_p99_us"], 1)
json.dump(res, open(out, "w"), indent=2)
names = {"none": "nothing attached", "floor": "empty programs on the same hooks (floor)", "filter": "difftrace, filter on (nginx = platform)", "nofilter": "difftrace --no-filter"}
md = ["| nginx | req/s | throughput ratio | p50 (us) | p99 (us) | one connection: p50 / p99 (us) | BPF ns/req | ring-buffer events/req | lost |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
for mode in ("none", "floor", "filter", "nofilter"):
    m = res["modes"][mode]
    md.append("| %s | %.0f | %s | %.0f | %.0f | %.0f / %.0f | %s | %s | %s |" % (names[mode], m["rps"], m.get("throughput_ratio", "1"), m["p50_us"], m["p99_us"],
              m["c1_p50_us"], m["c1_p99_us"], m.get("bpf_ns_per_request", "-"), m.get("ringbuf_events_per_request", "-"), m.get("ringbuf_lost", "-")))
open(out[:-5] + ".md" if out.endswith(".json") else out + ".md", "w").write("\n".join(md) + "\n")
print(json.dumps(res, indent=2))
print("\n".join(md))
PY
