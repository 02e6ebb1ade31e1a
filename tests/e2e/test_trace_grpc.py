"""`difftrace trace` of a real gRPC server (Debian's python3-grpcio, tests/e2e/tools/grpc_live.py;
and grpc-go, tests/e2e/tools/go_grpc_server, the same service) over cleartext HTTP/2: the kernel follows the frames (bpf/lib/http2.bpf.h), and user space
decodes the header blocks the reported spans carry. Every call the client made must be exactly
one SERVER span with its service, method and grpc status, failures as errors, nothing invented;
on a connection opened before the tracer started, fields indexed into HPACK entries added
before it are unresolved and counted, never guessed.

    flock /tmp/dt-live.lock /usr/bin/python3 -m pytest -q tests/e2e/test_trace_grpc.py
"""
import collections
import json
import os
import subprocess
import time

import pytest

import capture_helpers as ch

TOOL = os.path.join(ch.E2E_DIR, "tools", "grpc_live.py")
# Built by `make test` (Makefile: build/go-grpc-server).
GO_SERVER = os.path.join(ch.REPO, "build", "go-grpc-server")


def _start_server(procs, workdir, port, kind="python"):
    if kind == "go":
        assert os.access(GO_SERVER, os.X_OK), "%s missing: make build/go-grpc-server" % GO_SERVER
        cmd = [GO_SERVER, str(port)]
    else:
        cmd = ["/usr/bin/python3", TOOL, "server", str(port)]
    server = procs.spawn("grpc-server", cmd, workdir)
    ch.wait_for(lambda: ch.can_connect(port), 15, "the gRPC server to listen", proc=server)
    return server


def _start_client(procs, workdir, port, plan="all"):
    """The client, its first channel open and used once (before the tracer starts)."""
    out = open(os.path.join(workdir, "grpc-client.stdout"), "w+")
    client = subprocess.Popen(["/usr/bin/python3", TOOL, "client", str(port), plan], stdout=out,
                              stderr=open(os.path.join(workdir, "grpc-client.stderr"), "w"),
                              stdin=subprocess.PIPE, text=True, start_new_session=True)
    procs.items.append(("grpc-client", client))
    ch.wait_for(lambda: "warm" in open(out.name).read(), 30, "the client's first call",
                proc=client)
    return client, out.name


def _calls(client, out_path):
    client.stdin.write("go\n")
    client.stdin.close()
    assert client.wait(timeout=120) == 0, ch.tail(out_path)
    with open(out_path) as f:
        return [json.loads(l) for l in f.read().splitlines() if l.startswith("{")]


