#!/usr/bin/env python3
"""The kernel matrix's table, from each kernel's results channel (run-steps.sh's markers).

    report.py OUT_DIR WALL_SECONDS LABEL=RESULTS_LOG[:SECONDS[:NOTE]] ...

Prints one table (pass/fail per step per kernel, then kernel x program x verified
instructions from `difftrace check --json`), writes OUT_DIR/results.md and
OUT_DIR/results.json, and exits 1 if any step failed or lacked its markers on any kernel.

`check --json`'s agreed shape: {"programs": [{"name": ..., "verified_insns": N,
"loaded": true|false, ...}, ...], ...}; other fields are carried into results.json as they are.
"""
import json
import statistics
import re
import sys
from pathlib import Path

# smoke-sockets and smoke-h2-sockets may be "skip" on the host only (no BPF trampolines there):
# the guests must run them. The h2 steps trace nghttpd over h2c (HTTP/2 in both hook sources).
STEPS = ["check", "bpf", "smoke-syscalls", "smoke-sockets", "smoke-h2-syscalls", "smoke-h2-sockets"]
MARK = "@@DT "


def parse(log_path):
    """One kernel's results: release, step -> {status, rc, seconds}, check JSON, problems."""
    out = {"release": None, "steps": {}, "check": None, "problems": [], "done": False, "bench": {}}
    try:
        text = Path(log_path).read_text(errors="replace").replace("\r", "")
    except FileNotFoundError:
        out["problems"].append(f"no results file {log_path}")
        return out
    begun = set()
    json_lines = None
    for line in text.split("\n"):
        if json_lines is not None:
            if line.startswith(MARK + "CHECK-JSON-END"):
                blob = "\n".join(json_lines).strip()
                try:
                    out["check"] = json.loads(blob)
                except ValueError as e:
                    out["problems"].append(f"check --json printed no valid JSON ({e}): {blob[:200]!r}")
                json_lines = None
            else:
                json_lines.append(line)
            continue
        if not line.startswith(MARK):
            continue
        rest = line[len(MARK):]
        if rest.startswith("KERNEL "):
            out["release"] = rest[len("KERNEL "):].strip()
        elif rest.startswith("BEGIN "):
            begun.add(rest.split()[1])
        elif rest.startswith("END "):
            m = re.match(r"END (\S+) rc=(\d+) status=(\S+)(?: seconds=(\d+))?", rest)
            if m:
                out["steps"][m.group(1)] = {
                    "status": m.group(3),
                    "rc": int(m.group(2)),
                    "seconds": int(m.group(4)) if m.group(4) else None,
                }
        elif rest.startswith("BENCH "):
            m = re.match(r"BENCH mode=(\S+) round=(\d+) seconds=([0-9.]+)", rest)
            if m:
                out["bench"].setdefault(m.group(1), {})[int(m.group(2))] = float(m.group(3))
        elif rest.startswith("BENCH-RUNS "):
            m = re.match(r"BENCH-RUNS mode=(\S+) syscalls=(\d+) runs=(-?\d+)", rest)
            if m:
                out.setdefault("bench_runs", {})[m.group(1)] = {"syscalls": int(m.group(2)), "runs": int(m.group(3))}
        elif rest.startswith("CHECK-JSON-BEGIN"):
            json_lines = []
        elif rest.strip() == "DONE":
            out["done"] = True
    if json_lines is not None:
        out["problems"].append("check JSON not closed by its end marker")
    for s in STEPS:
        if s not in out["steps"]:
            # A BEGIN without an END: the step hung, crashed the guest or ran out of time.
            status = "no-end" if s in begun else "no-marker"
            out["steps"][s] = {"status": status, "rc": None, "seconds": None}
    if not out["done"]:
        out["problems"].append("no DONE marker: the run did not finish")
    return out


def programs_of(check):
    """name -> (verified_insns, loaded) from the agreed check --json shape."""
    progs = {}
    if not isinstance(check, dict) or not isinstance(check.get("programs"), list):
        return progs
    for p in check["programs"]:
        if isinstance(p, dict) and "name" in p:
            progs[p["name"]] = (p.get("verified_insns"), p.get("loaded"), p.get("not_here"))
    return progs


def hooks_of(check):
    """The hook source check picked and why, in one line, or ""."""
    hooks = (check or {}).get("hooks") if isinstance(check, dict) else None
    if not isinstance(hooks, dict) or not hooks.get("source"):
        return ""
    return f"{hooks['source']} ({hooks.get('reason') or 'no reason given'})"


def bench_table(kernels):
    """The untargeted dd step (DT_BENCH=1): per kernel and mode the median seconds, and the
    median over rounds of each round's ratio to nothing attached. Emulated times (TCG)."""
    rows = []
    for k in kernels:
        b = k.get("bench") or {}
        if "none" not in b:
            continue
        row = [k["label"], f"{statistics.median(b['none'].values()):.2f} s"]
        for mode in ("syscalls", "sockets"):
            runs = b.get(mode, {})
            ratios = [runs[r] / b["none"][r] for r in runs if b["none"].get(r)]
            cell = (f"{statistics.median(runs.values()):.2f} s (x{statistics.median(ratios):.2f})"
                    if runs and ratios else "-")
            counted = (k.get("bench_runs") or {}).get(mode)
            if counted:
                cell += f"; programs ran {counted['runs']:,} times in {counted['syscalls']:,} syscalls"
            row.append(cell)
        rows.append(row)
    if not rows:
        return ""
    return ("Untargeted dd (DT_BENCH=1; QEMU TCG: emulated times, compare modes only; medians, "
            "ratio = median of each round's ratio to nothing attached; program runs counted in a "
            "run of their own with kernel.bpf_stats_enabled):\n\n"
            + table(["kernel", "nothing attached", "syscalls source", "sockets source"], rows) + "\n")


