"""Helpers for tests/e2e/test_platform.py: run the demo platform's scripts on private ports
and directories, run the load generator, and build hand-made OTLP/JSON for eval.py."""
import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from capture_helpers import Procs, Tracer

REPO = Path(__file__).resolve().parents[2]
UP = REPO / "scripts/platform/up.sh"
DOWN = REPO / "scripts/platform/down.sh"
LOADGEN_RUN = REPO / "scripts/load/run.sh"
EVAL = REPO / "scripts/eval/eval.py"



def _free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_ports():
    """Ports for a test platform: a random block below the ephemeral range where all twelve
    are free, so neither a developer's platform on the defaults nor another suite's servers
    collide with it."""
    rng = random.Random()
    for _ in range(50):
        b = rng.randrange(20000, 32000, 100)
        ports = {"INGRESS_PORT": b, "ACTIVATOR_PORT": b + 1, "QP_PORT_BASE": b + 10, "FN_PORT_BASE": b + 20}
        if all(_free(p) for p in [b, b + 1, *range(b + 11, b + 16), *range(b + 21, b + 26)]):
            return {k: str(v) for k, v in ports.items()}
    raise RuntimeError("no free block of ports between 20000 and 32000")


def platform_env(tmp, ports):
    env = dict(os.environ, **ports)
    env["PLATFORM_RUN_DIR"] = str(tmp / "run")
    env["PLATFORM_LOG_DIR"] = str(tmp / "logs")
    return env


def run(cmd, env, timeout=120, check=True):
    p = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd[0]} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def read_state(env):
    state = {}
    for line in (Path(env["PLATFORM_RUN_DIR"]) / "state.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            state[k] = v.strip('"')
    return state


def pid_alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def read_jsonl(path):
    return [json.loads(l) for l in Path(path).read_text().splitlines() if l.strip()]


# ---- hand-made OTLP/JSON -------------------------------------------------------------

def span(trace, span_id, parent, start_ms, end_ms, decision, reason=None, status=200, kind=2, path="/"):
    attrs = [{"key": "difftrace.decision", "value": {"stringValue": decision}},
             {"key": "http.response.status_code", "value": {"intValue": str(status)}},
             {"key": "url.path", "value": {"stringValue": path}}]
    if reason:
        attrs.append({"key": "difftrace.reason", "value": {"stringValue": reason}})
    return {"traceId": trace, "spanId": span_id, "parentSpanId": parent or "", "name": f"GET {path}",
            "kind": kind, "startTimeUnixNano": str(start_ms * 1_000_000),
            "endTimeUnixNano": str(end_ms * 1_000_000), "attributes": attrs}


def otlp_line(spans_by_service):
    """One ExportTraceServiceRequest with a resource per service."""
    return json.dumps({"resourceSpans": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": svc}}]},
         "scopeSpans": [{"scope": {"name": "difftrace"}, "spans": spans}]}
        for svc, spans in spans_by_service.items()]})


def truth_line(seq, trace, function, hops, anomaly=None, status=200, start_ms=0, end_ms=10, error=None):
    return json.dumps({"seq": seq, "shape": "steady", "trace_id": trace, "parent_span_id": None,
                       "target": function, "function": function, "path": f"/{function}/",
                       "async": False, "hops": hops, "start_ns": start_ms * 1_000_000,
                       "end_ns": end_ms * 1_000_000, "status": status, "error": error,
                       "anomaly": anomaly, "expect_status": status})


def run_eval(args):
    return subprocess.run([sys.executable, str(EVAL), *map(str, args)], capture_output=True, text=True, timeout=60)


@contextlib.contextmanager
def traced_platform_up(tmp):
    """difftrace first (--config scripts/platform/difftrace.yaml --no-filter: the platform's
    processes are its targets by comm), then a fresh platform on private ports; yields
    (tracer, env), and stops both (and every process started) after."""
    for tool in ("haproxy", "go"):
        assert shutil.which(tool), f"{tool} not installed: run scripts/install-deps.sh"
    procs = Procs()
    tracer = Tracer(procs, str(tmp), [], extra=["--config", str(REPO / "scripts/platform/difftrace.yaml")])
    tracer.start()
    env = platform_env(tmp, free_ports())
    try:
        run([UP], env, timeout=300)
        yield tracer, env
    finally:
        if tracer.proc.poll() is None:
            tracer.stop()
        run([DOWN], env, check=False)
        procs.kill_all()
