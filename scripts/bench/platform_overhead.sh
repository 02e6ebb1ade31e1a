#!/usr/bin/env bash
# Overhead on the demo platform's request path (haproxy -> activator -> queue-proxy ->
# function), in interleaved rounds of five modes:
#   none       nothing attached
#   floor      empty programs on difftrace's hooks (build/hook-floor): raw sys_enter/sys_exit
#              and the Go uprobes' two sites in activator and queue-proxy; what any tracer on
#              these hooks pays here, before doing any work
#   filter     `difftrace trace --config scripts/platform/difftrace.yaml`: the in-kernel
#              filter on (platform spans kept in the kernel unless anomalous, function
#              spans reported); its targets are the config's comms, every platform comm
#   nofilter   the same with --no-filter (every span crosses to user space)
#   bpftrace   scripts/bench/bpftrace_equivalent.bt (same syscall tracepoints, same comms,
#              each call timed in maps and counted per comm; no HTTP parsing)
# Each mode, each round: the load generator at a fixed moderate rate (steady, no anomalies;
# p50/p99 latency), then wrk at saturation against $INGRESS_URL/fn-hello/ (throughput). The
# order of the modes rotates from round to round. Reports medians over rounds, ratios to
# "none", the tracers' BPF run time and program runs per request (a third run, BPF_SECS of
# wrk at saturation with kernel.bpf_stats_enabled on: the accounting costs two clock reads per
# program run, so it is off while latency and throughput are measured), difftrace's
# peak RSS and what crossed its ring buffer. Writes JSON to OUT and a Markdown table to OUT with .md.
#   usage: scripts/bench/platform_overhead.sh [ROUNDS=3] [RATE=100] [LOAD_SECS=15] [SAT_SECS=5]
#                                             [OUT=build/bench/platform_overhead.json]
# Starts its own platform on ports 182xx (BENCH_* to change) unless one is already up in
# build/bench/platform, and stops it again. Needs root, build/difftrace, build/hook-floor,
# bpftrace, wrk.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
ROUNDS=${1:-3}
RATE=${2:-100}
LOAD_SECS=${3:-15}
SAT_SECS=${4:-5}
OUT=${5:-build/bench/platform_overhead.json}
SAT_CONNS=${BENCH_SAT_CONNS:-16}
BPF_SECS=${BENCH_BPF_SECS:-3}
CONFIG=${BENCH_PLATFORM_CONFIG:-scripts/platform/difftrace.yaml}
bench_platform_env
GO_BINS=${PLATFORM_BUILD_DIR:-build/platform}  # the Go proxies' executables (scripts/platform/common.sh)
mkdir -p "$(dirname "$OUT")" build/bench
command -v bpftrace >/dev/null || { echo "platform_overhead: bpftrace not found; run scripts/install-deps.sh" >&2; exit 1; }
for b in build/difftrace build/hook-floor; do
  [ -x $b ] || { echo "platform_overhead: $b missing; run make all build/hook-floor" >&2; exit 1; }
done

dir=$(mktemp -d)
tracer='' started_platform=''
cleanup() {
  if [ -n "$tracer" ]; then kill -INT "$tracer" 2>/dev/null; wait "$tracer" 2>/dev/null || true; fi
  sysctl -qw kernel.bpf_stats_enabled=0 || true
  [ -n "$started_platform" ] && scripts/platform/down.sh >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT

bench_platform_up
tracer_ids=()
start_tracer() {  # $1 = mode
  local before
  tracer_ids=()
  before=$(bench_prog_ids)
  case $1 in
    none) return 0 ;;
    floor) bench_start_floor "$dir" floor "$GO_BINS/activator" "$GO_BINS/queue-proxy"; tracer=$BENCH_PID ;;
    filter) bench_start_difftrace "$dir" difftrace --config "$CONFIG"; tracer=$BENCH_PID ;;
    nofilter) bench_start_difftrace "$dir" difftrace --config "$CONFIG" --no-filter; tracer=$BENCH_PID ;;
    bpftrace)
      bpftrace scripts/bench/bpftrace_equivalent.bt >"$dir/bpftrace.out" 2>"$dir/bpftrace.log" &
      tracer=$!
      for _ in $(seq 300); do grep -q '^ready' "$dir/bpftrace.out" 2>/dev/null && break; sleep 0.1; done
      grep -q '^ready' "$dir/bpftrace.out" || { echo "bpftrace did not get ready:" >&2; cat "$dir/bpftrace.log" >&2; exit 1; } ;;
  esac
  read -ra tracer_ids <<<"$(bench_new_ids "$before")"
}
stop_tracer() {
  [ -z "$tracer" ] && return 0
  bench_stop "$tracer"; tracer=
}

