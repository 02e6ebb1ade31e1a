#!/usr/bin/env bash
# Replay throughput: `difftrace replay` over a generated capture of realistic HTTP/1.1 traffic
# (build/gen-http-pcap, bench/gen_http_pcap.cpp: at least 1 GB by default), against
# `tshark -q -z http,tree` on the same file in the same run. Reports wall time, MB/s of
# capture, spans/s, CPU time and peak RSS (/usr/bin/time -v) of each, and the ratio; checks
# that difftrace's span count equals the number of requests the generator wrote (and shows
# tshark's request and response counts next to it). Fails if the span count is wrong.
#   usage: scripts/bench/replay_throughput.sh [BYTES=1100000000] [OUT=build/bench/replay_throughput.json]
# Knobs (environment): REPLAY_BENCH_SEED=1, REPLAY_BENCH_DIR=build/bench/replay (the capture is
# kept there and reused while the generator, size and seed are the same), REPLAY_BENCH_TSHARK=0
# to leave tshark out, DIFFTRACE_BIN / GEN_HTTP_PCAP_BIN for other builds. Needs build/difftrace,
# build/gen-http-pcap (`make bench-replay` builds both), tshark and /usr/bin/time
# (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
BYTES=${1:-1100000000}
OUT=${2:-build/bench/replay_throughput.json}
SEED=${REPLAY_BENCH_SEED:-1}
DIR=${REPLAY_BENCH_DIR:-build/bench/replay}
TSHARK=${REPLAY_BENCH_TSHARK:-1}
DIFFTRACE=${DIFFTRACE_BIN:-build/difftrace}
GEN=${GEN_HTTP_PCAP_BIN:-build/gen-http-pcap}
mkdir -p "$DIR" "$(dirname "$OUT")"
for f in "$DIFFTRACE" "$GEN" /usr/bin/time; do
  [ -x "$f" ] || { echo "replay_throughput: $f missing; run make bench-replay" >&2; exit 1; }
done
if [ "$TSHARK" = 1 ] && ! command -v tshark >/dev/null; then
  echo "replay_throughput: tshark missing; run scripts/install-deps.sh (or REPLAY_BENCH_TSHARK=0)" >&2
  exit 1
fi
log() { echo "replay_throughput: $*" >&2; }

cap="$DIR/http_${BYTES}_seed${SEED}.pcap"
truth="${cap%.pcap}.truth.json"
if [ ! -s "$cap" ] || [ ! -s "$truth" ] || [ "$GEN" -nt "$truth" ]; then
  rm -f "$DIR"/http_*_seed*.pcap "$DIR"/http_*_seed*.truth.json  # only ever one capture kept
  log "generating $cap"
  "$GEN" "$cap" --bytes "$BYTES" --seed "$SEED" --truth "$truth" >&2
fi
# Both tools read the file from the page cache: read it once first so that neither pays for
# the disk and the order of the runs does not matter.
cat "$cap" >/dev/null
load_before=$(cut -d" " -f1-3 /proc/loadavg)

log "difftrace replay"
/usr/bin/time -v -o "$DIR/difftrace.time" "$DIFFTRACE" replay "$cap" \
  --export otlp-json:/dev/null --stats-json "$DIR/difftrace.stats.json" \
  >/dev/null 2>"$DIR/difftrace.stderr"
if [ "$TSHARK" = 1 ]; then
  log "tshark -q -z http,tree"
  /usr/bin/time -v -o "$DIR/tshark.time" tshark -q -z http,tree -r "$cap" \
    >"$DIR/tshark.out" 2>"$DIR/tshark.stderr"
else
  rm -f "$DIR/tshark.time" "$DIR/tshark.out"
fi
load_after=$(cut -d" " -f1-3 /proc/loadavg)

python3 - "$DIR" "$cap" "$truth" "$OUT" "$load_before" "$load_after" <<'PY'
import json, os, re, subprocess, sys, time
d, cap, truth_p, out, load_before, load_after = sys.argv[1:]

def timev(path):
    """Wall, user, sys seconds and peak RSS (KiB) from /usr/bin/time -v."""
    t = open(path).read()
    def field(name):
        m = re.search(r"^\s*%s:\s*(.+)$" % re.escape(name), t, re.M)
        return m.group(1).strip() if m else None
    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    status = int(field("Exit status") or 0)
    return {"wall_s": round(wall, 3), "user_s": float(field("User time (seconds)")),
            "sys_s": float(field("System time (seconds)")),
            "peak_rss_kib": int(field("Maximum resident set size (kbytes)")), "exit_status": status}

