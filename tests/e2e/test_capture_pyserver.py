"""Capture tier, Python http.server (ThreadingHTTPServer, comm dt-pyserver): every request the
client made is exactly one SERVER span (method, url.path, status), within the client's
interval and latency (1 ms), and nothing else is reported on the server. See conftest.py."""
import os
import re
import signal
import time

import pytest

import capture_helpers as ch
from capture_helpers import SERVER


@pytest.mark.parametrize("keepalive", [True, False], ids=["keepalive", "close"])
def test_capture_pyserver_statuses_bodies_chunked_split(pyserver, start_tracer, workdir,
                                                        keepalive):
    """200/404/500, 0 B..1 MiB responses, 1 B..1 MiB POST bodies, chunked, responses written
    in many pieces, a slow response, a query string; 5 requests per connection or 1."""
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)])
    reqs = ch.pyserver_mix()
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, keepalive, per_conn=5),
                           concurrency=4)
    tr.stop_ok()
    ch.assert_spans_match(tr, recs, srv.pids)


def test_capture_pyserver_http10_close_delimited(pyserver, start_tracer, workdir):
    """HTTP/1.0 server: every response ends the connection; /close/ bodies have no
    Content-Length and end only at close."""
    srv = pyserver(http10=True)
    tr = start_tracer(["--pid", str(srv.pid)])
    reqs = [{"method": "GET", "path": "/close/%d/%s" % (n, ch.uid())} for n in (0, 1, 70000,
                                                                                 ch.MiB)]
    reqs += [{"method": "GET", "path": "/bytes/%d/%s" % (n, ch.uid())} for n in (5, 100000)]
    reqs += [{"method": "GET", "path": "/status/404/%s" % ch.uid()},
             {"method": "GET", "path": "/status/500/%s" % ch.uid()},
             {"method": "POST", "path": "/echo/%s" % ch.uid(), "body_size": 2000}]
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=3,
                                                           mode="raw", version="1.0"))
    tr.stop_ok()
    ch.assert_spans_match(tr, recs, srv.pids)


def test_capture_pyserver_split_requests(pyserver, start_tracer, workdir):
    """Requests arriving in several reads (cut after the request line, inside the path,
    inside the method, before the body, inside a chunked body), on one keep-alive
    connection; the cut is named in each path."""
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)])
    reqs = ch.split_requests()
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=5, mode="raw"))
    tr.stop_ok()
    ch.assert_spans_match(tr, recs, srv.pids)


def test_capture_pyserver_split_inside_method_is_a_known_gap(pyserver, start_tracer, workdir):
    """A cut inside the method loses that one request (documented), invents nothing, and the
    next request on the same connection is captured as usual."""
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)])
    gap, after = ch.split_inside_method_requests()
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for([gap, after], True, per_conn=2,
                                                            mode="raw"))
    tr.stop_ok()
    assert [r["status"] for r in recs] == [200, 200], recs
    ch.assert_spans_match(tr, [r for r in recs if r["path"] == after["path"]], srv.pids)


def test_capture_pyserver_trace_context(pyserver, start_tracer, workdir):
    """traceparent, X-B3-TraceId/X-B3-SpanId and single b3 headers give the SERVER span its
    traceId and parentSpanId."""
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)])
    reqs, want = ch.trace_ctx_requests()
    plain = [{"method": "GET", "path": "/bytes/10/noctx-%s" % ch.uid()} for _ in range(3)]
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs + plain, True, per_conn=4))
    tr.stop_ok()
    matched = ch.assert_spans_match(tr, recs, srv.pids)
    probs = []
    for path, (tid, sid, style) in want.items():
        s = matched[path]
        if s["trace_id"] != tid:
            probs.append("%s (%s): traceId %s, want %s" % (path, style, s["trace_id"], tid))
        if s["parent_span_id"] != sid:
            probs.append("%s (%s): parentSpanId %r, want %s" % (path, style,
                                                              s["parent_span_id"], sid))
        if s["span_id"] == sid:
            probs.append("%s (%s): spanId equals the caller's span id" % (path, style))
    for r in plain:
        s = matched[r["path"]]
        if s["parent_span_id"]:
            probs.append("%s (no context): parentSpanId %r" % (r["path"], s["parent_span_id"]))
        if s["trace_id"] in {t for t, _, _ in want.values()}:
            probs.append("%s (no context): reuses a propagated traceId" % r["path"])
    assert not probs, "\n".join(probs) + "\n" + tr.diag()


