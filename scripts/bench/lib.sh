# shellcheck shell=bash
# Shared by the scripts in scripts/bench/. Sourced, not run; the caller is at the repo root.

# bench_wrk ARGS...: runs wrk --latency ARGS and prints "requests_per_sec p50_us p99_us requests".
# A server that answered errors (non-2xx/3xx) or dropped connections, or a run with no request
# completed, is a broken measurement, not a throughput: it says so and fails.
bench_wrk() {
  wrk --latency "$@" |
    awk '/Requests\/sec/ {rps=$2} / requests in / {n=$1}
         /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
         /Non-2xx or 3xx responses:/ {bad=$NF}
         /Socket errors:/ {errs=$0}
         function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return v*1000; if (v ~ /s$/) return v*1e6; return v }
         END {
           if (bad + 0 > 0 || n + 0 == 0 || errs ~ /(connect|read|write|timeout) [1-9]/) {
             printf "bench_wrk: broken run: %d requests, %d non-2xx/3xx answers; %s\n", n, bad, errs > "/dev/stderr"
             exit 1
           }
           print rps+0, us(p50), us(p99), n+0
         }'
}

# bench_traceparent_lua PATH: a wrk script that gives every request a trace of its own (a
# fresh W3C traceparent), as requests through a platform hop have; the filter keeps spans
# by trace id, so this is what makes it use its keep-buffer.
bench_traceparent_lua() {
  cat >"$1" <<'LUA'
local n = 0
local prefix
request = function()
  if not prefix then
    math.randomseed(os.time())
    prefix = string.format("%08x", math.random(1, 2147483647))
  end
  n = n + 1
  return wrk.format(nil, nil, {["traceparent"] = string.format("00-%s%024x-00f067aa0ba902b7-01", prefix, n)})
end
LUA
}

# bench_start_difftrace DIR NAME ARGS...: starts `build/difftrace trace ARGS` exporting OTLP
# JSON to DIR/NAME.spans.json, stats to DIR/NAME.stats.json, log in DIR/NAME.log, and waits
# until its probes are attached. Sets BENCH_PID to its pid. BENCH_DIFFTRACE names another
# binary (another build's, for before/after runs interleaved in one session).
bench_start_difftrace() {
  local dir=$1 name=$2
  shift 2
  rm -f "$dir/$name.ready" "$dir/$name.stats.json" "$dir/$name.spans.json"
  "${BENCH_DIFFTRACE:-build/difftrace}" trace "$@" --export "otlp-json:$dir/$name.spans.json" \
    --stats-json "$dir/$name.stats.json" --ready-file "$dir/$name.ready" 2>"$dir/$name.log" &
  # shellcheck disable=SC2034  # read by the caller
  BENCH_PID=$!
  bench_wait_attached "$dir" "$name" difftrace
}

# bench_start_floor DIR NAME [GO_EXECUTABLE...]: starts build/hook-floor, empty programs on the
# capture program's raw sys_enter/sys_exit hooks and at the Go uprobes' sites in each Go
# executable given (the floor of any tracer on those hooks), log in DIR/NAME.log, and waits
# until they are attached. Sets BENCH_PID.
bench_start_floor() {
  local dir=$1 name=$2
  shift 2
  [ -x build/hook-floor ] || { echo "bench: build/hook-floor missing; run make build/hook-floor" >&2; return 1; }
  rm -f "$dir/$name.ready"
  build/hook-floor "$dir/$name.ready" "$@" 2>"$dir/$name.log" &
  # shellcheck disable=SC2034  # read by the caller
  BENCH_PID=$!
  bench_wait_attached "$dir" "$name" hook-floor
}

# bench_wait_attached DIR NAME WHAT: waits up to 30 s for DIR/NAME.ready (the --ready-file of a
# tracer started by the functions here); else prints DIR/NAME.log and fails.
bench_wait_attached() {
  local dir=$1 name=$2 what=$3 _
  for _ in $(seq 300); do [ -f "$dir/$name.ready" ] && return 0; sleep 0.1; done
  echo "bench: $what ($name) did not attach:" >&2
  cat "$dir/$name.log" >&2
  return 1
}

