#!/usr/bin/env bash
# Where the CPU goes per nginx request, process by process, in each mode (issue 13): nginx
# (one worker, the 612-byte file, wrk -t1 -c32 with a fresh traceparent per request, as
# nginx_overhead.sh runs it) under `perf record -a` (samples of 250 us) for SECS seconds, with
#   none      nothing attached
#   floor     empty programs on difftrace's hooks (build/hook-floor)
#   filter    `difftrace trace --config C`, nginx a platform service
#   nofilter  the same with --no-filter
# and prints, per mode and process (nginx, wrk, difftrace, idle = swapper), the samples per
# 1000 requests: with --no-filter, difftrace's row is the tracer's user-space CPU per span.
# One run per mode, in the order given: compare modes within a run, and repeat it.
#   usage: scripts/bench/nginx_cpu_split.sh [SECS=4] [MODES="none floor filter nofilter"]
# BENCH_DIFFTRACE=PATH measures another build. Needs root, nginx, wrk, perf.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
SECS=${1:-4}
MODES=${2:-none floor filter nofilter}
PORT=${BENCH_PORT:-18192}
bench_nginx_begin "$PORT"
for mode in $MODES; do
  tracer=
  case $mode in
    none) ;;
    floor) bench_start_floor "$dir" floor; tracer=$BENCH_PID ;;
    filter) bench_start_difftrace "$dir" filter --config "$dir/nginx.yaml"; tracer=$BENCH_PID ;;
    nofilter) bench_start_difftrace "$dir" nofilter --config "$dir/nginx.yaml" --no-filter; tracer=$BENCH_PID ;;
    *) echo "nginx_cpu_split: unknown mode $mode" >&2; exit 2 ;;
  esac
  bench_wrk -t1 -c32 -d1s -s "$dir/traceparent.lua" "$url" >/dev/null
  perf record -q -a -o "$dir/$mode.data" -- wrk -t1 -c32 -d"${SECS}s" -s "$dir/traceparent.lua" \
    "$url" >"$dir/wrk.out" 2>/dev/null
  n=$(awk '/ requests in / {print $1}' "$dir/wrk.out")
  # a broken run is no measurement: no requests, or answers that were not 2xx
  if [ -z "$n" ] || [ "$n" -eq 0 ] || grep -q "Non-2xx" "$dir/wrk.out"; then
    echo "nginx_cpu_split: $mode: wrk got no good answers:" >&2; cat "$dir/wrk.out" >&2; exit 1
  fi
  [ -n "$tracer" ] && { bench_stop "$tracer"; tracer=; }
  echo "$mode: $n requests, $(awk '/Requests\/sec/ {print $2}' "$dir/wrk.out") req/s"
  perf script -i "$dir/$mode.data" -F comm 2>/dev/null | awk -v n="$n" '
    { c = $1; if (c == "swapper") c = "idle"; tot[c]++ }
    END { for (c in tot) if (tot[c] > 50) printf "  %-12s %7.2f samples per 1000 requests\n", c, 1000 * tot[c] / n }' |
    sort -k2 -nr
done