def budgets_of(kernels):
    """name -> the budget check reports for it (an optional field; the same on every kernel)."""
    budgets = {}
    for k in kernels:
        for p in (k["check"] or {}).get("programs") or []:
            if isinstance(p, dict) and isinstance(p.get("budget"), int):
                budgets.setdefault(p.get("name"), p["budget"])
    return budgets


def absent_features(check):
    """Names of the features check found absent (optional ones included: kprobes, fentry...)."""
    reqs = (check or {}).get("requirements") if isinstance(check, dict) else None
    return [r.get("name") for r in reqs or [] if isinstance(r, dict) and r.get("present") is False]


def cell(entry):
    if entry is None:
        return "-"
    insns, loaded, not_here = entry
    if not loaded and not_here:
        return "n/a"  # its hook is not in this kernel (check --json says why)
    n = f"{insns:,}" if isinstance(insns, int) else "?"
    return n if loaded else f"REFUSED ({n})"


def fmt_seconds(s):
    if s is None:
        return "-"
    s = int(round(s))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def main():
    out_dir = Path(sys.argv[1])
    wall = float(sys.argv[2])
    kernels = []
    for arg in sys.argv[3:]:
        label, spec = arg.split("=", 1)
        parts = spec.split(":", 2)
        k = parse(parts[0])
        k["label"] = label
        k["seconds"] = float(parts[1]) if len(parts) > 1 and parts[1] else None
        if len(parts) > 2 and parts[2]:
            k["problems"].insert(0, parts[2])
        k["programs"] = programs_of(k["check"])
        kernels.append(k)

    failed = []
    rows = []
    for k in kernels:
        statuses = [k["steps"][s]["status"] for s in STEPS]
        for s, st in zip(STEPS, statuses):
            if st != "pass" and not (st == "skip" and k["label"] == "host"):
                failed.append(f"{k['label']}: {s} {st}")
        if k["problems"] and all(st == "pass" for st in statuses):
            failed.append(f"{k['label']}: {'; '.join(k['problems'])}")
        rows.append([k["label"], k["release"] or "?"] + statuses + [fmt_seconds(k["seconds"])])
    steps_table = table(["kernel", "uname -r"] + STEPS + ["wall time"], rows)

    names = []
    for k in kernels:
        for n in k["programs"]:
            if n not in names:
                names.append(n)
    if names:
        budgets = budgets_of(kernels)
        prog_rows = [
            [n] + [cell(k["programs"].get(n)) for k in kernels]
            + ([f"{budgets[n]:,}" if n in budgets else "-"] if budgets else [])
            for n in names
        ]
        prog_table = table(
            ["program (verified insns)"] + [k["label"] for k in kernels] + (["budget"] if budgets else []),
            prog_rows,
        )
    else:
        prog_table = "(no kernel produced `difftrace check --json` output: no verified instruction counts)"
    notes = [
        f"- {k['label']}: check {k['steps']['check']['status']}"
        for k in kernels
        if k["steps"]["check"]["status"] != "pass" or not k["programs"]
    ] + [
        f"- {k['label']}: hook source {hooks_of(k['check'])}" for k in kernels if hooks_of(k["check"])
    ] + [f"- {k['label']}: {p}" for k in kernels for p in k["problems"]] + [
        f"- {k['label']}: check found absent: {', '.join(map(str, absent_features(k['check'])))}"
        for k in kernels
        if absent_features(k["check"])
    ]

    text = "\n".join(
        ["## Kernel matrix (`make test-kernels`)", "", steps_table, "", prog_table, ""]
        + ([bench_table(kernels)] if bench_table(kernels) else [])
        + (["Notes:"] + notes + [""] if notes else [])
        + [f"Wall time: {fmt_seconds(wall)}; result: {'FAIL' if failed else 'PASS'}"]
    )
    print(text)
    if failed:
        print("\ntest-kernels: FAILED: " + "; ".join(failed))
    (out_dir / "results.md").write_text(text + "\n")
    (out_dir / "results.json").write_text(
        json.dumps(
            {
                "wall_seconds": round(wall, 1),
                "passed": not failed,
                "failures": failed,
                "kernels": [
                    {
                        "label": k["label"],
                        "release": k["release"],
                        "seconds": k["seconds"],
                        "steps": k["steps"],
                        "programs": [
                            {"name": n, "verified_insns": v[0], "loaded": v[1]}
                            for n, v in k["programs"].items()
                        ],
                        "check": k["check"],
                        "problems": k["problems"],
                        # DT_BENCH=1: the untargeted dd's times and program-run counts
                        "bench": k.get("bench") or {},
                        "bench_runs": k.get("bench_runs") or {},
                    }
                    for k in kernels
                ],
            },
            indent=2,
        )
        + "\n"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