# bench_start_agent DIR NAME CONFIG PORT: starts `build/difftrace agent` on a copy of CONFIG
# that exports OTLP JSON to DIR/NAME.spans.json, /metrics on 127.0.0.1:PORT, stats and log as
# bench_start_difftrace's; waits until its probes are attached. Sets BENCH_PID.
bench_start_agent() {
  local dir=$1 name=$2 config=$3 port=$4
  rm -f "$dir/$name.ready" "$dir/$name.stats.json" "$dir/$name.spans.json"
  { cat "$config"; echo "export: [{otlp-json: $dir/$name.spans.json}]"; } >"$dir/$name.yaml"
  build/difftrace agent --config "$dir/$name.yaml" --listen "127.0.0.1:$port" \
    --stats-json "$dir/$name.stats.json" --ready-file "$dir/$name.ready" 2>"$dir/$name.log" &
  # shellcheck disable=SC2034  # read by the caller
  BENCH_PID=$!
  bench_wait_attached "$dir" "$name" "difftrace agent"
}

# bench_cpu_s PID: the CPU time (user + system) a live process has used, in seconds.
bench_cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f\n", ($14 + $15) / hz}' "/proc/$1/stat"
}

# bench_stop PID: SIGINT, then wait for it (difftrace drains, exports and writes its stats).
bench_stop() {
  kill -INT "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# bench_stats_flat FILE: difftrace's --stats-json FILE as one JSON object of its scalar fields
# (its lists and objects left out), for a bench script's per-run rows.
bench_stats_flat() {
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps({k: v for k, v in s.items() if not isinstance(v, (list, dict))}))' "$1"
}

# bench_rss_kib PID: "VmRSS VmHWM" of a live process, in KiB.
bench_rss_kib() {
  awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {print r+0, h+0}' "/proc/$1/status"
}

# bench_bpf_maps PID: JSON list of the BPF maps the process holds open, each with its id,
# name, type, max_entries and memlock bytes (the kernel's accounting of its memory, from
# /proc/PID/fdinfo; names from bpftool).
bench_bpf_maps() {
  local pid=$1
  python3 - "$pid" "$(bpftool -j map show)" <<'PY'
import glob, json, os, sys
pid, shown = sys.argv[1], json.loads(sys.argv[2])
names = {m["id"]: m.get("name", "") for m in shown}
out, seen = [], set()
for fd in glob.glob("/proc/%s/fdinfo/*" % pid):
    try:
        info = dict(l.split(":", 1) for l in open(fd) if ":" in l)
    except OSError:
        continue
    if "map_id" not in info:
        continue
    mid = int(info["map_id"])
    if mid in seen:
        continue
    seen.add(mid)
    out.append({"id": mid, "name": names.get(mid, ""), "type": int(info["map_type"]),
                "max_entries": int(info["max_entries"]), "memlock": int(info["memlock"])})
print(json.dumps(sorted(out, key=lambda m: -m["memlock"])))
PY
}

# bench_platform_env: the demo platform of the benchmarks runs on ports 182xx-184xx and in
# build/bench/platform, so it never meets a platform someone else has up (BENCH_* change them).
bench_platform_env() {
  export INGRESS_PORT=${BENCH_INGRESS_PORT:-18280} ACTIVATOR_PORT=${BENCH_ACTIVATOR_PORT:-18281}
  export QP_PORT_BASE=${BENCH_QP_PORT_BASE:-18300} FN_PORT_BASE=${BENCH_FN_PORT_BASE:-18400}
  export PLATFORM_RUN_DIR=$PWD/build/bench/platform PLATFORM_LOG_DIR=$PWD/build/bench/platform/logs
}

# bench_platform_up: starts that platform unless it is up already (when it starts it, it sets
# started_platform=1 for the caller's cleanup to stop it again), then reads its state.env
# (ports, comms, pids).
bench_platform_up() {
  [ -f "$PLATFORM_RUN_DIR/state.env" ] || started_platform=1
  scripts/platform/up.sh >/dev/null
  source "$PLATFORM_RUN_DIR/state.env"
}

# bench_nginx_start DIR PORT [WORKER_CONNECTIONS=1024]: nginx, one worker, serving a 612-byte
# index.html from DIR/www on 127.0.0.1:PORT, keep-alive without a request limit. Stop it with
# bench_nginx_stop DIR.
bench_nginx_start() {
  local dir=$1 port=$2 wc=${3:-1024}
  chmod 755 "$dir"  # nginx workers run as nobody
  mkdir -p "$dir/www" "$dir/logs"
  head -c 612 /dev/zero | tr '\0' 'x' >"$dir/www/index.html"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile $((wc + 1024));
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections $wc; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  keepalive_timeout 600s;
  server {
    listen 127.0.0.1:$port backlog=16384;
    root $dir/www;
  }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf"
  local _
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/index.html" >/dev/null && return 0; sleep 0.1; done
  echo "bench: nginx did not answer on port $port" >&2
  return 1
}

