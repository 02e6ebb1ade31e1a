#!/usr/bin/env bash
# `difftrace analyze` throughput and memory against file size: OTLP JSON shaped like the demo
# platform's --no-filter output (scripts/bench/gen_otlp_spans.py: 7 spans a trace, 14
# attributes a span, about 1.2 KB a span, 200 traces per second of span time) at each size of
# SIZES (spans), analyzed with --format text and --format json (both to /dev/null) under
# /usr/bin/time -v. Reports spans per CPU-second (analyze reads every span once; its second
# pass reads the analysed traces back from a temporary file), MB/s and peak RSS per size, which
# must stay flat as the file grows (traces are complete after --window of span time without a
# span; aggregates are bounded).
# Checks that analyze counted every span the generator wrote.
# The parse floor, where build/json-parse-floor is built (make bench builds it): bench/json_parse_floor.cpp
# (simdjson's first stage alone, then its On-Demand walk of the fields analyze reads, over the
# same file in memory; then analyze's own reader over the file, linked from make's objects),
# spans per CPU-second, next to analyze's: what parsing alone costs.
#   usage: scripts/bench/analyze_throughput.sh [SIZES="150000 600000"] [OUT=build/bench/analyze_throughput.json]
# The files are kept in build/bench/analyze (remade when the generator changes).
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZES=${1:-150000 600000}
OUT=${2:-build/bench/analyze_throughput.json}
DIR=build/bench/analyze
DIFFTRACE=${DIFFTRACE_BIN:-build/difftrace}
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p "$DIR" "$(dirname "$OUT")"
[ -x "$DIFFTRACE" ] || { echo "analyze_throughput: $DIFFTRACE missing; run make" >&2; exit 1; }
rows="$DIR/runs.tsv"
: >"$rows"
FLOOR=build/json-parse-floor
if [ ! -x "$FLOOR" ]; then
  echo "analyze_throughput: $FLOOR missing (make build/json-parse-floor), no parse floor" >&2
  FLOOR=
fi
for n in $SIZES; do
  f="$DIR/spans_$n.jsonl"
  if [ ! -s "$f" ] || [ scripts/bench/gen_otlp_spans.py -nt "$f" ]; then
    echo "analyze_throughput: generating $f" >&2
    "$PYTHON" scripts/bench/gen_otlp_spans.py "$f" "$n" >"$f.summary.json"
  fi
  cat "$f" >/dev/null  # from the page cache, like every run after the first
  for format in text json; do
    echo "analyze_throughput: $n spans, --format $format" >&2
    /usr/bin/time -v -o "$DIR/time_${n}_$format" "$DIFFTRACE" analyze "$f" \
      --config scripts/platform/difftrace.yaml --format "$format" --out "$DIR/out_$format" 2>/dev/null
    [ "$format" = text ] && head -n 1 "$DIR/out_$format" >"$DIR/first_line_$n"
    rm -f "$DIR/out_$format"
    printf '%s\t%s\t%s\t%s\n' "$n" "$format" "$f" "$DIR/time_${n}_$format" >>"$rows"
  done
  rm -f "$DIR/floor_$n.json"
  if [ -n "$FLOOR" ]; then
    echo "analyze_throughput: $n spans, simdjson parse floor" >&2
    "$FLOOR" "$f" >"$DIR/floor_$n.json"
  fi
done

"$PYTHON" - "$rows" "$OUT" "$DIR" <<'PY'
import json, os, re, subprocess, sys, time
rows, out, d = sys.argv[1:]

def timev(path):
    t = open(path).read()
    field = lambda name: re.search(r"^\s*%s:\s*(.+)$" % re.escape(name), t, re.M).group(1).strip()
    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    return {"wall_s": round(wall, 3), "cpu_s": round(float(field("User time (seconds)")) + float(field("System time (seconds)")), 3),
            "peak_rss_kib": int(field("Maximum resident set size (kbytes)"))}

