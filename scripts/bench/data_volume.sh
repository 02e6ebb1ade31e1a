#!/usr/bin/env bash
# Data volume per request on the demo platform: a fixed number of requests from the load
# generator (steady, no anomalies, default mix) with `difftrace trace --comm C...` on every
# platform comm exporting OTLP JSON. Reports per request: span events that crossed the ring
# buffer (spans_reported), their bytes (x sizeof(struct dt_span_event) + 8-byte record
# header), spans exported, OTLP-JSON bytes written, traced syscalls (io_calls), and spans
# per component. The filter is not built yet: these are full-capture numbers.
#   usage: scripts/bench/data_volume.sh [REQUESTS=2000] [RATE=200] [OUT=build/bench/data_volume.json]
# Starts its own platform on ports 182xx unless one is up in build/bench/platform.
set -euo pipefail
cd "$(dirname "$0")/../.."
REQUESTS=${1:-2000}
RATE=${2:-200}
OUT=${3:-build/bench/data_volume.json}
export INGRESS_PORT=${BENCH_INGRESS_PORT:-18280} ACTIVATOR_PORT=${BENCH_ACTIVATOR_PORT:-18281}
export QP_PORT_BASE=${BENCH_QP_PORT_BASE:-18300} FN_PORT_BASE=${BENCH_FN_PORT_BASE:-18400}
export PLATFORM_RUN_DIR=$PWD/build/bench/platform PLATFORM_LOG_DIR=$PWD/build/bench/platform/logs
mkdir -p "$(dirname "$OUT")"
[ -x build/difftrace ] || { echo "data_volume: build/difftrace missing; run make" >&2; exit 1; }

dir=$(mktemp -d)
tracer= started_platform=
cleanup() {
  if [ -n "$tracer" ]; then kill -INT "$tracer" 2>/dev/null; wait "$tracer" 2>/dev/null || true; fi
  [ -n "$started_platform" ] && scripts/platform/down.sh >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
[ -f "$PLATFORM_RUN_DIR/state.env" ] || started_platform=1
scripts/platform/up.sh >/dev/null
source "$PLATFORM_RUN_DIR/state.env"
comm_args=()
for c in $COMMS; do comm_args+=(--comm "$c"); done

# The event's size as the compiler lays it out (the same header BPF and user space use).
printf '#include <linux/types.h>\n#include <stdio.h>\n#include "capture.h"\nint main(void){printf("%%zu\\n", sizeof(struct dt_span_event));return 0;}\n' >"$dir/sz.c"
${CC:-gcc} -Iinclude "$dir/sz.c" -o "$dir/sz"
event_bytes=$("$dir/sz")

build/difftrace trace "${comm_args[@]}" --export "otlp-json:$dir/spans.json" \
  --stats-json "$dir/stats.json" --ready-file "$dir/ready" 2>"$dir/difftrace.log" &
tracer=$!
for _ in $(seq 300); do [ -f "$dir/ready" ] && break; sleep 0.1; done
[ -f "$dir/ready" ] || { echo "difftrace did not get ready:" >&2; cat "$dir/difftrace.log" >&2; exit 1; }
scripts/load/run.sh --url "$INGRESS_URL" --shape steady --rate "$RATE" --requests "$REQUESTS" \
  --duration "$(( (REQUESTS + RATE - 1) / RATE ))s" --anomaly-rate 0 \
  --out "$dir/truth.jsonl" --summary "$dir/load.json" >/dev/null 2>&1
sleep 1  # fn-async finishes after its 202; let its spans close
kill -INT "$tracer"; wait "$tracer"; tracer=

python3 - "$dir/stats.json" "$dir/load.json" "$dir/spans.json" "$OUT" "$event_bytes" "$RATE" <<'PY'
import collections, json, os, sys
stats_p, load_p, spans_p, out, event_bytes, rate = sys.argv[1:]
event_bytes = int(event_bytes)
st = json.load(open(stats_p)); ld = json.load(open(load_p))
n = ld["ok"]
exported = 0
for line in open(spans_p):
    for rs in json.loads(line).get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            exported += len(ss.get("spans", []))
per_comp = collections.Counter()
for e in st.get("endpoints", []):
    per_comp["%s %s" % (e["service"], e["kind"])] += e["count"]
size = os.path.getsize(spans_p)
res = {
    "workload": "scripts/load/run.sh --shape steady --rate %s --requests %d --anomaly-rate 0 (default mix)" % (rate, ld["planned"]),
    "requests_ok": n,
    "requests_sent": ld["sent"],
    "filter": "none (full capture; the in-kernel filter is not built yet)",
    "spans_seen": st.get("spans_seen"),
    "spans_reported": st.get("spans_reported"),
    "ringbuf_lost": st.get("ringbuf_lost"),
    "io_calls": st.get("io_calls"),
    "spans_exported": exported,
    "otlp_json_bytes": size,
    "event_bytes": event_bytes,
    "per_request": {
        "ringbuf_events": round(st.get("spans_reported", 0) / n, 2),
        "ringbuf_bytes": round(st.get("spans_reported", 0) * (event_bytes + 8) / n),
        "spans_exported": round(exported / n, 2),
        "otlp_json_bytes": round(size / n),
        "traced_syscalls": round((st.get("io_calls") or 0) / n, 1),
    },
    "spans_per_request_by_component": {k: round(v / n, 2) for k, v in sorted(per_comp.items())},
}
json.dump(res, open(out, "w"), indent=2)
p = res["per_request"]
md = ["| data per request (full capture) | ring-buffer events | ring-buffer bytes | spans exported | OTLP-JSON bytes | traced syscalls |",
      "|---|---:|---:|---:|---:|---:|",
      "| %d requests, platform default mix | %s | %s | %s | %s | %s |" % (n, p["ringbuf_events"], p["ringbuf_bytes"], p["spans_exported"], p["otlp_json_bytes"], p["traced_syscalls"])]
open(out[:-5] + ".md" if out.endswith(".json") else out + ".md", "w").write("\n".join(md) + "\n")
print(json.dumps(res, indent=2))
print("\n".join(md))
PY