truth = json.load(open(truth_p))
size = os.path.getsize(cap)
mb = size / 1e6
st = json.load(open(os.path.join(d, "difftrace.stats.json")))
dt = timev(os.path.join(d, "difftrace.time"))
spans = st["spans_seen"]
dt.update({"spans": spans, "spans_exported": st.get("spans_exported"),
           "pipelined_requests": st.get("pipelined_requests"),
           "pipelined_requests_unsupported": st.get("pipelined_requests_unsupported"),
           "non_http_data": st.get("non_http_data"), "tcp_gaps": st.get("tcp_gaps"),
           "connections": st.get("connections"), "tcp_segments": st.get("tcp_segments"),
           "mb_per_s": round(mb / dt["wall_s"], 1), "spans_per_s": round(spans / dt["wall_s"]),
           "command": "build/difftrace replay FILE --export otlp-json:/dev/null --stats-json PATH"})
ts = None
if os.path.exists(os.path.join(d, "tshark.time")):
    ts = timev(os.path.join(d, "tshark.time"))
    text = open(os.path.join(d, "tshark.out")).read()
    def count(label):
        m = re.search(r"^\s*%s\s+(\d+)" % re.escape(label), text, re.M)
        return int(m.group(1)) if m else None
    ts.update({"requests": count("HTTP Request Packets"), "responses": count("HTTP Response Packets"),
               "mb_per_s": round(mb / ts["wall_s"], 1),
               "requests_per_s": round((count("HTTP Request Packets") or 0) / ts["wall_s"]),
               "command": "tshark -q -z http,tree -r FILE",
               "version": " ".join(subprocess.run(["tshark", "--version"], capture_output=True,
                                         text=True).stdout.split()[:3:2])})
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
res = {
    "machine": {"nproc": os.cpu_count(), "cpu": cpu, "kernel": os.uname().release,
                "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                "loadavg_before": load_before, "loadavg_after": load_after,
                "git": subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                                      text=True).stdout.strip(),
                "note": "shared 2-core development VM; both tools read the capture from the page cache"},
    "capture": {"path": cap, "bytes": size, "requests": truth["requests"],
                "pipelined_requests": truth["pipelined_requests"],
                "chunked_responses": truth["chunked_responses"], "connections": truth["connections"],
                "packets": truth["packets"], "seed": truth["seed"],
                "generator": "build/gen-http-pcap (bench/gen_http_pcap.cpp)",
                "by_status": truth["by_status"], "by_endpoint": truth["by_endpoint"]},
    "difftrace": dt,
    "tshark": ts,
    "spans_equal_requests": spans == truth["requests"],
    "tshark_wall_over_difftrace": round(ts["wall_s"] / dt["wall_s"], 1) if ts else None,
}
json.dump(res, open(out, "w"), indent=2)

c = res["capture"]
what = "%.2f GB capture: %d requests (%d pipelined), %d connections, %d packets" % (
    size / 1e9, c["requests"], c["pipelined_requests"], c["connections"], c["packets"])
md = ["| replay throughput | tool | wall | capture MB/s | spans (requests) per s | CPU user+sys | peak RSS | requests found |",
      "|---|---|---:|---:|---:|---:|---:|---|",
      "| %s | `difftrace replay --export otlp-json:/dev/null` | %.2f s | %.0f | %.0f | %.2f s | %.1f MiB | %d spans (%s) |" % (
          what, dt["wall_s"], dt["mb_per_s"], dt["spans_per_s"], dt["user_s"] + dt["sys_s"],
          dt["peak_rss_kib"] / 1024, spans,
          "= requests generated" if res["spans_equal_requests"] else "!= %d generated" % c["requests"])]
if ts:
    md.append("| same file | `tshark -q -z http,tree` (%s) | %.2f s | %.0f | %.0f | %.2f s | %.1f MiB | %s requests, %s responses |" % (
        ts["version"], ts["wall_s"], ts["mb_per_s"], ts["requests_per_s"],
        ts["user_s"] + ts["sys_s"], ts["peak_rss_kib"] / 1024, ts["requests"], ts["responses"]))
    md.append("| ratio | tshark wall / difftrace wall | x%.1f | | | | | |" % res["tshark_wall_over_difftrace"])
open(out[:-5] + ".md" if out.endswith(".json") else out + ".md", "w").write("\n".join(md) + "\n")
print(json.dumps(res, indent=2))
print("\n".join(md))
if not res["spans_equal_requests"]:
    sys.exit("replay_throughput: difftrace gave %d spans for %d requests" % (spans, c["requests"]))
PY
