#!/usr/bin/env bash
# What processes difftrace does NOT trace pay for it (issue 13): every syscall of every
# process enters the raw sys_enter/sys_exit programs, and untargeted ones leave at the target
# check. Two syscall-heavy workloads, neither of them targeted, in interleaved rounds of:
#   none       nothing attached
#   floor      empty programs on the same two hooks (build/hook-floor): the kernel's trip into
#              BPF and back, with no work in it; no tracer on these hooks can cost less
#   difftrace  `difftrace trace --comm dt-nobody` (a target that matches no process)
# Workloads: dd       dd bs=1 of COUNT bytes from /dev/zero to /dev/null (2 x COUNT syscalls,
#                     all read/write: the ones difftrace follows)
#            mixed    tar of /usr/include to a pipe, four times (open, fstat, read, write, close,
#                     getdents)
# Reports the median wall time per mode and workload, the ratio to none, and difftrace's cost
# above the floor.
#   usage: scripts/bench/untargeted.sh [ROUNDS=5] [COUNT=1000000] [OUT=build/bench/untargeted.json]
# Needs root, build/difftrace and build/hook-floor (make build/hook-floor).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
ROUNDS=${1:-5}
COUNT=${2:-1000000}
OUT=${3:-build/bench/untargeted.json}
mkdir -p "$(dirname "$OUT")"
for b in build/difftrace build/hook-floor; do
  [ -x "$b" ] || { echo "untargeted: $b missing; run make all build/hook-floor" >&2; exit 1; }
done
dir=$(mktemp -d)
holder=
cleanup() {
  [ -n "$holder" ] && bench_stop "$holder"
  rm -rf "$dir"
}
trap cleanup EXIT

# run_workload NAME: seconds of wall time, checking that the workload did its work.
run_workload() {
  local t0 t1
  t0=$EPOCHREALTIME
  case $1 in
    dd)
      dd if=/dev/zero of=/dev/null bs=1 count="$COUNT" 2>"$dir/dd.err"
      grep -q "^$COUNT bytes" "$dir/dd.err" || { echo "untargeted: dd did not copy $COUNT bytes" >&2; cat "$dir/dd.err" >&2; exit 1; }
      ;;
    mixed)
      for _ in 1 2 3 4; do tar cf - /usr/include 2>/dev/null | wc -c; done >"$dir/tar.bytes"
      [ "$(head -n 1 "$dir/tar.bytes")" -gt 10000000 ] || { echo "untargeted: tar wrote too little" >&2; exit 1; }
      ;;
  esac
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}

start_mode() {
  case $1 in
    none) holder= ;;
    floor)
      bench_start_floor "$dir" floor
      holder=$BENCH_PID
      # the floor's two programs must be in the kernel, or the floor measures nothing
      bpftool -j prog show | python3 -c 'import json, sys; n = {p.get("name") for p in json.load(sys.stdin)}; sys.exit(0 if {"floor_enter", "floor_exit"} <= n else 1)' ||
        { echo "untargeted: hook-floor's programs floor_enter/floor_exit are not loaded" >&2; exit 1; }
      ;;
    difftrace)
      bench_start_difftrace "$dir" untargeted --comm dt-nobody
      holder=$BENCH_PID
      ;;
  esac
}

stop_mode() {
  [ -n "$holder" ] && bench_stop "$holder"
  holder=
}

modes=(none floor difftrace)
: >"$dir/times"
tar cf - /usr/include >/dev/null 2>&1  # warm the page cache
for r in $(seq "$ROUNDS"); do
  # rotate the order each round
  for i in 0 1 2; do
    mode=${modes[$(((i + r) % 3))]}
    start_mode "$mode"
    for w in dd mixed; do
      echo "$r $mode $w $(run_workload $w)" >>"$dir/times"
    done
    stop_mode
  done
  echo "round $r: $(tail -n 6 "$dir/times" | awk '{printf "%s/%s %.2fs  ", $2, $3, $4}')" >&2
done
# difftrace saw no span: nothing was targeted
spans=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['spans_seen'])" "$dir/untargeted.stats.json" 2>/dev/null || echo "?")

python3 - "$dir/times" "$OUT" "$COUNT" "$spans" <<'PY'
import json, statistics, sys
times, out, count, spans = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
t = {}
for line in open(times):
    r, mode, w, s = line.split()
    t.setdefault(w, {}).setdefault(mode, []).append(float(s))
res = {"count": count, "difftrace_spans_seen": spans, "workloads": {}}
print("| workload | nothing attached | empty programs (floor) | difftrace, nothing targeted | difftrace above the floor |")
print("|---|---:|---:|---:|---:|")
for w, desc in (("dd", "dd bs=1, %d bytes (%d read/write syscalls)" % (count, 2 * count)),
                ("mixed", "tar of /usr/include to a pipe, 4 times")):
    med = {m: statistics.median(v) for m, v in t[w].items()}
    n = med["none"]
    res["workloads"][w] = {"description": desc, "median_s": med,
                           "ratio": {m: med[m] / n for m in med},
                           "difftrace_over_floor": med["difftrace"] / med["floor"],
                           "runs": t[w]}
    print("| %s | %.2f s | %.2f s (x%.2f) | %.2f s (x%.2f) | x%.2f |" % (
        desc, n, med["floor"], med["floor"] / n, med["difftrace"], med["difftrace"] / n,
        med["difftrace"] / med["floor"]))
json.dump(res, open(out, "w"), indent=2)
PY
