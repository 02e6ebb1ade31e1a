#!/usr/bin/env bash
# Where the demo platform's CPU goes with difftrace attached: `perf record -a -g` while wrk
# saturates the fn-hello path, nothing attached and then difftrace (filter on), and per request
# (perf samples of 250 us at perf's default 4 kHz), for each platform process: its samples in
# BPF programs (the helpers they call included), in uprobe traps (the int3 and single-step
# exceptions around the Go probes, their programs excluded), in the raw tracepoints' dispatch,
# and the rest. Then the BPF samples by source line (scripts/bench/bpf_call_sites.py, through
# build/bpf-jit-lines). A profile, not a benchmark: perf itself slows the runs; compare shares.
#   usage: scripts/bench/platform_perf.sh [SECS=6] [OUT_DIR=build/bench/platform_perf]
# Needs root, perf (linux-perf), wrk, build/difftrace and build/bpf-jit-lines (make
# build/bpf-jit-lines). Run it alone (under the lock where others share the machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
SECS=${1:-6}
OUT=${2:-build/bench/platform_perf}
CONFIG=${BENCH_PLATFORM_CONFIG:-scripts/platform/difftrace.yaml}
for t in perf wrk; do command -v $t >/dev/null || { echo "platform_perf: $t not found" >&2; exit 1; }; done
for b in build/difftrace build/bpf-jit-lines; do
  [ -x $b ] || { echo "platform_perf: $b missing (make all build/bpf-jit-lines)" >&2; exit 1; }
done
bench_platform_env
mkdir -p "$OUT/jit-lines"
rm -f "$OUT"/jit-lines/*.txt
dir=$(mktemp -d) tracer='' started_platform=''
cleanup() {
  if [ -n "$tracer" ]; then kill -INT "$tracer" 2>/dev/null; wait "$tracer" 2>/dev/null || true; fi
  [ -n "$started_platform" ] && scripts/platform/down.sh >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
bench_platform_up
bench_wrk -t1 -c16 -d3s "$INGRESS_URL/fn-hello/" >/dev/null  # warm-up

declare -A reqs
for mode in none difftrace; do
  ids=''
  if [ $mode = difftrace ]; then
    before=$(bench_prog_ids)
    bench_start_difftrace "$dir" dt --config "$CONFIG"
    tracer=$BENCH_PID
    ids=$(bench_new_ids "$before")
    bench_wrk -t1 -c16 -d2s "$INGRESS_URL/fn-hello/" >/dev/null
  fi
  perf record -q -a -g -o "$OUT/$mode.data" -- \
    wrk --latency -t1 -c16 -d"${SECS}s" "$INGRESS_URL/fn-hello/" >"$dir/wrk.$mode" 2>/dev/null
  reqs[$mode]=$(awk '/ requests in / {print $1}' "$dir/wrk.$mode")
  [ "${reqs[$mode]:-0}" -gt 0 ] || { echo "platform_perf: wrk completed no request ($mode)" >&2; exit 1; }
  if grep -q "Non-2xx" "$dir/wrk.$mode"; then echo "platform_perf: errors answered ($mode)" >&2; exit 1; fi
  for id in $ids; do
    name=$(bpftool -j prog show id "$id" | python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["name"]+"_"+p["tag"])')
    build/bpf-jit-lines "$id" >"$OUT/jit-lines/$name.txt"
  done
  if [ -n "$tracer" ]; then bench_stop "$tracer"; tracer=''; fi
done

echo "samples per request (one sample = 250 us of CPU), by process and where:"
for mode in none difftrace; do
  perf script -i "$OUT/$mode.data" -F comm,ip,sym 2>/dev/null | awk -v mode=$mode -v n="${reqs[$mode]}" '
    function flush() { if (comm != "") { if (cls == "") cls = "other"; c[comm " " cls]++ } }
    /^[^ \t]/ { flush(); comm = $1; cls = ""; next }
    { s = $2
      if (cls == "" && s ~ /^bpf_prog_/) cls = "bpf"
      if (cls == "" && s ~ /exc_int3|exc_debug|handle_swbp|uprobe/) cls = "uprobe-trap"
      if (cls == "" && s ~ /^__bpf_trace|^bpf_trace_run/) cls = "tp-dispatch" }
    END { flush(); for (k in c) { split(k, a, " ")
            if (a[1] ~ /^(haproxy|activator|queue-proxy|fn-hello|difftrace)$/)
              printf "  %-9s %-12s %-12s %.3f\n", mode, a[1], a[2], c[k] / n } }' | sort
done
echo "requests: none ${reqs[none]}, difftrace ${reqs[difftrace]} (in ${SECS}s each)"
echo
python3 scripts/bench/bpf_call_sites.py "$OUT/difftrace.data" "$OUT/jit-lines"
