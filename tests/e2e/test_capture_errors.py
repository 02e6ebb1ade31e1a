"""Robustness tier: garbage on traced sockets, bad input, environment errors, leaks. See
conftest.py. Error contract: exactly one non-empty stderr line, exit 2 for usage / bad input,
exit 1 for environment problems."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import capture_helpers as ch


def _tls_client_hello():
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x04\x13\x01\x13\x02" + b"\x01\x00"
            + b"\x00\x0b" + b"\x00\x00\x00\x07\x00\x05\x00\x00\x02dt")
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


GARBAGE = {
    "random-4k": os.urandom(4096),
    "hello-line": b"HELLO\r\n",
    "tls-client-hello": _tls_client_hello(),
    "ssh-banner": b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
    "zeros": b"\x00" * 200,
    "response-looking": b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "lone-GET": b"GET",
    "random-1m": os.urandom(1 << 20),
    "binary-then-newlines": os.urandom(300) + b"\r\n\r\n" + os.urandom(300),
}


def _echo(port, payload, pieces=1):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        step = max(1, -(-len(payload) // pieces))
        for off in range(0, len(payload), step):
            s.sendall(payload[off:off + step])
            if pieces > 1:
                time.sleep(0.002)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            d = s.recv(1 << 16)
            if not d:
                break
            got += d
    return got


def _one_error_line(tr):
    lines = [l for l in tr.stderr().splitlines() if l.strip()]
    assert len(lines) == 1, "want exactly one stderr line, got %d:\n%s" % (
        len(lines), "\n".join(lines[:20]))
    return lines[0]


def _exit_code(tr, timeout=30):
    try:
        tr.rc = tr.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("tracer did not exit within %ss on bad input\n%s" % (timeout,
                                                                                tr.diag()))
    return tr.rc


def _unheld_new_bpf(before_progs, before_maps):
    """BPF programs/maps that appeared since `before` and are held by no process fd (pinned
    or otherwise leaked). Freed objects can linger briefly, so poll up to 5 s."""
    deadline = time.monotonic() + 5
    while True:
        progs, maps = ch.bpf_ids("prog"), ch.bpf_ids("map")
        held_p, held_m = ch.all_bpf_holders()
        lp = {i: n for i, n in progs.items() if i not in before_progs and i not in held_p}
        lm = {i: n for i, n in maps.items() if i not in before_maps and i not in held_m}
        if not (lp or lm) or time.monotonic() > deadline:
            return lp, lm
        time.sleep(0.2)


@pytest.fixture
def bpf_before():
    return set(ch.bpf_ids("prog")), set(ch.bpf_ids("map"))


def _assert_no_leak(bpf_before, what):
    lp, lm = _unheld_new_bpf(*bpf_before)
    assert not (lp or lm), "%s left BPF objects nobody holds: progs %s maps %s" % (what, lp, lm)


def test_capture_garbage_and_non_http_give_no_spans(echoserver, pyserver, start_tracer,
                                                    workdir):
    """Random bytes, non-HTTP lines, a TLS ClientHello, an SSH banner, an HTTP/2 preface...
    into a traced TCP echo server: no spans there, tracer exits 0; HTTP to a pyserver traced
    by the same tracer still gives its spans (so capture was on)."""
    es = echoserver()
    srv = pyserver()
    tr = start_tracer(["--pid", str(es.pid), "--pid", str(srv.pid)])
    for name, payload in GARBAGE.items():
        for pieces in (1, 3):
            got = _echo(es.port, payload, pieces)
            assert got == payload, "harness: echo of %s came back different" % name
    reqs = [{"method": "GET", "path": "/bytes/%d/%s" % (n, ch.uid())} for n in (1, 1000)]
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True))
    tr.stop_ok()
    on_echo = [(s["kind"], s["name"], s["status"]) for s in tr.spans if s["pid"] == es.pid]
    assert not on_echo, "spans invented from non-HTTP traffic on the echo server: %s\n%s" % (
        on_echo[:20], tr.diag())
    ch.assert_spans_match(tr, recs, srv.pids, what="HTTP next to the garbage")


def _missing_pid():
    with open("/proc/sys/kernel/pid_max") as f:
        pid = int(f.read()) - 7
    while os.path.exists("/proc/%d" % pid):
        pid -= 1
    return pid


def test_capture_bad_input_nonexistent_pid(start_tracer, bpf_before):
    pid = _missing_pid()
    tr = start_tracer(["--pid", str(pid)], extra=["--duration", "3"], wait_ready=False)
    rc = _exit_code(tr)
    line = _one_error_line(tr)
    assert rc == 2, "nonexistent --pid %d: exit %s, want 2 (%s)" % (pid, rc, line)
    assert str(pid) in line, "the error line should name the pid: %r" % line
    assert not os.path.exists(tr.ready), "ready file written although nothing was attached"
    _assert_no_leak(bpf_before, "exit on a nonexistent pid")


@pytest.mark.parametrize("args", [["--bogus-option"], ["--duration", "-1"],
                                  ["--export", "nosuchexporter:x"]],
                         ids=["unknown-option", "negative-duration", "unknown-exporter"])
def test_capture_bad_input_usage(start_tracer, pyserver, args, bpf_before):
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)], extra=args, wait_ready=False)
    rc = _exit_code(tr)
    line = _one_error_line(tr)
    assert rc == 2, "%s: exit %s, want 2 (%s)" % (" ".join(args), rc, line)
    _assert_no_leak(bpf_before, "a usage error")


@pytest.fixture
def readonly_dir(workdir):
    d = os.path.join(workdir, "ro")
    os.makedirs(d)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", d], check=True)
    yield d
    subprocess.run(["umount", d], check=False)


@pytest.mark.parametrize("where", ["proc", "readonly-mount", "missing-dir"])
def test_capture_bad_input_unwritable_export(start_tracer, readonly_dir, pyserver, where,
                                             bpf_before):
    path = {"proc": "/proc/1/nonexistent/out.jsonl",
            "readonly-mount": os.path.join(readonly_dir, "out.jsonl"),
            "missing-dir": "/nonexistent-difftrace-dir/sub/out.jsonl"}[where]
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)], extra=["--export", "otlp-json:" + path,
                                                      "--duration", "3"], wait_ready=False)
    rc = _exit_code(tr)
    line = _one_error_line(tr)
    assert rc == 2, "unwritable export %s: exit %s, want 2 (%s)" % (path, rc, line)
    assert path in line or os.path.dirname(path) in line, \
        "the error line should name the path: %r" % line
    _assert_no_leak(bpf_before, "exit on an unwritable export path")


def test_capture_env_not_root(difftrace_bin, procs, workdir):
    """As uid/gid 65534 with no capabilities: exit 1, one line that says what is missing."""
    d = tempfile.mkdtemp(prefix="dt-nonroot-", dir="/tmp")
    try:
        os.chmod(d, 0o777)
        setpriv = ch.UNPRIVILEGED
        probe = subprocess.run(setpriv + ["test", "-x", difftrace_bin])
        assert probe.returncode == 0, "harness: %s is not executable by uid 65534" \
            % difftrace_bin
        tr = ch.Tracer(procs, d, ["--comm", "dt-none"], extra=["--duration", "2"],
                       prefix=setpriv)
        tr.start(wait_ready=False)
        rc = _exit_code(tr)
        line = _one_error_line(tr)
        assert rc == 1, "not root: exit %s, want 1 (%s)" % (rc, line)
        assert re.search(r"root|privilege|permission|CAP_|capabilit", line, re.I), \
            "the error should say root/capabilities are needed: %r" % line
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_capture_env_bpf_refused(difftrace_bin, procs, workdir, bpf_before):
    """The bpf() syscall refused (seccomp, as where BPF is disabled): exit 1, one line that
    says loading failed and why, nothing left behind."""
    tool = os.path.join(workdir, "no_bpf")
    src = os.path.join(os.path.dirname(__file__), "tools", "no_bpf.c")
    cc = subprocess.run(["gcc", "-O2", "-o", tool, src], capture_output=True, text=True)
    assert cc.returncode == 0, "harness: building no_bpf failed: %s" % cc.stderr
    tr = ch.Tracer(procs, workdir, ["--comm", "dt-none"], extra=["--duration", "2"],
                   prefix=[tool])
    tr.start(wait_ready=False)
    rc = _exit_code(tr)
    line = _one_error_line(tr)
    assert rc == 1, "bpf() refused: exit %s, want 1 (%s)" % (rc, line)
    assert re.search(r"BPF", line) and re.search(r"not permitted", line, re.I), \
        "the error should say BPF loading was not permitted: %r" % line
    _assert_no_leak(bpf_before, "exit when bpf() is refused")


def _tracer_in_mount_namespace(start_tracer, srv, script):
    """The tracer of srv started by `sh -c script` in a private mount namespace (the script
    ends with exec "$@"), once it is ready or has exited."""
    tr = start_tracer(["--pid", str(srv.pid)], wait_ready=False,
                      prefix=["unshare", "--mount", "--propagation", "private", "--",
                              "sh", "-c", script, "sh"])
    ch.wait_for(lambda: os.path.exists(tr.ready) or tr.proc.poll() is not None, 30,
                "the tracer to get ready or exit", diag=tr.diag)
    return tr


def test_capture_env_tracefs_unmounted(start_tracer, pyserver, workdir):
    """tracefs (and debugfs) unmounted, in a private mount namespace so that nothing else on
    the machine is disturbed and the host's mounts are untouched afterwards: the tracer
    either mounts tracefs itself (or does not need it) and captures, or exits 1 with one
    line that names what is missing."""
    def tracing_mounts():
        with open("/proc/self/mountinfo") as f:
            return sorted(l.split()[4] for l in f if " - tracefs " in l or " - debugfs " in l)
    host_before = tracing_mounts()
    mark = os.path.join(workdir, "ns-state")
    script = ("for m in /sys/kernel/debug/tracing /sys/kernel/tracing /sys/kernel/debug; do "
              "umount -l $m 2>/dev/null; done; "
              "if grep -qE ' - (tracefs|debugfs) ' /proc/self/mountinfo; then echo mounted; "
              "else echo unmounted; fi > %s; exec \"$@\"" % mark)
    srv = pyserver()
    tr = _tracer_in_mount_namespace(start_tracer, srv, script)
    with open(mark) as f:
        assert f.read().strip() == "unmounted", "harness: could not unmount tracefs/debugfs"
    if os.path.exists(tr.ready):
        reqs = [{"method": "GET", "path": "/status/%d/%s" % (c, ch.uid())} for c in (200, 500)]
        recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True))
        tr.stop_ok()
        ch.assert_spans_match(tr, recs, srv.pids, what="tracefs was unmounted at start")
    else:
        rc = _exit_code(tr)
        line = _one_error_line(tr)
        assert rc == 1, "tracefs unmounted: exit %s, want 1 (environment) (%s)" % (rc, line)
        assert re.search(r"tracefs|/sys/kernel/tracing|debugfs", line), \
            "the error should name tracefs: %r" % line
    assert tracing_mounts() == host_before, "the host's tracefs/debugfs mounts changed"


def test_issue15_item4_no_syscall_trace_events_needed(start_tracer, pyserver, workdir):
    """A kernel without syscall trace events (no CONFIG_FTRACE_SYSCALLS), as a private mount
    namespace shows it: debugfs unmounted, and over tracefs' events/ a tmpfs that holds only
    the task and sched events (bind-mounted from the real ones). Capture reads raw
    tracepoints, so the tracer starts and captures as usual."""
    orig = os.path.join(workdir, "events")
    os.mkdir(orig)
    mark = os.path.join(workdir, "ns-state")
    ev = "/sys/kernel/tracing/events"
    script = ("umount -l /sys/kernel/debug/tracing 2>/dev/null; umount -l /sys/kernel/debug "
              "2>/dev/null; mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; "
              "mount --bind {ev} {orig} && mount -t tmpfs none {ev} && "
              "for e in task sched; do mkdir {ev}/$e && mount --bind {orig}/$e {ev}/$e; done; "
              "if [ -e {ev}/syscalls ] || [ -e /sys/kernel/debug/tracing/events/syscalls ]; "
              "then echo visible; elif [ -e {ev}/task/task_newtask/id ]; then echo hidden; "
              "else echo broken; fi > {mark}; exec \"$@\"").format(ev=ev, orig=orig, mark=mark)
    srv = pyserver()
    tr = _tracer_in_mount_namespace(start_tracer, srv, script)
    with open(mark) as f:
        state = f.read().strip()
    assert state == "hidden", "harness: the syscall events are not hidden (%s)" % state
    assert os.path.exists(tr.ready), \
        "refused without syscall trace events, which capture does not use:\n%s" % tr.diag()
    reqs = [{"method": "GET", "path": "/status/%d/%s" % (c, ch.uid())} for c in (200, 503)]
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True))
    tr.stop_ok()
    ch.assert_spans_match(tr, recs, srv.pids, what="no syscall trace events")


def test_capture_no_bpf_objects_leaked(start_tracer, pyserver, workdir, bpf_before):
    """The programs and maps the tracer holds while running are all gone after it exits
    (SIGINT), and nothing new without an owner (e.g. pinned) is left behind."""
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)])
    progs, maps = ch.bpf_fds_of(tr.pid)
    assert progs and maps, "the running tracer holds no BPF prog/map fds? progs=%s maps=%s" % (
        progs, maps)
    names = ch.bpf_ids("prog")
    ours = sorted({names.get(i, "?") for i in progs})
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(
        [{"method": "GET", "path": "/bytes/5/%s" % ch.uid()}], True))
    tr.stop_ok()
    deadline = time.monotonic() + 5
    while True:
        left_p = progs & set(ch.bpf_ids("prog"))
        left_m = maps & set(ch.bpf_ids("map"))
        if not (left_p or left_m) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not (left_p or left_m), "after exit still loaded: progs %s maps %s (tracer progs: %s)" \
        % (sorted(left_p), sorted(left_m), ours)
    _assert_no_leak(bpf_before, "a normal run")
    ch.assert_spans_match(tr, recs, srv.pids)


def test_capture_bad_config_names_file_and_line(start_tracer, workdir, bpf_before):
    """A config with a negative duration: exit 2, one line with FILE:LINE and the reason."""
    cfg = os.path.join(workdir, "bad.yaml")
    with open(cfg, "w") as f:
        f.write("services:\n  - name: a\n    match: {comm: a}\n    latency: -5ms\n")
    tr = start_tracer([], extra=["--config", cfg], wait_ready=False)
    rc = _exit_code(tr)
    line = _one_error_line(tr)
    assert rc == 2, "bad config: exit %s, want 2 (%s)" % (rc, line)
    assert "%s:4:" % cfg in line and "not a duration" in line, line
    _assert_no_leak(bpf_before, "exit on a bad config")


def _client_ends_entries():
    """Entries of the capture program's client_ends map (the tuples of traced clients)."""
    p = subprocess.run(["bpftool", "-j", "map", "dump", "name", "client_ends"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, "bpftool map dump name client_ends: %s" % p.stderr
    return len(json.loads(p.stdout or "[]"))


def test_issue15_item6_process_exit_finishes_and_forgets_its_connections(start_tracer, pyserver,
                                                                         workdir):
    """A traced process that exits without closing its sockets (the kernel closes them, no
    close call is seen): a client whose keep-alive connection is still open, and a server that
    exits with a request unanswered. The server's request becomes a span (status 0: the
    connection closed unanswered) and the client's tuple leaves client_ends, so a later
    connection that reuses it does not pass for a traced caller."""
    srv = pyserver()
    path_srv = "/dies/%s" % ch.uid()
    dying = ("import os, socket, sys\n"
             "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
             "s.bind(('127.0.0.1', 0)); s.listen(1); print(s.getsockname()[1], flush=True)\n"
             "c, _ = s.accept(); c.recv(65536); os._exit(3)\n")
    dying_srv = subprocess.Popen([ch.PY, "-c", dying], stdout=subprocess.PIPE, text=True)
    port = int(dying_srv.stdout.readline())
    client = ("import os, socket, sys, time\n"
              "sys.stdin.readline()\n"
              "c = socket.create_connection(('127.0.0.1', %d))\n"
              "c.sendall(b'GET /bytes/5/%s HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
              "buf = b''\n"
              "while True:\n"
              "    got = c.recv(65536)\n"
              "    if not got: break\n"
              "    buf += got\n"
              "    if b'\\r\\n\\r\\n' in buf and len(buf.split(b'\\r\\n\\r\\n', 1)[1]) >= 5: break\n"
              "sys.stdin.readline()\n"
              "os._exit(0)\n" % (srv.port, ch.uid()))
    cli = subprocess.Popen([ch.PY, "-c", client], stdin=subprocess.PIPE, text=True)
    tr = start_tracer(["--pid", str(dying_srv.pid), "--pid", str(cli.pid)])
    # The client connects and sends only now that the tracer is attached: wait until its
    # tuple is published, then let it exit with the connection open.
    cli.stdin.write("\n")
    cli.stdin.flush()
    try:
        ch.wait_for(lambda: _client_ends_entries() >= 1, 10, "the traced client's tuple in "
                    "client_ends", diag=tr.diag)
    finally:
        cli.stdin.write("\n")
        cli.stdin.close()
    assert cli.wait(10) == 0
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path_srv.encode())
    assert dying_srv.wait(10) == 3, "harness: the dying server did not exit as planned"
    s.close()
    ch.wait_for(lambda: _client_ends_entries() == 0, 5,
                "client_ends to forget the exited client's tuple", diag=tr.diag)
    tr.stop_ok()
    got = [sp for sp in tr.spans if sp["path"] == path_srv]
    assert (len(got) == 1 and not got[0]["status"] and got[0]["kind"] == ch.SERVER
            and got[0]["attrs"].get("difftrace.reason") == "reset"), \
        "the exited server's unanswered request: %s\n%s" % (got, tr.diag())