run_load() {  # prints "p50_us p99_us ok sent"
  scripts/load/run.sh --url "$INGRESS_URL" --shape steady --rate "$RATE" --duration "${LOAD_SECS}s" \
    --anomaly-rate 0 --out "$dir/truth.jsonl" --summary "$dir/load.json" >/dev/null 2>&1
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["p50_ms"]*1000, s["p99_ms"]*1000, s["ok"], s["sent"])' "$dir/load.json"
}
run_wrk() {  # prints "requests_per_sec p50_us p99_us requests"
  bench_wrk -t1 -c"$SAT_CONNS" -d"${SAT_SECS}s" "$INGRESS_URL/fn-hello/"
}

# Warm up (Python functions, Go pools, haproxy) before the first measured round.
wrk -t1 -c"$SAT_CONNS" -d2s "$INGRESS_URL/fn-hello/" >/dev/null

modes=(none floor filter nofilter bpftrace)
rows="$dir/rows.jsonl"
: >"$rows"
for r in $(seq "$ROUNDS"); do
  for k in "${!modes[@]}"; do
    mode=${modes[$(( (k + r - 1) % ${#modes[@]} ))]}
    start_tracer "$mode"
    load=$(run_load)
    sat=$(run_wrk)
    bpf="0 0 0"
    [ "$mode" != none ] && bpf=$(BENCH_IDS="${tracer_ids[*]}" bench_bpf_time \
      bench_wrk -t1 -c"$SAT_CONNS" -d"${BPF_SECS}s" "$INGRESS_URL/fn-hello/")
    rss=0
    [[ $mode == *filter ]] && rss=$(bench_rss_kib "$tracer" | cut -d" " -f2)
    stop_tracer
    extra='{}'
    if [[ $mode == *filter ]]; then
      extra=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps({k: v for k, v in s.items() if not isinstance(v, (list, dict))}))' "$dir/difftrace.stats.json")
    fi
    echo "{\"round\": $r, \"mode\": \"$mode\", \"load\": \"$load\", \"sat\": \"$sat\", \"bpf\": \"$bpf\", \"rss_kib\": $rss, \"extra\": $extra}" >>"$rows"
    echo "round $r $mode: load p50/p99/ok/sent ${load} | wrk rps/p50/p99/n ${sat} | BPF ns/runs per request $bpf" >&2
  done
done
python3 - "$rows" "$OUT" "$RATE" "$LOAD_SECS" "$SAT_SECS" "$SAT_CONNS" <<'PY'
import json, statistics, sys
rows_path, out, rate, load_secs, sat_secs, conns = sys.argv[1:]
rows = [json.loads(l) for l in open(rows_path)]
med = statistics.median
res = {
    "workload": {
        "moderate": "scripts/load/run.sh --shape steady --rate %s --duration %ss --anomaly-rate 0 (default mix), via haproxy ingress" % (rate, load_secs),
        "saturation": "wrk -t1 -c%s -d%ss $INGRESS_URL/fn-hello/" % (conns, sat_secs),
    },
    "rounds": max(r["round"] for r in rows),
    "modes": {},
}
for mode in ("none", "floor", "filter", "nofilter", "bpftrace"):
    rs = [r for r in rows if r["mode"] == mode]
    L = [[float(x) for x in r["load"].split()] for r in rs]
    S = [[float(x) for x in r["sat"].split()] for r in rs]
    m = {
        "moderate_p50_us": round(med(x[0] for x in L), 1),
        "moderate_p99_us": round(med(x[1] for x in L), 1),
        "moderate_ok": int(med(x[2] for x in L)),
        "sat_rps": round(med(x[0] for x in S), 1),
        "sat_p50_us": round(med(x[1] for x in S), 1),
        "sat_p99_us": round(med(x[2] for x in S), 1),
        "per_round": [{"moderate_p50_us": x[0], "moderate_p99_us": x[1], "sat_rps": y[0]} for x, y in zip(L, S)],
    }
    if mode != "none":
        # BPF run time (and program runs) of the tracer's own programs per request wrk
        # completed, in the run with the accounting on.
        m["bpf_ns_per_request_sat"] = round(med(float(r["bpf"].split()[0]) for r in rs))
        m["bpf_runs_per_request_sat"] = round(med(float(r["bpf"].split()[1]) for r in rs), 2)
    if mode in ("filter", "nofilter"):
        m["peak_rss_kib"] = max(r["rss_kib"] for r in rs)
        X = [r["extra"] for r in rs]
        # Every reason a span was reported for (reported_*), so that they add up to spans_reported.
        reasons = sorted({k for x in X for k in x if k.startswith("reported_")})
        for k in ["spans_seen", "spans_reported", "spans_kept", "ringbuf_lost", "anomalies_lost",
                  "spans_exported", "io_calls"] + reasons:
            m[k] = sum(x.get(k) or 0 for x in X)
        # Requests each round: the load generator's and both wrk runs' (all with the tracer on).
        n = sum(x[2] for x in L) + sum(y[3] for y in S) + sum(int(r["bpf"].split()[2]) for r in rs)
        m["requests"] = int(n)
        m["ringbuf_events_per_request"] = round(m["spans_reported"] / max(n, 1), 3)
    res["modes"][mode] = m
base = res["modes"]["none"]
for mode in ("floor", "filter", "nofilter", "bpftrace"):
    m = res["modes"][mode]
    m["moderate_p50_ratio"] = round(m["moderate_p50_us"] / base["moderate_p50_us"], 3)
    m["moderate_p99_ratio"] = round(m["moderate_p99_us"] / base["moderate_p99_us"], 3)
    m["moderate_p50_added_us"] = round(m["moderate_p50_us"] - base["moderate_p50_us"], 1)
    m["sat_throughput_ratio"] = round(m["sat_rps"] / base["sat_rps"], 3)
json.dump(res, open(out, "w"), indent=2)
md = ["| platform path | p50 @%s/s (us) | p99 @%s/s (us) | p50 ratio | p99 ratio | wrk req/s | throughput ratio | BPF ns/req (sat) |" % (rate, rate),
      "|---|---:|---:|---:|---:|---:|---:|---:|"]
for mode in ("none", "floor", "filter", "nofilter", "bpftrace"):
    m = res["modes"][mode]
    md.append("| %s | %.0f | %.0f | %s | %s | %.0f | %s | %s |" % (
        {"none": "nothing attached", "floor": "empty programs on difftrace's hooks, Go uprobes included (the floor)", "filter": "difftrace, filter on", "nofilter": "difftrace --no-filter", "bpftrace": "bpftrace equivalent"}[mode],
        m["moderate_p50_us"], m["moderate_p99_us"], m.get("moderate_p50_ratio", "1"), m.get("moderate_p99_ratio", "1"),
        m["sat_rps"], m.get("sat_throughput_ratio", "1"), m.get("bpf_ns_per_request_sat", "-")))
open(out[:-5] + ".md" if out.endswith(".json") else out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
