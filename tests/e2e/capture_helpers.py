"""Helpers for the difftrace capture end-to-end tests: processes, servers, clients, the
tracer, OTLP-JSON loading and the span <-> request comparison. See conftest.py for the tiers.
"""
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(E2E_DIR))
TRACER_BIN = os.environ.get("DIFFTRACE_BIN", os.path.join(REPO, "build", "difftrace"))
PY = sys.executable
PYSERVER = os.path.join(E2E_DIR, "servers", "pyserver.py")
ECHOSERVER = os.path.join(E2E_DIR, "servers", "echoserver.py")
PYCLIENT = os.path.join(E2E_DIR, "clients", "pyclient.py")

SERVER, CLIENT = 2, 3          # OTLP SpanKind
TOL_NS = 1_000_000             # the 1 ms timing tolerance of the contract
KiB, MiB = 1024, 1024 * 1024

_uid = itertools.count(1)

# uid/gid 65534 with no capabilities: how the tests run a command unprivileged as root.
NOBODY = 65534
UNPRIVILEGED = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
                "--inh-caps=-all"]


def run_unprivileged(*args, timeout=60):
    """Runs `difftrace ARGS` without privileges (through setpriv when the tests run as root);
    returns the CompletedProcess. A missing binary FAILS the test (never skips)."""
    if not os.access(TRACER_BIN, os.X_OK):
        pytest.fail("%s is missing: run `make` first (or set DIFFTRACE_BIN)" % TRACER_BIN,
                    pytrace=False)
    cmd = [TRACER_BIN, *args]
    if os.geteuid() == 0:
        cmd = UNPRIVILEGED + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)



def uid(tag="r"):
    """A short unique path segment, so every request path is unique within a run."""
    return "%s%d" % (tag, next(_uid))


# --------------------------------------------------------------------------- processes
class Procs:
    """Every process a test starts; all are killed (whole process group) at teardown."""

    def __init__(self):
        self.items = []  # (name, Popen)

    def spawn(self, name, cmd, workdir, **kw):
        out = open(os.path.join(workdir, name + ".stdout"), "wb")
        err = open(os.path.join(workdir, name + ".stderr"), "wb")
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             start_new_session=True, **kw)
        out.close()
        err.close()
        self.items.append((name, p))
        return p

    def kill_all(self):
        for name, p in reversed(self.items):
            if p.poll() is None:
                sig = signal.SIGINT if name.startswith("tracer") else signal.SIGTERM
                try:
                    p.send_signal(sig)
                    p.wait(10)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    pass
            try:  # leftovers in its group (nginx workers, forked children)
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.items.clear()


class Tcpdump:
    """tcpdump of TCP port on loopback into WORKDIR/NAME.pcap, started by procs (killed at
    teardown). --immediate-mode and -U: no packet waits in a buffer when it stops; -B: a kernel
    buffer big enough that nothing drops (stop() fails the test if anything did). The file is
    readable by anyone, for an unprivileged replay."""

    def __init__(self, procs, workdir, port, name="traffic"):
        self.path = os.path.join(workdir, name + ".pcap")
        self.err = os.path.join(workdir, name + ".stderr")
        self.proc = procs.spawn(name, ["tcpdump", "-i", "lo", "-B", "32768", "-Z", "root",
                                       "--immediate-mode", "-U", "-s", "0", "-w", self.path,
                                       "tcp port %d" % port], workdir)
        wait_for(lambda: "listening on" in open(self.err).read(), 15, "tcpdump to listen",
                 self.proc, lambda: tail(self.err))

    def stop(self):
        """Stops it (after the last packets' settle time); the pcap's path."""
        time.sleep(0.3)
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(15)
        text = open(self.err).read()
        assert "\n0 packets dropped by kernel" in "\n" + text, text
        os.chmod(self.path, 0o644)
        return self.path


def wait_for(pred, timeout, what, proc=None, diag=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s: process exited with %s before it happened\n%s"
                                 % (what, proc.returncode, diag()))
        time.sleep(0.02)
    raise AssertionError("timed out after %ss waiting for %s\n%s" % (timeout, what, diag()))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_connect(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path, n=20):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return "(no %s)" % path


def read_jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    return out


