#!/usr/bin/env bash
# The cost of difftrace's Go uprobes (bpf/lib/go_causality.bpf.h: two hits per request a Go
# program sends): one Go client's sequential keep-alive GETs to a local Go server, the same
# program built with symbols (uprobes attached) and stripped (no symbols: no uprobes, all
# else traced the same), untraced and traced (--no-filter), rounds interleaved; the medians of
# microseconds per request, and per uprobe hit: (symbols - stripped, traced) / 2.
#   usage: scripts/bench/go_uprobe_cost.sh [ROUNDS=5] [REQUESTS=3000] [OUT=build/bench/go_uprobe_cost.json]
# Run as root, under the live lock: flock /tmp/dt-live.lock scripts/bench/go_uprobe_cost.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}
N=${2:-3000}
OUT=${3:-build/bench/go_uprobe_cost.json}
D=build/bench/go_uprobe
mkdir -p "$D"
# shellcheck source=scripts/bench/lib.sh
source scripts/bench/lib.sh
export GOCACHE=$PWD/$D/cache GOFLAGS=-mod=mod GOPROXY=off
(cd scripts/bench/go_http_loop && go build -o "../../../$D/gohttp" . &&
  go build -ldflags="-s -w" -o "../../../$D/gohttp-stripped" .)
make -s build/difftrace
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$D/gohttp" -serve "127.0.0.1:$port" & server=$!
tracer=""
trap 'kill $server 2>/dev/null; [ -n "$tracer" ] && kill -INT $tracer 2>/dev/null; true' EXIT
sleep 0.5
one() { "$D/$1" -url "http://127.0.0.1:$port/" -n "$N"; }
declare -A us
for _ in $(seq "$ROUNDS"); do
  us[untraced_symbols]+="$(one gohttp) " us[untraced_stripped]+="$(one gohttp-stripped) "
  # comm targets: the client is found, and its uprobes attached, at its first span (warm-up)
  bench_start_difftrace "$D" traced --comm gohttp --comm gohttp-stripped --no-filter
  tracer=$BENCH_PID
  us[traced_symbols]+="$(one gohttp) " us[traced_stripped]+="$(one gohttp-stripped) "
  kill -INT "$tracer"; wait "$tracer" || true; tracer=""
done
hits=$(/usr/bin/python3 -c "import json; print(json.load(open('$D/traced.stats.json'))['go_uprobe_hits'])")
/usr/bin/python3 - "$OUT" "$N" "$hits" "${us[untraced_symbols]}" "${us[untraced_stripped]}" \
  "${us[traced_symbols]}" "${us[traced_stripped]}" <<'PY'
import json, statistics, sys
out, n, hits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = ["untraced_symbols", "untraced_stripped", "traced_symbols", "traced_stripped"]
runs = {k: [float(x) for x in v.split()] for k, v in zip(names, sys.argv[4:])}
med = {k: statistics.median(v) for k, v in runs.items()}
per_hit = (med["traced_symbols"] - med["traced_stripped"]) / 2
res = {"requests_per_run": n, "us_per_request_median": med, "runs": runs,
       "uprobe_hits_last_round": hits, "us_per_uprobe_hit": round(per_hit, 1)}
json.dump(res, open(out, "w"), indent=1)
for k in names:
    print(f"{k:18s} {med[k]:7.1f} us/request  (runs {runs[k]})")
print(f"per uprobe hit: {per_hit:.1f} us (2 hits per request; last round {hits} hits)")
PY
