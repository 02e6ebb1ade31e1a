"""End-to-end tests of difftrace against real, unmodified servers.

Run (as root, after `make`):
    /usr/bin/python3 -m pytest -q tests/e2e -k capture
Use another binary with DIFFTRACE_BIN=/path/to/difftrace.

Tiers of the capture suite (files tests/e2e/test_capture_*.py):

  harness  test_capture_harness.py  No tracer. Proves the test rig on its own: the Python client's
           records match the Python server's request log 1:1 (keep-alive or not, HTTP/1.0,
           split sends, 200 connections really open at once), curl's and wrk's requests match
           nginx's access log (and curl reuses connections), the echo server echoes, and the
           span comparator flags missing, duplicated, invented, mis-timed spans on synthetic
           OTLP input. If this tier fails, fix the rig before reading any tracer failure.
  capture  test_capture_pyserver.py, test_capture_nginx.py  Root and build/difftrace required.
           The tracer is started on a server (--pid / --comm), waited for (--ready-file),
           traffic is sent, the tracer is stopped with SIGINT and must exit 0; its otlp-json
           output must hold exactly one SERVER span per request (method, url.path, status), each
           within the client's [start, end] and no longer than the client's latency (1 ms
           tolerance), and nothing else on the traced server. nginx: span count equals the
           access log (the ground truth) exactly, also under wrk load; proxy_pass gives CLIENT
           spans to the upstream.
  robust   test_capture_errors.py   Root and build/difftrace required. Garbage / non-HTTP bytes
           on a traced socket give no spans and a clean exit; bad input (missing --pid,
           unwritable export path, non-root, tracefs unmounted) gives one stderr line and exit
           2 (usage) or 1 (environment); no BPF program or map outlives the tracer.

What each capture test sends (servers/pyserver.py routes, clients/pyclient.py spec):
  pyserver  statuses 200/404/500, bodies 0 B..1 MiB both ways, chunked, split writes, slow
            (keep-alive and Connection: close); HTTP/1.0 close-delimited; requests split across
            sends (after the request line, in the path, in the method, before the body);
            traceparent / B3 / b3; 200 connections at once x 5; HEAD/204/304 on keep-alive;
            Expect: 100-continue; url.path bounded to 127 bytes; --comm on a process started
            later (+ an untargeted twin that must stay invisible); --pid covering a forked
            child; --cgroup; --duration and SIGTERM; OTLP attributes and --stats-json.
  nginx     curl: static 1 B/1 KiB/64 KiB/1 MiB (sendfile), 404/500, 8 URLs on one keep-alive
            connection, --parallel; wrk -t2 -c50 -d3s vs the access log; proxy_pass CLIENT
            spans (+ chunked via proxy_buffering off); --pid <master> covering the workers;
            OTLP attributes.
  errors    garbage into an echo server; unknown option / negative duration / unknown exporter
            (exit 2); nonexistent --pid (2); unwritable export path x3 (2); non-root (1);
            tracefs and debugfs unmounted in a private mount namespace; BPF objects leaked.

Only the rig: `-k "capture and harness"`. A failure message lists every mismatching request
(expected vs found), the tracer's command line, exit code, stderr tail and stats counters.

Nothing is skipped: without root or without the binary the tracer tiers FAIL with the reason.
Every server listens on 127.0.0.1 on a free port, lives in the test's tmp dir, runs in its own
process group and is killed at teardown, pass or fail. Artifacts (tracer stderr, otlp-json,
stats, server logs, nginx access/error logs) stay in pytest's tmp dir for post-mortems.
"""
import os
import shutil
import tempfile

import pytest

import capture_helpers as ch


@pytest.fixture
def workdir(tmp_path):
    return str(tmp_path)


@pytest.fixture
def outdir():
    """A directory the unprivileged user (ch.NOBODY) can write to (pytest's tmp_path is
    private to root)."""
    d = tempfile.mkdtemp(prefix="difftrace-e2e-")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def procs():
    p = ch.Procs()
    yield p
    p.kill_all()


@pytest.fixture(scope="session")
def difftrace_bin():
    """The tracer binary; FAILS (never skips) when it cannot be run as root."""
    if os.geteuid() != 0:
        pytest.fail("the capture tests must run as root (euid is %d): BPF needs it"
                    % os.geteuid(), pytrace=False)
    if not (os.path.isfile(ch.TRACER_BIN) and os.access(ch.TRACER_BIN, os.X_OK)):
        pytest.fail("tracer binary %s is missing or not executable: run `make` first (or set "
                    "DIFFTRACE_BIN)" % ch.TRACER_BIN, pytrace=False)
    return ch.TRACER_BIN


@pytest.fixture
def start_tracer(difftrace_bin, procs, workdir):
    """start_tracer(["--pid", "123"], extra=[...], name="tracer") -> running, ready Tracer
    (full tracing unless no_filter=False)."""
    def start(targets, extra=(), name="tracer", wait_ready=True, prefix=(), no_filter=True):
        return ch.Tracer(procs, workdir, targets, extra, name, prefix,
                         no_filter).start(wait_ready)
    return start


@pytest.fixture
def pyserver(procs, workdir):
    """pyserver(http10=False, name="pyserver", ...) -> listening PyServer."""
    def start(**kw):
        return ch.PyServer(procs, workdir, **kw)
    return start


@pytest.fixture
def nginx(procs, workdir):
    """nginx(upstream_port=None, workers=2) -> running Nginx."""
    def start(**kw):
        return ch.Nginx(procs, workdir, **kw)
    return start


@pytest.fixture
def echoserver(procs, workdir):
    def start(**kw):
        return ch.EchoServer(procs, workdir, **kw)
    return start


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "container: runs difftrace's image in podman (test_container.py; slowish)")
