#!/usr/bin/env bash
# Data volume per request on the demo platform, with and without the filter: one load run
# (steady, no anomalies, default mix) traced by two difftrace instances at once, so both see
# the same requests (three instances at once):
#   filter       `difftrace trace --config scripts/platform/difftrace.yaml`: platform spans
#                filtered, function spans reported (role function)
#   fnfiltered   the same config with the functions' role function-filtered: every span
#                filtered, so every event that crosses is an anomaly, a warm-up or a mistake
#   nofilter     the first config with --no-filter
# The load comes in two phases: WARM requests (the filter's warm-up: endpoints report their
# first spans until they have a threshold, ~10 spans each), then REQUESTS more (the steady
# state). Per request, for each instance: span events that crossed the ring buffer
# (spans_reported; for "filter" this counts the function spans it reports by design) and their bytes (x sizeof(struct dt_span_event) + 8-byte record header),
# spans and OTLP-JSON bytes exported, and platform spans that crossed (reported, not a
# function's span), over the whole run and over the steady phase alone (from the exported
# spans' start times). With no anomaly injected every request is a normal one.
#   usage: scripts/bench/data_volume.sh [REQUESTS=6000] [RATE=200] [OUT=build/bench/data_volume.json] [WARM=2000]
# Starts its own platform on ports 182xx unless one is up in build/bench/platform.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
REQUESTS=${1:-6000}
RATE=${2:-200}
OUT=${3:-build/bench/data_volume.json}
WARM=${4:-2000}
CONFIG=${BENCH_PLATFORM_CONFIG:-scripts/platform/difftrace.yaml}
bench_platform_env
mkdir -p "$(dirname "$OUT")"
[ -x build/difftrace ] || { echo "data_volume: build/difftrace missing; run make" >&2; exit 1; }