def children_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def wait_file_stable(path, quiet=0.3, timeout=10):
    """Waits until the file has not grown for `quiet` seconds (access logs, request logs)."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        size = os.path.getsize(path) if os.path.exists(path) else 0
        if size != last:
            last, since = size, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)


# --------------------------------------------------------------------------- servers
class PyServer:
    def __init__(self, procs, workdir, name="pyserver", http10=False, comm="dt-pyserver",
                 fork_child=False, wait_file=None, wait=True):
        self.workdir, self.name = workdir, name
        self.port_file = os.path.join(workdir, name + ".port")
        self.log = os.path.join(workdir, name + ".log.jsonl")
        self.wait_file = wait_file
        cmd = [PY, PYSERVER, "--port-file", self.port_file, "--log", self.log, "--comm", comm]
        if http10:
            cmd.append("--http10")
        if fork_child:
            cmd.append("--fork-child")
        if wait_file:
            cmd += ["--wait-file", wait_file]
        self.proc = procs.spawn(name, cmd, workdir)
        self.launcher_pid = self.proc.pid
        self.port = self.pid = None
        if wait:
            self.wait_listening()

    def wait_listening(self, timeout=15):
        wait_for(lambda: os.path.exists(self.port_file), timeout, "%s to listen" % self.name,
                 self.proc, lambda: tail(os.path.join(self.workdir, self.name + ".stderr")))
        with open(self.port_file) as f:
            info = json.load(f)
        self.port, self.pid = info["port"], info["pid"]
        return self

    @property
    def pids(self):
        return {self.pid}

    def requests(self):
        return [r for r in read_jsonl(self.log) if "event" not in r]

    def max_open_conns(self):
        return max([r["open_now"] for r in read_jsonl(self.log) if r.get("event") == "conn_open"]
                   or [0])

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)


class EchoServer:
    def __init__(self, procs, workdir, name="echo"):
        self.port_file = os.path.join(workdir, name + ".port")
        self.log = os.path.join(workdir, name + ".log.jsonl")
        self.proc = procs.spawn(name, [PY, ECHOSERVER, "--port-file", self.port_file,
                                       "--log", self.log], workdir)
        wait_for(lambda: os.path.exists(self.port_file), 15, "echo server to listen", self.proc,
                 lambda: tail(os.path.join(workdir, name + ".stderr")))
        with open(self.port_file) as f:
            info = json.load(f)
        self.port, self.pid = info["port"], info["pid"]


NGINX_STATIC = {"1b.bin": 1, "1k.bin": KiB, "64k.bin": 64 * KiB, "1m.bin": MiB}

NGINX_CONF = r"""
worker_processes {workers};
daemon off;
master_process on;
user root;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}
http {{
    default_type application/octet-stream;
    log_format dt escape=json '{{"msec":"$msec","pid":"$pid","conn":"$connection",'
        '"conn_req":"$connection_requests","method":"$request_method","uri":"$request_uri",'
        '"request":"$request","status":"$status","request_time":"$request_time",'
        '"remote_port":"$remote_port","bytes_sent":"$bytes_sent",'
        '"upstream":"$upstream_addr","upstream_status":"$upstream_status"}}';
    access_log {dir}/access.log dt;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 100000;
    server_tokens off;
    gzip off;
{upstream}
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        root {dir}/www;
        location /static/ {{ }}
        location /ok {{ return 200 "ok\n"; }}
        location /r404 {{ return 404; }}
        location /r500 {{ return 500; }}
{proxy}
    }}
}}
"""

NGINX_UPSTREAM = """
    upstream pyup {{ server 127.0.0.1:{up}; keepalive {keepalive}; }}
