#!/usr/bin/python3
"""Writes difftrace's seccomp profile (deploy/seccomp/difftrace.json): the container runtime's
default profile (containers-common's /usr/share/containers/seccomp.json, the same list as
Docker's and containerd's RuntimeDefault), with bpf and perf_event_open allowed without
CAP_SYS_ADMIN. The defaults allow those two only with CAP_SYS_ADMIN; the agent has CAP_BPF and
CAP_PERFMON instead, which the kernel checks on its own.

Usage: scripts/image/seccomp-profile.py [DEFAULT_PROFILE] > deploy/seccomp/difftrace.json
"""
import json
import sys

OURS = ["bpf", "perf_event_open"]


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/containers/seccomp.json"
    with open(src) as f:
        profile = json.load(f)
    if profile.get("defaultAction") not in ("SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS"):
        sys.exit("%s: not a default-deny profile (defaultAction %s)" % (src, profile.get("defaultAction")))
    rules = []
    for rule in profile["syscalls"]:
        names = [n for n in rule["names"] if n not in OURS]
        if names:
            rules.append(dict(rule, names=names))
    rules.append({"names": OURS, "action": "SCMP_ACT_ALLOW", "args": [],
                  "comment": "difftrace: load BPF programs and attach them to tracepoints "
                             "(the kernel checks CAP_BPF and CAP_PERFMON)",
                  "includes": {}, "excludes": {}})
    profile["syscalls"] = rules
    json.dump(profile, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