bench_nginx_stop() {
  [ -f "$1/nginx.pid" ] || return 0
  local pid
  pid=$(cat "$1/nginx.pid")
  kill "$pid" 2>/dev/null || true
  local _
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

# bench_nginx_config PATH: difftrace's config making nginx a platform service (its normal
# spans stay in the kernel).
bench_nginx_config() {
  cat >"$1" <<'YAML'
services:
  - name: nginx
    match: {comm: nginx}
    role: platform
profiler: {interval: 1s, window: 30s, min_samples: 50}
YAML
}

# bench_nginx_setup DIR PORT: nginx serving the small file on PORT (state in DIR), difftrace's
# config making it a platform service (DIR/nginx.yaml), a wrk script giving every request a
# trace of its own (DIR/traceparent.lua). bench_nginx_cleanup DIR TRACER undoes it (the trap).
bench_nginx_setup() {
  bench_nginx_start "$1" "$2"
  bench_nginx_config "$1/nginx.yaml"
  bench_traceparent_lua "$1/traceparent.lua"
}

# bench_nginx_begin PORT: nginx serving the bench file on PORT from a fresh temporary dir,
# cleaned up at exit with the tracer whose pid is in $tracer; one second of wrk to warm it up.
# Sets dir, tracer and url (shellcheck: they are the caller's).
bench_nginx_begin() {
  dir=$(mktemp -d)
  tracer=
  trap 'bench_nginx_cleanup "$dir" "$tracer"' EXIT
  bench_nginx_setup "$dir" "$1"
  url="http://127.0.0.1:$1/index.html"
  bench_wrk -t1 -c32 -d1s -s "$dir/traceparent.lua" "$url" >/dev/null  # warm up
}

bench_nginx_cleanup() {
  [ -n "$2" ] && bench_stop "$2"
  sysctl -qw kernel.bpf_stats_enabled=0 || true
  bench_nginx_stop "$1"
  rm -rf "$1"
}

# bench_prog_ids: the ids of every BPF program loaded now, space-separated. A tracer's
# programs are the ids that appear when it attaches (bench_new_ids BEFORE).
bench_prog_ids() {
  bpftool -j prog show | python3 -c 'import json,sys; print(" ".join(str(p["id"]) for p in json.load(sys.stdin)))'
}
bench_new_ids() {  # BEFORE (a bench_prog_ids output): ids loaded since
  local id out=()
  for id in $(bench_prog_ids); do [[ " $1 " == *" $id "* ]] || out+=("$id"); done
  echo "${out[*]}"
}
# bench_prog_ns IDS...: "run_time_ns run_cnt" summed over those programs (counted only
# while kernel.bpf_stats_enabled=1).
bench_prog_ns() {
  [ $# -eq 0 ] && { echo "0 0"; return; }
  bpftool -j prog show | python3 -c '
import json, sys
ids = set(int(x) for x in sys.argv[1:])
ps = [p for p in json.load(sys.stdin) if p["id"] in ids]
print(sum(p.get("run_time_ns", 0) for p in ps), sum(p.get("run_cnt", 0) for p in ps))' "$@"
}

# bench_bpf_time SECONDS CMD...: runs CMD (a wrk printing "rps p50 p99 requests") with the
# kernel's BPF run-time accounting on, for the tracer programs in BENCH_IDS, and prints
# "ns_per_request runs_per_request requests". The accounting itself costs two clock reads per
# program run, so throughput and latency are measured in runs of their own, with it off.
bench_bpf_time() {
  local out a b
  # shellcheck disable=SC2086
  a=$(bench_prog_ns $BENCH_IDS)
  sysctl -qw kernel.bpf_stats_enabled=1
  out=$("$@")
  sysctl -qw kernel.bpf_stats_enabled=0
  # shellcheck disable=SC2086
  b=$(bench_prog_ns $BENCH_IDS)
  python3 -c '
import sys
a, b, out = sys.argv[1].split(), sys.argv[2].split(), sys.argv[3].split()
n = max(float(out[3]), 1)
print("%.0f %.2f %d" % ((int(b[0]) - int(a[0])) / n, (int(b[1]) - int(a[1])) / n, n))' "$a" "$b" "$out"
}