def test_capture_pyserver_200_concurrent_connections(pyserver, start_tracer, workdir):
    """200 connections open at once (client barrier, 300 ms first request), 5 requests each."""
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)])
    reqs = ch.concurrent_requests(200, 5)
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=5),
                           barrier=True, timeout=120)
    tr.stop_ok()
    assert srv.max_open_conns() >= 190, "harness: only %d connections were open at once" \
        % srv.max_open_conns()
    ch.assert_spans_match(tr, recs, srv.pids)


def test_capture_pyserver_comm_started_later_and_untargeted_ignored(pyserver, start_tracer,
                                                                     workdir):
    """--comm matches a process started after the tracer; a second server with another comm
    gets the same traffic and must produce no span at all."""
    comm = "dt-late%d" % (os.getpid() % 10000)
    tr = start_tracer(["--comm", comm])
    srv = pyserver(comm=comm)
    other = pyserver(name="other")  # comm dt-pyserver, not targeted
    reqs = ch.pyserver_mix()
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=5))
    ch.run_pyclient(workdir, other.port, ch.conns_for(ch.pyserver_mix(), True), name="other")
    tr.stop_ok()
    ch.assert_spans_match(tr, recs, srv.pids)
    stray = [(s["pid"], s["service"], s["name"]) for s in tr.spans if s["pid"] != srv.pid]
    assert not stray, "spans of untargeted processes (only --comm %s was asked): %s\n%s" % (
        comm, stray[:10], tr.diag())


def test_capture_pyserver_forked_child_of_pid_target(pyserver, start_tracer, workdir):
    """--pid P traces the children P forks after the tracer started."""
    go = os.path.join(workdir, "go")
    srv = pyserver(fork_child=True, wait_file=go, wait=False)
    tr = start_tracer(["--pid", str(srv.launcher_pid)])
    open(go, "w").close()
    srv.wait_listening()
    assert srv.pid != srv.launcher_pid
    reqs = ch.pyserver_mix()[:8]
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=4))
    tr.stop_ok()
    ch.assert_spans_match(tr, recs, {srv.pid}, what="server forked by the --pid target")


def test_capture_pyserver_duration_and_sigterm(pyserver, start_tracer, workdir):
    """--duration stops the tracer by itself with exit 0 and a flushed file; SIGTERM (second
    tracer on the same server) does too."""
    srv = pyserver()
    tr2 = start_tracer(["--pid", str(srv.pid)], name="tracer-term")
    tr = start_tracer(["--pid", str(srv.pid)], extra=["--duration", "4"])
    reqs = [{"method": "GET", "path": "/bytes/%d/%s" % (n, ch.uid())} for n in (1, 2, 3)]
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True))
    try:
        rc = tr.proc.wait(30)
    except Exception:
        raise AssertionError("--duration 4 did not stop the tracer within 30 s\n" + tr.diag())
    tr.rc = rc
    assert rc == 0, "exit %s after --duration\n%s" % (rc, tr.diag())
    ch.assert_spans_match(tr, recs, srv.pids, what="--duration 4")
    tr2.stop_ok(signal.SIGTERM)
    ch.assert_spans_match(tr2, recs, srv.pids, what="stopped with SIGTERM")