"""

NGINX_PROXY = """
        location /proxy/ {
            proxy_pass http://pyup/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /chunked/ {
            proxy_pass http://pyup;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
"""


class Nginx:
    """nginx in a temp dir: `nginx -p DIR -c DIR/nginx.conf`, daemon off, master + workers.

    Locations: /static/{1b,1k,64k,1m}.bin (sendfile), /ok (return 200), /r404*, /r500*
    (return 404/500), and with an upstream port: /proxy/X -> upstream /X (keep-alive upstream,
    nginx makes CLIENT spans) and /chunked/... -> upstream /chunked/... (proxy_buffering off,
    nginx re-chunks the response). access.log has one JSON object per request.
    """

    def __init__(self, procs, workdir, upstream_port=None, workers=2, name="nginx", keepalive=8):
        self.dir = os.path.join(workdir, name)
        self.name = name
        for d in ("www/static", "tmp", "logs"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        for fname, size in NGINX_STATIC.items():
            with open(os.path.join(self.dir, "www/static", fname), "wb") as f:
                f.write((b"0123456789abcdef" * (size // 16 + 1))[:size])
        self.access_log = os.path.join(self.dir, "access.log")
        self.workers_n = workers
        for attempt in range(5):
            self.port = free_port()
            conf = NGINX_CONF.format(
                workers=workers, dir=self.dir, port=self.port,
                upstream=(NGINX_UPSTREAM.format(up=upstream_port, keepalive=keepalive)
                          if upstream_port else ""),
                proxy=NGINX_PROXY if upstream_port else "")
            with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
                f.write(conf)
            self.proc = procs.spawn(name, ["nginx", "-p", self.dir + "/", "-c",
                                           os.path.join(self.dir, "nginx.conf"),
                                           "-e", os.path.join(self.dir, "error.log")], workdir)
            try:
                wait_for(lambda: can_connect(self.port) and
                         len(children_of(self.proc.pid)) >= workers,
                         15, "nginx to listen", self.proc,
                         lambda: tail(os.path.join(self.dir, "error.log")))
                break
            except AssertionError:
                if attempt == 4 or "Address already in use" not in tail(
                        os.path.join(self.dir, "error.log")):
                    raise
        self.master = self.proc.pid
        self.workers = children_of(self.master)
        # the readiness probe above made no HTTP request, but start from an empty log anyway
        open(self.access_log, "a").close()

    @property
    def pids(self):
        return {self.master, *self.workers}

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def log_entries(self):
        wait_file_stable(self.access_log)
        out = []
        for e in read_jsonl(self.access_log):
            e["status"] = int(e["status"])
            e["pid"] = int(e["pid"])
            e["conn"] = int(e["conn"])
            e["conn_req"] = int(e["conn_req"])
            out.append(e)
        return out


# --------------------------------------------------------------------------- clients
def conns_for(requests, keepalive=True, per_conn=5, **conn_opts):
    """Groups request dicts into client connections (per_conn each when keep-alive)."""
    if not keepalive:
        per_conn = 1
    groups = [requests[i:i + per_conn] for i in range(0, len(requests), per_conn)]
    return [dict(conn_opts, keepalive=keepalive, requests=g) for g in groups]


def run_pyclient(workdir, port, conns, concurrency=8, barrier=False, timeout=60, name="client"):
    spec = {"host": "127.0.0.1", "port": port, "conns": conns, "concurrency": concurrency,
            "barrier": barrier, "timeout": 30}
    spec_path = os.path.join(workdir, name + ".spec.json")
    out_path = os.path.join(workdir, name + ".out.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    p = subprocess.run([PY, PYCLIENT, spec_path, out_path], capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, "pyclient failed (%s): %s" % (p.returncode, p.stderr[-3000:])
    with open(out_path) as f:
        out = json.load(f)
    errs = [r for r in out["results"] if r["error"]]
    assert not errs, "harness problem, client errors (%d), first: %s" % (len(errs), errs[:3])
    return out["results"]


CURL_FMT = "%{http_code} %{time_total} %{local_port} %{num_connects} %{url_effective}\\n"


def run_curl(urls, parallel=0, method="GET", extra=()):
    """One curl invocation for all urls (one connection reused when sequential). Records are
    shaped like pyclient's; start/end are the invocation's bounds, latency is time_total."""
    cmd = ["curl", "-s", "--max-time", "30", "-w", CURL_FMT.replace("\\n", "\n")]
    if method != "GET":
        cmd += ["-X", method]
    if parallel:
        cmd += ["--parallel", "--parallel-immediate", "--parallel-max", str(parallel)]
    cmd += list(extra)
    for u in urls:
        cmd += [u, "-o", "/dev/null"]
    t0 = time.time_ns()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    t1 = time.time_ns()
    recs = []
    for line in p.stdout.splitlines():
        code, ttot, lport, nconn, url = line.split(" ", 4)
        u = urllib.parse.urlsplit(url)
        path = u.path + ("?" + u.query if u.query else "")
        recs.append({"method": method, "path": path, "status": int(code), "start_ns": t0,
                     "end_ns": t1, "latency_ns": int(float(ttot) * 1e9) + 1000,
                     "local_port": int(lport), "num_connects": int(nconn), "error": None})
    assert len(recs) == len(urls) and all(r["status"] for r in recs), \
        "harness problem, curl rc=%s out=%r err=%r" % (p.returncode, p.stdout[-2000:],
                                                        p.stderr[-2000:])
    return recs


WRK_LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def run_wrk(workdir, url, paths, threads=2, conns=50, duration=3):
    script = os.path.join(workdir, "mix.lua")
    with open(script, "w") as f:
        f.write(WRK_LUA % ", ".join('"%s"' % p for p in paths))
    p = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration,
                        "-s", script, url], capture_output=True, text=True,
                       timeout=duration + 60)
    m = re.search(r"(\d+) requests in", p.stdout)
    assert p.returncode == 0 and m, "harness problem, wrk: %s %s" % (p.stdout, p.stderr)
    return int(m.group(1)), p.stdout


# --------------------------------------------------------------------------- tracer
class Tracer:
    """`difftrace trace` as a subprocess with otlp-json, stats-json and a ready file.
    Full tracing (--no-filter) unless no_filter=False: the capture tests check every span."""

    def __init__(self, procs, workdir, targets, extra=(), name="tracer", prefix=(),
                 no_filter=True):
        self.workdir, self.name = workdir, name
        self.out = os.path.join(workdir, name + ".otlp.jsonl")
        self.stats_path = os.path.join(workdir, name + ".stats.json")
        self.ready = os.path.join(workdir, name + ".ready")
        self.stderr_path = os.path.join(workdir, name + ".stderr")
        self.stdout_path = os.path.join(workdir, name + ".stdout")
        self.cmd = list(prefix) + [TRACER_BIN, "trace", *targets,
                                   "--export", "otlp-json:" + self.out,
                                   "--stats-json", self.stats_path,
                                   "--ready-file", self.ready,
                                   *(["--no-filter"] if no_filter else []), *extra]
        self.procs = procs
        self.proc = None
        self.rc = None
        self._spans = None

    def start(self, wait_ready=True):
        self.t_start = time.monotonic()
        self.proc = self.procs.spawn(self.name, self.cmd, self.workdir)
        if wait_ready:
            self.wait_ready()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def diag(self):
        return ("tracer cmd: %s\nrc: %s\n--- stderr (tail):\n%s\n--- stats: %s"
                % (" ".join(self.cmd), self.rc if self.rc is not None else self.proc.poll(),
                   tail(self.stderr_path), self.stats_text()))

    def wait_ready(self, timeout=30):
        wait_for(lambda: os.path.exists(self.ready), timeout,
                 "the tracer's --ready-file", self.proc, self.diag)
        self.ready_after = time.monotonic() - self.t_start

    def stop(self, sig=signal.SIGINT, timeout=30, settle=0.3):
        """Lets in-flight events drain, signals, waits; returns the exit code."""
        if self.proc.poll() is None:
            time.sleep(settle)
            self.proc.send_signal(sig)
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("tracer did not exit within %ss of %s\n%s"
                                 % (timeout, signal.Signals(sig).name, self.diag()))
        return self.rc

    def stop_ok(self, sig=signal.SIGINT):
        rc = self.stop(sig)
        assert rc == 0, "tracer exited %s after %s, expected 0\n%s" % (
            rc, signal.Signals(sig).name, self.diag())
        return self

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stats_text(self):
        """The stats file's scalar counters on one line (lists like endpoints left out)."""
        try:
            with open(self.stats_path) as f:
                txt = f.read()
        except OSError:
            return "(no stats file)"
        try:
            st = json.loads(txt)
            return json.dumps({k: v for k, v in st.items() if not isinstance(v, (list, dict))},
                              sort_keys=True)
        except ValueError:
            return txt[:1500]

    def stats(self):
        with open(self.stats_path) as f:
            return json.load(f)

    @property
    def spans(self):
        if self._spans is None:
            self._spans = load_spans(self.out)
        return self._spans


# --------------------------------------------------------------------------- OTLP JSON
def attr_value(v):
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "boolValue" in v:
        return v["boolValue"]
    if "doubleValue" in v:
        return v["doubleValue"]
    if "arrayValue" in v:
        return [attr_value(x) for x in v["arrayValue"].get("values", [])]
    return None


def attrs_of(lst):
    return {a["key"]: attr_value(a.get("value", {})) for a in (lst or [])}


def exported_target(target, keep_values=False):
    """A request target as difftrace exports it (user/capture/request_target.h): url.path,
    then '?' and url.query with each value REDACTED (keys kept) unless the config keeps them;
    a fragment dropped."""
    cut = min([i for i in (target.find("?"), target.find("#")) if i >= 0] or [len(target)])
    path, rest = target[:cut], target[cut:]
    if not rest.startswith("?"):
        return path
    query = rest[1:].split("#", 1)[0]
    if not keep_values:
        query = "&".join(k + "=REDACTED" if sep and v else k + sep
                         for k, sep, v in (p.partition("=") for p in query.split("&")))
    return path + "?" + query if query else path


def load_spans(path):
    """Flattens the tracer's OTLP-JSON lines into one dict per span; "path" is the target as
    exported: url.path, and ?url.query when there is one."""
    spans = []
    if not os.path.exists(path):
        return spans
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                req = json.loads(line)
            except ValueError as e:
                raise AssertionError("%s line %d is not JSON: %s: %r" % (path, lineno, e,
                                                                          line[:200]))
            for rs in req.get("resourceSpans", []):
                res = attrs_of(rs.get("resource", {}).get("attributes"))
                for ss in rs.get("scopeSpans", []):
                    for s in ss.get("spans", []):
                        a = attrs_of(s.get("attributes"))
                        start, end = int(s.get("startTimeUnixNano", 0)), int(
                            s.get("endTimeUnixNano", 0))
                        spans.append({
                            "trace_id": s.get("traceId", ""), "span_id": s.get("spanId", ""),
                            "parent_span_id": s.get("parentSpanId", ""), "name": s.get("name"),
                            "kind": s.get("kind"), "start": start, "end": end,
                            "dur": end - start, "attrs": a,
                            "status_code": (s.get("status") or {}).get("code", 0) or 0,
                            "resource": res, "pid": res.get("process.pid"),
                            "service": res.get("service.name"),
                            "scope": ss.get("scope", {}).get("name"),
                            "path": (a.get("url.path") if not a.get("url.query") else
                                     "%s?%s" % (a.get("url.path"), a["url.query"])),
                            "method": a.get("http.request.method"),
                            "status": a.get("http.response.status_code"), "raw": s,
                            "raw_resource": rs.get("resource", {})})
    return spans


HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
DIGITS = re.compile(r"^-?[0-9]+$")


def decision_problems(where, attrs, status):
    """Under --no-filter every span is reported: decision full, or anomalous with its reason
    (5xx and no response always; latency once the endpoint has a profile)."""
    d, r = attrs.get("difftrace.decision"), attrs.get("difftrace.reason")
    error = status is None or int(status) == 0 or int(status) >= 500
    if error and (d, r) not in (("anomalous", "status"), ("anomalous", "reset")):
        return ["%s: status %r, decision %r reason %r: want anomalous" % (where, status, d, r)]
    if not error and (d, r) not in (("full", "no_filter"), ("anomalous", "latency")):
        return ["%s: decision %r reason %r: want full/no_filter (or a latency anomaly)"
                % (where, d, r)]
    return []


def schema_problems(spans):
    """OTLP-JSON shape checks of the contract (ids, kinds, int64-as-string, attributes)."""
    probs = []
    seen_ids = set()
    now = time.time_ns()
    for s in spans:
        raw, where = s["raw"], "%s %s (pid %s)" % (s["name"], s["span_id"], s["pid"])
        for a in s["raw_resource"].get("attributes", []) + raw.get("attributes", []):
            v = a.get("value", {})
            if "intValue" in v and not (isinstance(v["intValue"], str) and
                                        DIGITS.match(v["intValue"])):
                probs.append("%s: attribute %s intValue %r is not a string of digits"
                             % (where, a["key"], v["intValue"]))
        for k in ("service.name", "process.pid", "host.name"):
            if k not in s["resource"]:
                probs.append("%s: resource lacks %s" % (where, k))
        if s["scope"] != "difftrace":
            probs.append("%s: scope.name %r != 'difftrace'" % (where, s["scope"]))
        if not HEX32.match(s["trace_id"]) or s["trace_id"] == "0" * 32:
            probs.append("%s: bad traceId %r" % (where, s["trace_id"]))
        if not HEX16.match(s["span_id"]) or s["span_id"] == "0" * 16:
            probs.append("%s: bad spanId %r" % (where, s["span_id"]))
        elif s["span_id"] in seen_ids:
            probs.append("%s: duplicate spanId" % where)
        seen_ids.add(s["span_id"])
        if s["parent_span_id"] and not HEX16.match(s["parent_span_id"]):
            probs.append("%s: bad parentSpanId %r" % (where, s["parent_span_id"]))
        for k in ("startTimeUnixNano", "endTimeUnixNano"):
            if not (isinstance(raw.get(k), str) and DIGITS.match(raw[k])):
                probs.append("%s: %s %r is not a string of digits" % (where, k, raw.get(k)))
        if not (now - 86400 * 10**9 < s["start"] <= s["end"] <= now + 10**9):
            probs.append("%s: implausible start/end %s..%s (now %s)"
                         % (where, s["start"], s["end"], now))
        if s["kind"] not in (SERVER, CLIENT):
            probs.append("%s: kind %r not SERVER(2)/CLIENT(3)" % (where, s["kind"]))
        a = s["attrs"]
        for k in ("http.request.method", "url.path", "server.port", "difftrace.decision",
                  "thread.id"):
            if k not in a:
                probs.append("%s: attribute %s missing" % (where, k))
        if s["kind"] == SERVER:
            for k in ("client.address", "client.port"):
                if k not in a:
                    probs.append("%s: attribute %s missing" % (where, k))
        probs += decision_problems(where, a, s["status"])
        if s["method"] and not str(s["name"]).startswith(s["method"] + " "):
            probs.append("%s: name %r does not start with the method" % (where, s["name"]))
        st = s["status"]
        if isinstance(st, int):
            want_err = st >= 500
            if want_err and s["status_code"] != 2:
                probs.append("%s: HTTP %s but status.code %r (want 2=ERROR)"
                             % (where, st, s["status_code"]))
            if not want_err and s["status_code"] == 2:
                probs.append("%s: HTTP %s but status.code 2=ERROR" % (where, st))
    return probs


# --------------------------------------------------------------------------- comparison
def _fmt(probs, limit=25):
    head = probs[:limit]
    more = "" if len(probs) <= limit else "\n  ... and %d more" % (len(probs) - limit)
    return "\n  " + "\n  ".join(head) + more


def match_problems(spans, requests, pids, kind=SERVER, timing=True, invented=True,
                   other_kinds_ok=False):
    """The core contract: every request -> exactly one span of `kind` on `pids` with the same
    target (url.path and url.query, values redacted), method and status; span within the
    client's interval (1 ms tolerance) and no longer than its latency; no span on `pids` of that kind that matches no request, and
    (unless other_kinds_ok) no span of another kind on `pids` at all.
    Returns (problems, {path: span})."""
    by_path = {}
    for s in spans:
        if s["kind"] == kind and s["pid"] in pids:
            by_path.setdefault(s["path"], []).append(s)
    probs, matched = [], {}
    wanted = set()
    for r in requests:
        key = "%s %s" % (r["method"], r["path"])
        target = exported_target(r["path"])
        wanted.add(target)
        got = by_path.get(target, [])
        if len(got) != 1:
            probs.append("%s (client status %s): expected exactly 1 %s span, found %d%s"
                         % (key, r["status"], "SERVER" if kind == SERVER else "CLIENT",
                            len(got), "" if not got else " " + str(
                                [(g["method"], g["status"], g["dur"]) for g in got])))
            continue
        s = got[0]
        matched[r["path"]] = s
        if s["method"] != r["method"]:
            probs.append("%s: span method %r" % (key, s["method"]))
        if s["status"] != r["status"]:
            probs.append("%s: span status %r, client saw %s" % (key, s["status"], r["status"]))
        if timing and r.get("start_ns"):
            if s["dur"] > r["latency_ns"] + TOL_NS:
                probs.append("%s: span duration %.3f ms > client latency %.3f ms + 1 ms"
                             % (key, s["dur"] / 1e6, r["latency_ns"] / 1e6))
            if s["start"] < r["start_ns"] - TOL_NS:
                probs.append("%s: span starts %.3f ms before the client sent"
                             % (key, (r["start_ns"] - s["start"]) / 1e6))
            if s["end"] > r["end_ns"] + TOL_NS:
                probs.append("%s: span ends %.3f ms after the client got the response"
                             % (key, (s["end"] - r["end_ns"]) / 1e6))
    if invented and not other_kinds_ok:
        for s in spans:
            if s["pid"] in pids and s["kind"] != kind:
                probs.append("invented span of kind %s (no such request was made): %s %r "
                             "status %r pid %s" % (s["kind"], s["method"], s["path"],
                                                   s["status"], s["pid"]))
    if invented:
        for path, got in by_path.items():
            if path not in wanted:
                for s in got:
                    probs.append("invented span (matches no request): %s %r status %r pid %s"
                                 % (s["method"], path, s["status"], s["pid"]))
    return probs, matched


def assert_spans_match(tracer, requests, pids, kind=SERVER, timing=True, what="",
                       other_kinds_ok=False):
    probs, matched = match_problems(tracer.spans, requests, pids, kind, timing,
                                    other_kinds_ok=other_kinds_ok)
    if probs:
        kinds = {}
        for s in tracer.spans:
            kinds[(s["kind"], s["pid"])] = kinds.get((s["kind"], s["pid"]), 0) + 1
        raise AssertionError(
            "%s%d requests, %d spans in output (by (kind, pid): %s), target pids %s; %d "
            "problems:%s\n%s" % (what + ": " if what else "", len(requests), len(tracer.spans),
                                  kinds, sorted(pids), len(probs), _fmt(probs), tracer.diag()))
    return matched


def counts(items, key):
    out = {}
    for it in items:
        k = key(it)
        out[k] = out.get(k, 0) + 1
    return out


# --------------------------------------------------------------------------- BPF objects
def bpf_ids(kind):
    """{id: name} of all loaded BPF programs (kind='prog') or maps (kind='map')."""
    p = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, "bpftool %s show failed: %s" % (kind, p.stderr)
    return {o["id"]: o.get("name", "") for o in json.loads(p.stdout or "[]")}


def bpf_fds_of(pid):
    """(prog ids, map ids) referenced by the fds of a process (via /proc fdinfo)."""
    progs, maps = set(), set()
    fddir = "/proc/%d/fdinfo" % pid
    try:
        fds = os.listdir(fddir)
    except OSError:
        return progs, maps
    for fd in fds:
        try:
            with open(os.path.join(fddir, fd)) as f:
                txt = f.read()
        except OSError:
            continue
        for m in re.finditer(r"^prog_id:\s*(\d+)", txt, re.M):
            progs.add(int(m.group(1)))
        for m in re.finditer(r"^map_id:\s*(\d+)", txt, re.M):
            maps.add(int(m.group(1)))
    return progs, maps


def all_bpf_holders():
    progs, maps = set(), set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            p, m = bpf_fds_of(int(d))
            progs |= p
            maps |= m
    return progs, maps


# --------------------------------------------------------------------------- request sets
def pyserver_mix():
    """One of each pyserver case: statuses, 0 B..1 MiB bodies both ways, chunked, split
    writes, a slow response. Unique paths."""
    reqs = []
    for code in (200, 404, 500):
        reqs.append({"method": "GET", "path": "/status/%d/%s" % (code, uid())})
    for n in (0, 1, 1000, 64 * KiB, MiB):
        reqs.append({"method": "GET", "path": "/bytes/%d/%s" % (n, uid())})
    for n in (1, 1000, 64 * KiB, MiB):
        reqs.append({"method": "POST", "path": "/echo/%s" % uid(), "body_size": n})
    reqs.append({"method": "PUT", "path": "/echo/%s" % uid(), "body_size": 3000})
    for n, c in ((1, 1), (100000, 8), (MiB, 4)):
        reqs.append({"method": "GET", "path": "/chunked/%d/%d/%s" % (n, c, uid())})
    for n, c in ((10, 1), (5000, 4)):
        reqs.append({"method": "GET", "path": "/split/%d/%d/%s" % (n, c, uid())})
    reqs.append({"method": "GET", "path": "/sleep/30/%s" % uid()})
    reqs.append({"method": "GET", "path": "/bytes/10/%s?q=%s&x=1" % (uid(), uid())})
    reqs.append({"method": "DELETE", "path": "/status/200/%s" % uid()})
    return reqs


def expected_status(path):
    """What pyserver answers for a path (for harness checks)."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    if parts and parts[0] == "status":
        return int(parts[1])
    return 200


def trace_ctx_requests():
    """Requests with W3C traceparent, B3 multi-header and B3 single-header contexts.
    Returns (requests, {path: (trace_id, parent_span_id)})."""
    reqs, want = [], {}
    for i in range(12):
        tid, sid = os.urandom(16).hex(), os.urandom(8).hex()
        style = ("traceparent", "b3multi", "b3single")[i % 3]
        if style == "traceparent":
            h = {"traceparent": "00-%s-%s-01" % (tid, sid)}
        elif style == "b3multi":
            h = {"X-B3-TraceId": tid, "X-B3-SpanId": sid, "X-B3-Sampled": "1"}
        else:
            h = {"b3": "%s-%s-1" % (tid, sid)}
        path = "/bytes/%d/%s-%s" % (100 * i, style, uid())
        reqs.append({"method": "GET", "path": path, "headers": h})
        want[path] = (tid, sid, style)
    return reqs, want


def split_requests():
    """Requests sent in several pieces (raw client, 5 ms apart): after the request line,
    inside the path, a POST whose body comes separately, and a chunked request body cut
    twice. The cut is named in the path. (A cut inside the method is a documented gap:
    see split_inside_method_requests.)"""
    reqs = []
    p = "/bytes/100/after-request-line-%s" % uid()
    reqs.append({"method": "GET", "path": p, "split": [len("GET %s HTTP/1.1\r\n" % p)]})
    p = "/bytes/200/in-path-%s" % uid()
    reqs.append({"method": "GET", "path": p, "split": [len("GET /byt")]})
    p = "/echo/body-separate-%s" % uid()
    reqs.append({"method": "POST", "path": p, "body_size": 5000, "split": ["body"]})
    p = "/echo/chunked-body-%s" % uid()
    reqs.append({"method": "POST", "path": p, "body_size": 3000, "chunked_body": True,
                 "split": ["body", 400]})
    return reqs


def split_inside_method_requests():
    """A request whose first read holds only part of the method ("GE" + "T /..."), then an
    ordinary one on the same connection. The kernel classifies a request from its first
    read, so the first is not captured (README: known gaps); the second must be."""
    return [{"method": "GET", "path": "/bytes/300/in-method-%s" % uid(), "split": [2]},
            {"method": "GET", "path": "/bytes/10/after-in-method-%s" % uid()}]


def nginx_curl_traffic(ng):
    """curl traffic on nginx: one invocation per URL (no keep-alive) for every static size
    and status, one invocation with 8 URLs (one keep-alive connection), one --parallel run."""
    recs = []
    paths = ["/static/%s?%s" % (f, uid()) for f in NGINX_STATIC]
    paths += ["/r404/%s" % uid(), "/r500/%s" % uid(), "/ok/%s" % uid()]
    for p in paths:
        recs += run_curl([ng.url(p)])
    # (nginx closes the connection after a 500, so that one comes last)
    ka = ["/ok/%s" % uid(), "/static/1k.bin?%s" % uid(), "/r404/%s" % uid(),
          "/static/64k.bin?%s" % uid(), "/static/1m.bin?%s" % uid(),
          "/static/1b.bin?%s" % uid(), "/ok/%s" % uid(), "/r500/%s" % uid()]
    recs += run_curl([ng.url(p) for p in ka])
    par = [("/static/1k.bin?%s", "/ok/%s", "/r404/%s", "/static/64k.bin?%s")[i % 4] % uid()
           for i in range(24)]
    recs += run_curl([ng.url(p) for p in par], parallel=8)
    return recs


def nginx_log_problems(entries, recs):
    """The access log (ground truth) and the client's records must agree 1:1."""
    log = counts(entries, lambda e: (e["method"], e["uri"], e["status"]))
    cli = counts(recs, lambda r: (r["method"], r["path"], r["status"]))
    probs = ["%s: access log %d, client %d" % (k, log.get(k, 0), cli.get(k, 0))
             for k in sorted(set(log) | set(cli), key=str) if log.get(k, 0) != cli.get(k, 0)]
    return probs


WRK_PATHS = ["/ok/w", "/static/1k.bin", "/r404/w", "/r500/w"]


def span_log_count_problems(spans, entries, pids):
    """nginx SERVER spans vs access log lines: equal multisets of (method, uri, status)."""
    sp = counts([s for s in spans if s["kind"] == SERVER and s["pid"] in pids],
                lambda s: (s["method"], s["path"], s["status"]))
    log = counts(entries, lambda e: (e["method"], e["uri"], e["status"]))
    return ["%s: %d spans, access log %d" % (k, sp.get(k, 0), log.get(k, 0))
            for k in sorted(set(sp) | set(log), key=str) if sp.get(k, 0) != log.get(k, 0)]


def concurrent_requests(conns=200, per_conn=5):
    """conns x per_conn keep-alive requests; each connection starts with a 300 ms sleep so
    that all connections are open on the server at the same time."""
    reqs = []
    for c in range(conns):
        reqs.append({"method": "GET", "path": "/sleep/300/%s" % uid("c")})
        for i in range(per_conn - 1):
            reqs.append({"method": "GET", "path": "/bytes/%d/%s" % ((c + i) % 7 * 100,
                                                                  uid("c"))})
    return reqs


def bodiless_requests():
    """Responses without a body on one keep-alive connection, each followed by a normal
    request: HEAD (Content-Length but no body), 204, 304 (no Content-Length)."""
    b = lambda n: {"method": "GET", "path": "/bytes/%d/%s" % (n, uid())}
    return [{"method": "HEAD", "path": "/bytes/1000/%s" % uid()}, b(10),
            {"method": "GET", "path": "/status/204/%s" % uid()}, b(20),
            {"method": "GET", "path": "/status/304/%s" % uid()}, b(30),
            {"method": "HEAD", "path": "/status/404/%s" % uid()}, b(40)]


def expect_continue_requests():
    """POSTs with "Expect: 100-continue" (the server answers 100 Continue, then the final
    response) and a GET after them on the same connection (raw client)."""
    return [{"method": "POST", "path": "/echo/expect-%s" % uid(), "body_size": 5000,
             "expect_continue": True},
            {"method": "POST", "path": "/echo/expect-%s" % uid(), "body_size": MiB,
             "expect_continue": True},
            {"method": "GET", "path": "/bytes/10/after-expect-%s" % uid()}]


def long_path_requests():
    """Request targets longer than the 127-byte url.path bound (path and query string);
    the unique part comes first so the bounded paths stay unique."""
    return [{"method": "GET", "path": "/bytes/10/%s-%s" % (uid(), "p" * 300)},
            {"method": "GET", "path": "/bytes/10/%s?%s" % (uid(), "q=1&" * 60)},
            {"method": "GET", "path": "/bytes/10/%s-%s" % (uid(), "x" * (126 - 16))}]


def request_body_size(req):
    """Bytes of request body pyclient sends for a request dict (http mode)."""
    n = req.get("body_size", 0)
    return n