@pytest.mark.parametrize("kind", ["python", "go"])
def test_grpc_server_spans(procs, workdir, start_tracer, kind):
    port = ch.free_port()
    server = _start_server(procs, workdir, port, kind)
    client, out_path = _start_client(procs, workdir, port)
    tracer = start_tracer(["--pid", str(server.pid)])
    dump = ch.Tcpdump(procs, workdir, port)
    calls = _calls(client, out_path)
    tracer.stop_ok()
    pcap = dump.stop()
    channels = collections.Counter(c["channel"] for c in calls)
    assert channels == {"old": 39, "new": 39, "new-concurrent": 100}, channels

    spans = [s for s in tracer.spans if s["attrs"].get("server.port") == port]
    by_conn = collections.defaultdict(list)
    for s in spans:
        assert s["kind"] == ch.SERVER, s["raw"]
        assert s["attrs"]["network.protocol.version"] == "2"
        by_conn[s["attrs"]["client.port"]].append(s)
    # Two connections: the one open before the tracer (fields indexed into HPACK entries it
    # added before are unresolved), and the new one (all resolved).
    assert len(by_conn) == 2, ({k: len(v) for k, v in by_conn.items()}, tracer.diag())
    unresolved = {p: sum(s["attrs"].get("difftrace.hpack.unresolved_fields", 0) for s in v)
                  for p, v in by_conn.items()}
    old_port = max(unresolved, key=unresolved.get)
    new_port = min(unresolved, key=unresolved.get)
    assert unresolved[new_port] == 0 and unresolved[old_port] > 0, (unresolved, tracer.diag())

    def call_of(s):
        a = s["attrs"]
        if a.get("rpc.system") != "grpc":
            return None, None
        code = a.get("rpc.grpc.status_code")
        if code is None and a.get("difftrace.http2.reset") == "true":
            code = 1  # the client cancelled (CANCELLED): the server saw its RST_STREAM
        if code is not None:
            assert (s["status_code"] == 2) == (code != 0), s["raw"]  # ERROR: not OK
        method = "/%s/%s" % (a["rpc.service"], a["rpc.method"]) if a.get("rpc.method") else None
        return method, code

    # The new connection (100 of its calls made at once: 100 streams open together): every
    # call exactly one span with its method and status; client-streaming, bidirectional and
    # cancelled calls (RST_STREAM after the response headers) too.
    got_new = collections.Counter(call_of(s) for s in by_conn[new_port])
    want_new = collections.Counter((c["method"], c["code"]) for c in calls
                                   if c["channel"] != "old")
    assert got_new == want_new, tracer.diag()
    # The old one: one span per call; what it says is right, or missing and counted.
    old_calls = [c for c in calls if c["channel"] == "old"]
    assert len(by_conn[old_port]) == len(old_calls)
    want_old = collections.Counter((c["method"], c["code"]) for c in old_calls)
    for s in by_conn[old_port]:
        method, code = call_of(s)
        if method is None or code is None:
            assert s["attrs"].get("difftrace.hpack.unresolved_fields", 0) > 0, s["raw"]
        if method is not None and code is not None:
            assert want_old[(method, code)] > 0, s["raw"]
        if method is not None:
            assert any(c["method"] == method for c in old_calls), s["raw"]
    # Server spans nest in the calls the client timed (one clock, CLOCK_MONOTONIC).
    durations = sorted(s["dur"] for s in spans)
    client_durations = sorted(c["duration_ns"] for c in calls)
    assert all(d <= c for d, c in zip(durations, client_durations)), (durations[-5:],
                                                                       client_durations[-5:])
    stats = tracer.stats()
    assert stats["http2_io_not_followed"] == 0 and stats["http2_tail_call_failed"] == 0
    _assert_durations_match_the_wire(workdir, pcap, by_conn[new_port], new_port)