def test_capture_pyserver_otlp_attributes(pyserver, start_tracer, workdir):
    """OTLP-JSON shape and attributes: ids, int64 as strings, resource (service.name = comm,
    process.pid, host.name), tuple (client.port = the client's port), thread.id = the
    handling thread, status ERROR exactly for 5xx, difftrace.decision full (anomalous for a
    5xx: --no-filter still names anomalies); stats file."""
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)])
    reqs = ch.pyserver_mix()
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=5))
    tr.stop_ok()
    matched = ch.assert_spans_match(tr, recs, srv.pids, timing=False)
    probs = ch.schema_problems(tr.spans)
    tids = {e["path"]: e["tid"] for e in srv.requests()}
    reqs_by_path = {q["path"]: q for q in reqs}
    for r in recs:
        s, a = matched[r["path"]], matched[r["path"]]["attrs"]
        want = {"server.port": srv.port, "client.port": r["local_port"],
                "client.address": "127.0.0.1", "server.address": "127.0.0.1",
                "thread.id": tids[r["path"]]}
        probs += ch.decision_problems(r["path"], a, r["status"])
        for k, v in want.items():
            if a.get(k) != v:
                probs.append("%s: %s = %r, want %r" % (r["path"], k, a.get(k), v))
        if s["service"] != "dt-pyserver":
            probs.append("%s: service.name %r, want 'dt-pyserver' (the comm)" % (r["path"],
                                                                              s["service"]))
        if s["name"] != "%s %s" % (r["method"], a.get("url.template")) or \
                a.get("url.path") != r["path"].split("?")[0]:
            probs.append("%s: span name %r, url.path %r, url.template %r"
                         % (r["path"], s["name"], a.get("url.path"), a.get("url.template")))
        # OTel semconv sizes, when present: *.body.size is the body only
        body = ch.request_body_size(reqs_by_path[r["path"]])
        if "http.request.body.size" in a and a["http.request.body.size"] != body:
            probs.append("%s: http.request.body.size %r, the request body has %d bytes"
                         % (r["path"], a["http.request.body.size"], body))
        if "http.response.body.size" in a and a["http.response.body.size"] != r["resp_bytes"] \
                and not r["path"].startswith("/chunked/"):
            probs.append("%s: http.response.body.size %r, the body has %d bytes"
                         % (r["path"], a["http.response.body.size"], r["resp_bytes"]))
        if "http.response.size" in a and a["http.response.size"] < r["resp_bytes"]:
            probs.append("%s: http.response.size %r < body %d" % (r["path"],
                                                                 a["http.response.size"],
                                                                 r["resp_bytes"]))
    try:
        st = tr.stats()
    except (OSError, ValueError) as e:
        probs.append("--stats-json unreadable: %s" % e)
        st = {}
    for k in ("spans_seen", "spans_reported", "ringbuf_lost"):
        if not isinstance(st.get(k), int):
            probs.append("stats: %s missing or not an integer: %r" % (k, st.get(k)))
    if not any(re.search(r"lost|error|malformed|invalid|full|unanswered|non_http", k)
               and k != "ringbuf_lost" for k in st):
        probs.append("stats: no events_lost/parse_errors style counter in %s" % sorted(st))
    if isinstance(st.get("spans_reported"), int) and st["spans_reported"] < len(recs):
        probs.append("stats: spans_reported %s < %d requests" % (st["spans_reported"],
                                                                 len(recs)))
    if isinstance(st.get("spans_seen"), int) and isinstance(st.get("spans_reported"), int) \
            and st["spans_seen"] < st["spans_reported"]:
        probs.append("stats: spans_seen < spans_reported")
    assert not probs, "\n".join(probs[:40]) + "\n" + tr.diag()


def test_capture_pyserver_bodiless_responses_keepalive(pyserver, start_tracer, workdir):
    """HEAD (Content-Length, no body), 204 and 304 (no Content-Length) on one keep-alive
    connection, each followed by a normal request: no span waits for a body that never
    comes, none swallows the next request."""
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)])
    reqs = ch.bodiless_requests()
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=len(reqs)))
    tr.stop_ok()
    ch.assert_spans_match(tr, recs, srv.pids)


def test_capture_pyserver_expect_100_continue(pyserver, start_tracer, workdir):
    """POST with "Expect: 100-continue": the interim 100 is not the response; the span has
    the final status and covers the body upload; the next request on the connection too."""
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)])
    reqs = ch.expect_continue_requests()
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=len(reqs),
                                                           mode="raw"))
    tr.stop_ok()
    ch.assert_spans_match(tr, recs, srv.pids)


def test_capture_pyserver_long_path_bounded(pyserver, start_tracer, workdir):
    """url.path holds the first 127 bytes of a longer request target (query included)."""
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)])
    reqs = ch.long_path_requests()
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=len(reqs)))
    tr.stop_ok()
    bounded = [dict(r, path=r["path"][:127]) for r in recs]
    ch.assert_spans_match(tr, bounded, srv.pids, what="url.path bounded to 127 bytes")


@pytest.fixture
def cgroup_dir():
    root = "/sys/fs/cgroup/unified"
    if not os.path.exists(os.path.join(root, "cgroup.procs")):
        root = "/sys/fs/cgroup"
    assert os.path.exists(os.path.join(root, "cgroup.procs")) and \
        "cgroup2" in open("/proc/self/mountinfo").read(), "harness: no cgroup v2 hierarchy"
    d = os.path.join(root, "dt-e2e-%d-%d" % (os.getpid(), time.monotonic_ns() % 10**6))
    os.mkdir(d)
    yield d
    for _ in range(50):  # our processes in it are killed by the procs fixture teardown
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                for pid in f.read().split():
                    os.kill(int(pid), signal.SIGKILL)
            os.rmdir(d)
            break
        except OSError:
            time.sleep(0.1)


