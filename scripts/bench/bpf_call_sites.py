#!/usr/bin/env python3
"""Where difftrace's BPF time goes, by source line: perf samples mapped through the JIT's line info.

    bpf_call_sites.py PERF_DATA JIT_LINES_DIR [LEAF_REGEX]

PERF_DATA is a `perf record -a -g` taken while the programs were loaded; JIT_LINES_DIR holds one
`build/bpf-jit-lines ID` output per program (scripts/bench/platform_perf.sh writes both). Each
sample in a BPF program counts at the source line of its innermost BPF frame: the line running,
or, when the sample is in a kernel function the program called (a map lookup, a helper), the
line that called it. With LEAF_REGEX only samples whose innermost function matches count
(e.g. 'lookup_nulls_elem_raw|htab_map' for the hash-map lookups, by call site).
Prints the samples counted, then the top lines (TOP, default 30) and the programs' totals.
"""
import bisect
import collections
import glob
import os
import re
import subprocess
import sys

FRAME = re.compile(r"bpf_prog_[0-9a-f]+_(\w+)\+0x([0-9a-f]+)$")
LINE = re.compile(r"(\S+)\+0x([0-9a-f]+) (\S+) ?(.*)")


def load_lines(folder):
    by_func = collections.defaultdict(list)
    for path in glob.glob(os.path.join(folder, "*.txt")):
        with open(path) as f:
            for text in f:
                m = LINE.match(text.rstrip("\n"))
                if m:
                    by_func[m[1]].append((int(m[2], 16), m[3], m[4].strip()[:80]))
    for v in by_func.values():
        v.sort()
    return by_func


def source_line(by_func, func, off):
    v = by_func.get(func)
    if not v:
        return func + " (no line info)"
    i = bisect.bisect_right([x[0] for x in v], off) - 1
    return "%s %s  %s" % (func, v[i][1], v[i][2]) if i >= 0 else func + " (before its first line)"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    by_func = load_lines(sys.argv[2])
    if not by_func:
        sys.exit("bpf_call_sites: no line info in %s (bpf-jit-lines output)" % sys.argv[2])
    leaf_rx = re.compile(sys.argv[3]) if len(sys.argv) > 3 else None
    out = subprocess.run(["perf", "script", "-i", sys.argv[1], "-F", "comm,ip,sym,symoff"],
                         capture_output=True, text=True, check=True).stdout
    lines, progs = collections.Counter(), collections.Counter()
    for block in out.split("\n\n"):
        frames = [f.split() for f in block.strip().split("\n")[1:] if f.strip()]
        frames = [f for f in frames if len(f) > 1]
        if not frames or (leaf_rx and not leaf_rx.search(frames[0][1])):
            continue
        for depth, f in enumerate(frames):
            m = FRAME.match(f[1])
            if m:
                # a caller's frame holds its return address: the call is just before it
                off = int(m[2], 16) - (1 if depth else 0)
                lines[source_line(by_func, m[1], off)] += 1
                progs[m[1]] += 1
                break
    total = sum(progs.values())
    print("samples in BPF programs%s: %d" % (" under " + sys.argv[3] if leaf_rx else "", total))
    for where, n in lines.most_common(int(os.environ.get("TOP", "30"))):
        print("%6d %5.1f%%  %s" % (n, 100.0 * n / max(total, 1), where))
    print("by function:")
    for func, n in progs.most_common():
        print("%6d %5.1f%%  %s" % (n, 100.0 * n / max(total, 1), func))


if __name__ == "__main__":
    main()