dir=$(mktemp -d)
pids=() started_platform=
cleanup() {
  for p in "${pids[@]}"; do bench_stop "$p"; done
  [ -n "$started_platform" ] && scripts/platform/down.sh >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
bench_platform_up

# The event's size as the compiler lays it out (the same header BPF and user space use).
printf '#include <linux/types.h>\n#include <stdio.h>\n#include "capture.h"\nint main(void){printf("%%zu\\n", sizeof(struct dt_span_event));return 0;}\n' >"$dir/sz.c"
${CC:-gcc} -Iinclude "$dir/sz.c" -o "$dir/sz"
event_bytes=$("$dir/sz")

sed 's/role: function$/role: function-filtered/' "$CONFIG" >"$dir/fnfiltered.yaml"
bench_start_difftrace "$dir" filter --config "$CONFIG"; pids+=("$BENCH_PID")
bench_start_difftrace "$dir" fnfiltered --config "$dir/fnfiltered.yaml"; pids+=("$BENCH_PID")
bench_start_difftrace "$dir" nofilter --config "$CONFIG" --no-filter; pids+=("$BENCH_PID")
load() {  # NAME REQUESTS SEED
  scripts/load/run.sh --url "$INGRESS_URL" --shape steady --rate "$RATE" --requests "$2" \
    --duration "$(( ($2 + RATE - 1) / RATE ))s" --anomaly-rate 0 --seed "$3" \
    --out "$dir/$1.truth.jsonl" --summary "$dir/$1.load.json" >/dev/null 2>&1
}
load warm "$WARM" 1
steady_from=$(date +%s%N)
load steady "$REQUESTS" 2
steady_to=$(date +%s%N)
sleep 2  # fn-async finishes after its 202; the assembler's wait (1 s) passes
for p in "${pids[@]}"; do bench_stop "$p"; done
pids=()

python3 - "$dir" "$OUT" "$event_bytes" "$RATE" "$steady_from" "$steady_to" <<'PY'
import collections, json, os, sys
d, out, event_bytes, rate, t0, t1 = sys.argv[1:]
event_bytes, t0, t1 = int(event_bytes), int(t0), int(t1)
warm, steady = (json.load(open(os.path.join(d, n + ".load.json"))) for n in ("warm", "steady"))
n_all, n_steady = warm["ok"] + steady["ok"], steady["ok"]

def spans(name):
    for line in open(os.path.join(d, name + ".spans.json")):
        for rs in json.loads(line).get("resourceSpans", []):
            svc = next((a["value"].get("stringValue") for a in rs["resource"]["attributes"] if a["key"] == "service.name"), "")
            for ss in rs.get("scopeSpans", []):
                for s in ss.get("spans", []):
                    at = {a["key"]: list(a["value"].values())[0] for a in s.get("attributes", [])}
                    yield svc, int(s["startTimeUnixNano"]), at.get("difftrace.decision", ""), at.get("difftrace.reason", "")

res = {"workload": "scripts/load/run.sh --shape steady --rate %s --anomaly-rate 0 (default mix): %d warm-up requests, then %d (steady phase)" % (rate, warm["planned"], steady["planned"]),
       "requests_ok": n_all, "requests_ok_steady": n_steady, "event_bytes": event_bytes, "modes": {}}
sp = list(spans("filter"))
# Function services: those whose spans the filter reports for their role.
functions = sorted({svc for svc, _, _, reason in sp if reason == "function"})
res["function_services"] = functions
for mode in ("filter", "fnfiltered", "nofilter"):
    st = json.load(open(os.path.join(d, mode + ".stats.json")))
    S = sp if mode == "filter" else list(spans(mode))
    crossed = [x for x in S if x[2] in ("reported", "anomalous", "full")]  # not kept, not estimated
    plat = [x for x in crossed if x[0] not in functions]
    plat_steady = [x for x in plat if t0 <= x[1] < t1]
    per_comp = collections.Counter()
    for e in st.get("endpoints", []):
        per_comp["%s %s" % (e["service"], e["kind"])] += e["count"]
    size = os.path.getsize(os.path.join(d, mode + ".spans.json"))
    rep = st.get("spans_reported", 0)
    m = {k: st.get(k) for k in ("spans_seen", "spans_reported", "spans_kept", "spans_dropped_no_trace_id",
                                "ringbuf_lost", "anomalies_lost", "io_calls", "spans_recovered_exact", "spans_estimated")}
    m["reported_by_reason"] = {k[len("reported_"):]: v for k, v in st.items() if k.startswith("reported_") and isinstance(v, int) and v}
    m["spans_exported"] = len(S)
    m["otlp_json_bytes"] = size
    m["platform_spans_crossed"] = len(plat)
    m["platform_spans_crossed_steady"] = len(plat_steady)
    m["all_spans_crossed_steady"] = round(sum(1 for x in crossed if t0 <= x[1] < t1) / max(n_steady, 1), 4)  # per request
    m["platform_crossed_by_reason"] = dict(collections.Counter(x[3] for x in plat))
    m["platform_crossed_steady_by_reason"] = dict(collections.Counter(x[3] for x in plat_steady))
    m["per_request"] = {
        "ringbuf_events": round(rep / n_all, 3),
        "ringbuf_bytes": round(rep * (event_bytes + 8) / n_all),
        "spans_exported": round(len(S) / n_all, 3),
        "otlp_json_bytes": round(size / n_all),
        "platform_spans_crossed": round(len(plat) / n_all, 4),
        "platform_spans_crossed_steady": round(len(plat_steady) / max(n_steady, 1), 4),
        "traced_syscalls": round((st.get("io_calls") or 0) / n_all, 1),
    }
    m["spans_per_request_by_component"] = {k: round(v / n_all, 2) for k, v in sorted(per_comp.items())}
    res["modes"][mode] = m
json.dump(res, open(out, "w"), indent=2)
md = ["| data per request (%d requests, %d in the steady phase) | ring-buffer events | ring-buffer bytes | spans exported | OTLP-JSON bytes | platform spans crossing (whole run / steady phase) |" % (n_all, n_steady),
      "|---|---:|---:|---:|---:|---:|"]
for mode, name in (("filter", "filter on"), ("fnfiltered", "filter on, functions filtered too"), ("nofilter", "--no-filter")):
    p = res["modes"][mode]["per_request"]
    md.append("| %s | %s | %s | %s | %s | %s / %s |" % (name, p["ringbuf_events"], p["ringbuf_bytes"], p["spans_exported"], p["otlp_json_bytes"],
                                                  p["platform_spans_crossed"], p["platform_spans_crossed_steady"]))
open(out[:-5] + ".md" if out.endswith(".json") else out + ".md", "w").write("\n".join(md) + "\n")
print(json.dumps(res, indent=2))
print("\n".join(md))
PY