def _assert_durations_match_the_wire(workdir, pcap, live, client_port):
    """The new connection's one-at-a-time calls, as the wire saw them: `difftrace replay` of
    tcpdump's capture times each stream from its first packet to its last (the packets'
    timestamps), where the live span times it by the server's syscalls. Each live span ends
    within 1 ms of the wire's last packet (about 10 us here) and starts no earlier than the
    request's first packet; it starts when the server read the request, which a busy machine
    delays (1.4 ms once, beside a guest kernel's run): so the start is held to the wire at
    the median only. The 100 concurrent calls come last on that connection; streams open
    together are not matched one to one by start order."""
    otlp = os.path.join(workdir, "replay.json")
    proc = subprocess.run([ch.TRACER_BIN, "replay", pcap, "--export", "otlp-json:" + otlp],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    wire = sorted((s for s in ch.load_spans(otlp) if s["kind"] == ch.SERVER and
                   s["attrs"].get("client.port") == client_port), key=lambda s: s["start"])
    live = sorted(live, key=lambda s: s["start"])
    assert len(wire) == len(live), (len(wire), len(live))
    sequential = len(live) - 100
    pairs = [(s["attrs"].get("url.path"), s["start"] - w["start"], s["end"] - w["end"])
             for s, w in zip(live[:sequential], wire[:sequential])
             if s["attrs"].get("url.path") == w["attrs"].get("url.path")]
    assert len(pairs) == sequential, "calls out of order against the wire"
    ms = 1_000_000
    assert all(abs(d_end) <= ms and d_start >= -ms for _, d_start, d_end in pairs), pairs
    starts = sorted(d_start for _, d_start, _ in pairs)
    assert starts[len(starts) // 2] <= ms // 2, pairs


@pytest.mark.parametrize("kind", ["python", "go"])
def test_grpc_platform_service_filtered_in_the_kernel(procs, workdir, start_tracer, kind):
    """The gRPC server as a platform service with the filter on. On the connection opened
    after the tracer: normal RPCs stay in the kernel (at most 0.05 spans per normal RPC cross
    to user space). On both: every failed or slow RPC is reported. On the connection opened
    before it, a response whose status names HPACK entries from before cannot be judged: it is
    reported as "unresolved", never kept as normal (the kernel cannot know it was not a
    failure). A call the client cancels after the response headers (RST_STREAM) is a reset.
    Measured (python server): new connection 0 of 300 normal calls reported; old
    connection 300 of 300 reported as unresolved (grpc-core indexes "grpc-status: 0" once);
    12/12 failures, 6/6 slow calls."""
    port = ch.free_port()
    comm = "go-grpc-server" if kind == "go" else "dt-grpcserver"
    cfg = os.path.join(workdir, "difftrace.yaml")
    with open(cfg, "w") as f:
        # By its port: grpc-core does some I/O from threads it names itself (default-executor),
        # whose comm matches no service (the target, --comm, matches the process's name).
        f.write("services:\n  - name: grpc\n    match: {listen_port: %d}\n"
                "    role: platform\n    latency: 100ms\nassembler: {wait: 300ms}\n" % port)
    server = _start_server(procs, workdir, port, kind)
    client, out_path = _start_client(procs, workdir, port, plan="filter")
    tracer = start_tracer(["--comm", comm], extra=["--config", cfg], no_filter=False)
    calls = _calls(client, out_path)
    tracer.stop_ok()
    assert len(calls) == 2 * 311, len(calls)

    spans = [s for s in tracer.spans if s["attrs"].get("server.port") == port]
    assert all(s["kind"] == ch.SERVER and s["attrs"]["network.protocol.version"] == "2"
               for s in spans)
    normal = [c for c in calls if c["code"] == 0 and not c["method"].endswith("/Slow")]
    cancelled = [c for c in calls if c["code"] == 1]  # RST_STREAM after the response headers
    failed = [c for c in calls if c["code"] not in (0, 1)]
    slow = [c for c in calls if c["method"].endswith("/Slow")]
    reasons = collections.Counter(s["attrs"].get("difftrace.reason") for s in spans)
    by_conn = collections.defaultdict(list)
    for s in spans:
        by_conn[s["attrs"]["client.port"]].append(s)
    # The new connection: the kernel's shadow resolved all of its fields (user space decodes
    # the blocks of reported spans only, so its own counts say nothing here), so none of its
    # spans is "unresolved"; and its normal calls stay in the kernel.
    assert len(by_conn) == 2, (reasons, tracer.diag())
    new = [s for v in by_conn.values()
           if not any(x["attrs"].get("difftrace.reason") == "unresolved" for x in v) for s in v]
    assert new, (reasons, tracer.diag())
    new_normal = [s for s in new
                  if s["attrs"].get("difftrace.reason") not in ("status", "latency", "reset")]
    assert len(new_normal) <= 0.05 * len([c for c in normal if c["channel"] == "new"]), reasons
    # "unresolved" only where fields were: never a guess either way.
    for s in spans:
        if s["attrs"].get("difftrace.reason") == "unresolved":
            assert s["attrs"].get("difftrace.hpack.unresolved_fields", 0) > 0, s["raw"]
    # Every failure and every slow call reported: as such where its status could be read,
    # else as unresolved (then its grpc status is not in the span either).
    by_reason = collections.defaultdict(list)
    for s in spans:
        by_reason[s["attrs"].get("difftrace.reason")].append(s)
    assert all(s["status_code"] == 2 for s in by_reason["status"])
    new_failed = [c for c in failed if c["channel"] == "new"]
    assert len([s for s in new if s["attrs"].get("difftrace.reason") == "status"]) == \
        len(new_failed), (reasons, tracer.diag())
    assert len(by_reason["status"]) + len(by_reason["unresolved"]) >= len(failed), reasons
    assert len(by_reason["latency"]) == len(slow), (reasons, tracer.diag())
    # A cancelled call is a reset on either connection (judged before any status is read).
    assert len(by_reason["reset"]) == len(cancelled), (reasons, tracer.diag())
    assert all(s["attrs"].get("difftrace.http2.reset") == "true" and s["status_code"] == 2
               for s in by_reason["reset"])
    stats = tracer.stats()
    # Every stream after the tracer started went through the filter: reported, or stayed in
    # the kernel. Not kept: these calls carry no traceparent (test_trace_grpc_keep.py's do),
    # and the kernel's own ids are HTTP/1's (bpf/lib/trace_inherit.bpf.h), so a normal one is
    # dropped, counted. A stream goes missing only with an I/O the follower dropped, counted:
    # a CPU that found the connection's follower taken for longer than its bounded wait (the
    # holder's vCPU descheduled by the host, under load), and that direction's next I/O then
    # out of order (docs/http2.md). A loaded CI rehearsal saw 620 of 622, one of each.
    dropped = stats["http2_io_busy"] + stats["http2_io_out_of_order"]
    if dropped == 0:
        assert stats["spans_seen"] == len(calls), tracer.diag()
    else:
        assert len(calls) - 4 * dropped <= stats["spans_seen"] < len(calls), tracer.diag()
    assert stats["spans_seen"] == stats["spans_reported"] + stats["spans_kept"] + \
        stats["spans_dropped_no_trace_id"] + stats["ringbuf_lost"], tracer.diag()
    assert stats["reported_latency"] == len(slow)
    assert stats["http2_io_not_followed"] == 0 and stats["http2_tail_call_failed"] == 0


# A client on a connection opened after the tracer: one normal call, then one the server is
# killed in the middle of (Slow sleeps 200 ms before it answers).
_DYING_CALL_CLIENT = """
import sys
sys.path.insert(0, %r)
import grpc, grpc_calls
with grpc.insecure_channel("127.0.0.1:%d") as channel:
    print(grpc_calls.call(channel, "Unary")[1], flush=True)
    print("slow", flush=True)
    print(grpc_calls.call(channel, "Slow")[1], flush=True)
"""


def test_grpc_server_killed_mid_call_leaves_its_span(procs, workdir, start_tracer):
    """The kernel closes a killed process's sockets without a close call: at its exit, the
    streams still open on its HTTP/2 connections finish as at a close, so the call it never
    answered is a SERVER span (no status, reason reset), as an HTTP/1 request is."""
    port = ch.free_port()
    server = _start_server(procs, workdir, port)
    tracer = start_tracer(["--pid", str(server.pid)])
    client = procs.spawn("dying-call-client", ["/usr/bin/python3", "-c", _DYING_CALL_CLIENT % (
        os.path.join(ch.E2E_DIR, "tools"), port)], workdir)
    out = os.path.join(workdir, "dying-call-client.stdout")
    ch.wait_for(lambda: "slow" in open(out).read(), 30, "the client's slow call", proc=client)
    time.sleep(0.1)  # into the 200 ms the server sleeps
    server.kill()
    assert server.wait(10) == -9, "harness: the server did not die as planned"
    assert client.wait(30) == 0, ch.tail(out)
    codes = open(out).read().split()
    assert codes[0] == "0" and codes[2] != "0", codes  # Unary OK; Slow failed (UNAVAILABLE)
    tracer.stop_ok()
    by_path = collections.defaultdict(list)
    for s in tracer.spans:
        if s["attrs"].get("server.port") == port:
            by_path[s["path"]].append(s)
    assert len(by_path["/demo.Echo/Unary"]) == 1, (dict(by_path), tracer.diag())
    slow = by_path["/demo.Echo/Slow"]
    assert len(slow) == 1, (dict(by_path), tracer.diag())
    s = slow[0]
    assert s["kind"] == ch.SERVER and not s["status"], s["raw"]
    assert s["attrs"].get("difftrace.reason") == "reset" and s["status_code"] == 2, s["raw"]