def test_capture_pyserver_cgroup_target(pyserver, start_tracer, workdir, cgroup_dir):
    """--cgroup DIR traces the processes in that cgroup v2 directory and no others."""
    go = os.path.join(workdir, "go")
    srv = pyserver(wait_file=go, wait=False)
    with open(os.path.join(cgroup_dir, "cgroup.procs"), "w") as f:
        f.write(str(srv.launcher_pid))
    open(go, "w").close()
    srv.wait_listening()
    other = pyserver(name="other")
    tr = start_tracer(["--cgroup", cgroup_dir])
    reqs = ch.pyserver_mix()[:10]
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=5))
    ch.run_pyclient(workdir, other.port, ch.conns_for(ch.pyserver_mix()[:5], True),
                    name="other")
    tr.stop_ok()
    ch.assert_spans_match(tr, recs, srv.pids, what="--cgroup " + cgroup_dir)
    stray = [(s["pid"], s["name"]) for s in tr.spans if s["pid"] != srv.pid]
    assert not stray, "spans outside the cgroup: %s\n%s" % (stray[:10], tr.diag())


def test_capture_pyserver_config_names_services(pyserver, start_tracer, workdir):
    """--config: the service whose match fits the process names its spans (service.name);
    with no target flag the config's matches are the targets."""
    srv = pyserver()
    cfg = os.path.join(workdir, "difftrace.yaml")
    with open(cfg, "w") as f:
        f.write("services:\n"
                "  - name: hello-function\n"
                "    match: {comm: dt-pyserver}\n"
                "    role: function\n"
                "    latency: 50ms\n")
    tr = start_tracer([], extra=["--config", cfg])
    reqs = [{"method": "GET", "path": "/status/200/%s" % ch.uid()} for _ in range(3)]
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True))
    tr.stop_ok()
    matched = ch.assert_spans_match(tr, recs, srv.pids)
    assert {s["service"] for s in matched.values()} == {"hello-function"}, matched


def read_chunked_response(sock, timeout=10):
    """Reads one chunked response off sock; returns its status (the connection stays open)."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n0\r\n\r\n" not in buf:
        got = sock.recv(65536)
        assert got, "server closed before the terminal chunk; got %r" % buf[-200:]
        buf += got
    return int(buf.split(b" ", 2)[1])


@pytest.mark.parametrize("chunks", [1, 5], ids=["one-chunk", "16-iovecs"])
def test_issue15_item2_writev_terminal_chunk_in_its_own_iovec(pyserver, start_tracer, workdir,
                                                                chunks):
    """A chunked body written with one writev whose last iovec is the 5-byte terminal chunk
    (after a 2-byte CRLF iovec), with 4 and with 16 iovecs: the response is complete when that
    write is, so its span is out while the keep-alive connection is still open, not at close."""
    import socket
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)])
    path = "/writev/3000/%d/%s" % (chunks, ch.uid())
    s = socket.create_connection(("127.0.0.1", srv.port))
    try:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
        assert read_chunked_response(s) == 200, "harness problem: server answered an error"
        # The assembler holds spans 1 s (assembler.wait): a span that closed with the write is
        # in the output well within 5 s; one left open waits for this connection to close.
        deadline = time.monotonic() + 5
        found = []
        while time.monotonic() < deadline and not found:
            time.sleep(0.2)
            found = [sp for sp in ch.load_spans(tr.out) if sp["path"] == path]
        assert found, ("no span for %s while its connection stayed open: the response's end "
                       "(a terminal chunk in an iovec of its own) was missed\n%s"
                       % (path, tr.diag()))
        assert found[0]["status"] == 200
    finally:
        s.close()
    tr.stop_ok()
    assert len([sp for sp in tr.spans if sp["path"] == path]) == 1


def test_issue15_item5_interim_and_final_response_in_one_write(pyserver, start_tracer, workdir):
    """The server writes "100 Continue" and the final response in one write, then serves more
    requests on the same keep-alive connection: each request is one span with its own status
    (the final response is not lost, the next requests are not absorbed into the open one)."""
    srv = pyserver()
    tr = start_tracer(["--pid", str(srv.pid)])
    reqs = [{"method": "GET", "path": "/interim/201/%s" % ch.uid()},
            {"method": "GET", "path": "/bytes/10/%s" % ch.uid()},
            {"method": "GET", "path": "/interim/503/%s" % ch.uid()},
            {"method": "GET", "path": "/status/404/%s" % ch.uid()}]
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=4))
    assert [r["status"] for r in recs] == [201, 200, 503, 404], \
        "harness problem: the client saw %s" % [r["status"] for r in recs]
    tr.stop_ok()
    ch.assert_spans_match(tr, recs, srv.pids)
