#!/usr/bin/env bash
# Where difftrace's BPF time goes, program by program (issue 13), from the kernel's own run-time
# accounting (kernel.bpf_stats_enabled=1; it adds two clock reads to each run, so no throughput
# is measured here). Rounds of three runs, each with a fresh difftrace:
#   filter    nginx (612 B file, wrk -c32, a fresh traceparent per request) with
#             `difftrace trace --config C`, nginx a platform service
#   nofilter  the same with --no-filter
#   dd        `dd bs=1` of COUNT bytes, untargeted (`difftrace trace --comm dt-nobody`)
# Prints, per run and program: ns per run, runs per request (per syscall for dd) and ns per
# request (per syscall), and the total. BENCH_DIFFTRACE=PATH measures another build's binary,
# so two builds can be interleaved in one session (BENCH_DIFFTRACE_B: a second binary, each
# round then runs both, A first on odd rounds, B first on even ones).
#   usage: scripts/bench/bpf_per_program.sh [ROUNDS=2] [SECS=3] [COUNT=300000]
# Needs root, nginx, wrk, bpftool.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
ROUNDS=${1:-2}
SECS=${2:-3}
COUNT=${3:-300000}
PORT=${BENCH_PORT:-18191}
A=${BENCH_DIFFTRACE:-build/difftrace}
B=${BENCH_DIFFTRACE_B:-}
bench_nginx_begin "$PORT"

# per_prog IDS: "id name run_time_ns run_cnt" per program.
per_prog() {
  bpftool -j prog show | python3 -c '
import json, sys
ids = set(int(x) for x in sys.argv[1:])
for p in json.load(sys.stdin):
    if p["id"] in ids:
        print(p["id"], p.get("name", "?"), p.get("run_time_ns", 0), p.get("run_cnt", 0))' "$@"
}

# measure BIN MODE: one run; prints its per-program table.
measure() {
  local bin=$1 mode=$2 before ids a b n
  before=$(bench_prog_ids)
  case $mode in
    filter) BENCH_DIFFTRACE=$bin bench_start_difftrace "$dir" "$mode" --config "$dir/nginx.yaml" ;;
    nofilter) BENCH_DIFFTRACE=$bin bench_start_difftrace "$dir" "$mode" --config "$dir/nginx.yaml" --no-filter ;;
    dd) BENCH_DIFFTRACE=$bin bench_start_difftrace "$dir" "$mode" --comm dt-nobody ;;
  esac
  tracer=$BENCH_PID
  ids=$(bench_new_ids "$before")
  # shellcheck disable=SC2086
  a=$(per_prog $ids)
  sysctl -qw kernel.bpf_stats_enabled=1
  if [ "$mode" = dd ]; then
    dd if=/dev/zero of=/dev/null bs=1 count="$COUNT" 2>/dev/null
    n=$((2 * COUNT))
  else
    n=$(bench_wrk -t1 -c32 -d"${SECS}s" -s "$dir/traceparent.lua" "$url" | awk '{print $4}')
  fi
  sysctl -qw kernel.bpf_stats_enabled=0
  # shellcheck disable=SC2086
  b=$(per_prog $ids)
  bench_stop "$tracer"; tracer=
  python3 -c '
import sys
bin_, mode, n = sys.argv[1], sys.argv[2], max(float(sys.argv[3]), 1)
a = {l.split()[0]: l.split() for l in sys.argv[4].splitlines() if l.strip()}
unit = "syscall" if mode == "dd" else "request"
tot_ns = tot_runs = 0
for l in sys.argv[5].splitlines():
    i, name, ns, cnt = l.split()
    ns0, cnt0 = (int(a[i][2]), int(a[i][3])) if i in a else (0, 0)
    dns, dcnt = int(ns) - ns0, int(cnt) - cnt0
    if dcnt == 0:
        continue
    tot_ns += dns; tot_runs += dcnt
    print("  %-22s %-8s %-18s %7.1f ns/run %7.2f runs/%s %8.1f ns/%s" % (bin_, mode, name, dns / dcnt, dcnt / n, unit, dns / n, unit))
print("%-22s %-8s TOTAL %.1f ns/%s in %.2f runs (%d %ss)" % (bin_, mode, tot_ns / n, unit, tot_runs / n, n, unit))
' "$bin" "$mode" "$n" "$a" "$b"
}

for r in $(seq "$ROUNDS"); do
  bins=("$A")
  if [ -n "$B" ]; then
    if [ $((r % 2)) = 1 ]; then bins=("$A" "$B"); else bins=("$B" "$A"); fi
  fi
  for mode in filter nofilter dd; do
    for bin in "${bins[@]}"; do
      echo "round $r"
      measure "$bin" "$mode"
    done
  done
done