runs, bad = [], []
for line in open(rows):
    n, fmt, f, tpath = line.rstrip("\n").split("\t")
    gen = json.load(open(f + ".summary.json"))
    r = {"spans": gen["spans"], "traces": gen["traces"], "bytes": gen["bytes"], "format": fmt, **timev(tpath)}
    r["spans_per_cpu_s"] = round(r["spans"] / r["cpu_s"]) if r["cpu_s"] else None
    r["mb_per_cpu_s"] = round(r["bytes"] / 1e6 / r["cpu_s"], 1) if r["cpu_s"] else None
    first = open(os.path.join(d, "first_line_%s" % n)).read()
    counted = int(first.split()[0])
    if counted != r["spans"]:
        bad.append("%s spans written, analyze counted %d" % (r["spans"], counted))
    runs.append(r)
floors = []
for line in open(rows):
    n, fmt, f, tpath = line.rstrip("\n").split("\t")
    path = os.path.join(d, "floor_%s.json" % n)
    if fmt != "text" or not os.path.exists(path):
        continue
    fl = json.load(open(path))
    gen = json.load(open(f + ".summary.json"))
    for mode in ("fields", "reader"):
        if fl[mode]["spans"] != gen["spans"] or fl[mode]["bad_lines"]:
            bad.append("parse floor (%s) read %d spans of %d" % (mode, fl[mode]["spans"], gen["spans"]))
    floors.append({"spans": gen["spans"], "bytes": gen["bytes"], "implementation": fl["implementation"],
                   "stage1_cpu_s": fl["stage1"]["cpu_s"], "fields_cpu_s": fl["fields"]["cpu_s"],
                   "stage1_spans_per_cpu_s": round(gen["spans"] / fl["stage1"]["cpu_s"]),
                   "fields_spans_per_cpu_s": round(gen["spans"] / fl["fields"]["cpu_s"]),
                   "reader_cpu_s": fl["reader"]["cpu_s"],
                   "reader_spans_per_cpu_s": round(gen["spans"] / fl["reader"]["cpu_s"])})
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
res = {"machine": {"nproc": os.cpu_count(), "cpu": cpu, "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                   "loadavg": open("/proc/loadavg").read().split()[:3],
                   "git": subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()},
       "input": "scripts/bench/gen_otlp_spans.py: the demo platform's --no-filter span shape, 200 traces/s of span time",
       "command": "build/difftrace analyze FILE --config scripts/platform/difftrace.yaml --format FORMAT --out FILE",
       "runs": runs, "parse_floor": floors}
json.dump(res, open(out, "w"), indent=2)
md = ["| analyze: spans (file) | format | wall | CPU | spans per CPU-second | MB read per CPU-second | peak RSS |",
      "|---|---|---:|---:|---:|---:|---:|"]
for r in runs:
    md.append("| %d (%.0f MB) | %s | %.2f s | %.2f s | %.0f k | %.0f | %.1f MiB |" % (
        r["spans"], r["bytes"] / 1e6, r["format"], r["wall_s"], r["cpu_s"], r["spans_per_cpu_s"] / 1e3,
        r["mb_per_cpu_s"], r["peak_rss_kib"] / 1024))
if floors:
    md += ["", "| parse floor: spans (file) | simdjson (%s) stage 1 alone | + its On-Demand walk of analyze's fields | analyze's reader alone | analyze, text report |" % floors[0]["implementation"],
           "|---|---:|---:|---:|---:|"]
    for fl in floors:
        whole = next(r for r in runs if r["spans"] == fl["spans"] and r["format"] == "text")
        md.append("| %d (%.0f MB) | %.0f k spans per CPU-second | %.0f k | %.0f k | %.0f k |" % (
            fl["spans"], fl["bytes"] / 1e6, fl["stage1_spans_per_cpu_s"] / 1e3, fl["fields_spans_per_cpu_s"] / 1e3,
            fl["reader_spans_per_cpu_s"] / 1e3, whole["spans_per_cpu_s"] / 1e3))
open(out[:-5] + ".md" if out.endswith(".json") else out + ".md", "w").write("\n".join(md) + "\n")
print(json.dumps(res, indent=2))
print("\n".join(md))
if bad:
    sys.exit("analyze_throughput: " + "; ".join(bad))
PY
