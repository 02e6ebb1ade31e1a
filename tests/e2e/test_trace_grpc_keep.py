"""A filtered two-hop gRPC chain whose client sends W3C traceparent (issue 17): the kernel reads
the traceparent of each HTTP/2 request (raw or Huffman-coded, bpf/lib/http2.bpf.h and
include/protocols/http2/hpack_shadow.h), so a normal stream is kept in the keep-buffer under its
trace id, and a trace flagged by an anomaly at the back pulls back the kept spans of the hop in
front of it, as HTTP/1's do (test_linking.py, assert_slow_requests_whole).

The front (tests/e2e/tools/grpc_chain.py) answers at once and invokes the back asynchronously
with the same trace id, so its SERVER span is over and kept before the back's call turns slow or
fails. Both are platform services with the filter on. The back's Slow method has a latency
threshold of its own: the kernel reads each request's :path, so its endpoint key (and so its
threshold) is per gRPC method, and a pulled-back span has its rpc.service and rpc.method.

    flock /tmp/dt-live.lock /usr/bin/python3 -m pytest -q tests/e2e/test_trace_grpc_keep.py
"""
import collections
import json
import os
import subprocess

import capture_helpers as ch

TOOL = os.path.join(ch.E2E_DIR, "tools", "grpc_chain.py")


def _serve(procs, workdir, name, args, port):
    proc = procs.spawn(name, ["/usr/bin/python3", TOOL, *args], workdir)
    ch.wait_for(lambda: ch.can_connect(port), 15, "the %s to listen" % name, proc=proc)
    return proc


def test_flagged_grpc_trace_pulls_back_the_front_hop(procs, workdir, start_tracer):
    back_port, front_port = ch.free_port(), ch.free_port()
    cfg = os.path.join(workdir, "difftrace.yaml")
    with open(cfg, "w") as f:
        # by listen port, not comm: grpc-core moves some I/O to threads it names itself
        # (default-executor), whose comm would match no service
        f.write("services:\n"
                "  - {name: front, match: {listen_port: %d}, role: platform, latency: 100ms}\n"
                "  - {name: back, match: {listen_port: %d}, role: platform, latency: 100ms,\n"
                "     endpoints: {\"POST /demo.Echo/Slow\": {latency: 150ms}}}\n"
                "assembler: {wait: 300ms}\n" % (front_port, back_port))
    _serve(procs, workdir, "grpc-back", ["back", str(back_port)], back_port)
    _serve(procs, workdir, "grpc-front", ["front", str(front_port), str(back_port)], front_port)
    tracer = start_tracer(["--comm", "dt-grpcfront", "--comm", "dt-grpcback"],
                          extra=["--config", cfg], no_filter=False)
    out = os.path.join(workdir, "grpc-client.stdout")
    with open(out, "w") as f:
        client = subprocess.run(["/usr/bin/python3", TOOL, "client", str(front_port)], stdout=f,
                                stderr=subprocess.STDOUT, timeout=120)
    assert client.returncode == 0, ch.tail(out)
    tracer.stop_ok()
    with open(out) as f:
        calls = [json.loads(l) for l in f.read().splitlines() if l.startswith("{")]
    normal = [c for c in calls if c["back"] == "Unary"]
    flagged = [c for c in calls if c["back"] != "Unary"]
    assert len(normal) == 200 and len(flagged) == 8

    spans = tracer.spans
    by_trace = collections.defaultdict(list)
    for s in spans:
        by_trace[s["trace_id"]].append(s)
    def brief(s):
        return (s["service"], s["kind"], s["attrs"].get("difftrace.decision"),
                s["attrs"].get("difftrace.reason"))

    summary = "%s\n%s" % (collections.Counter(brief(s) for s in spans), tracer.diag())
    flagged_traces = "\n".join("%s: %s" % (c["back"], [brief(s) for s in by_trace[c["trace_id"]]])
                                for c in flagged)
    # Normal calls cross nothing: their three streams (front SERVER, its CLIENT call to the
    # back, the back's SERVER) stay in the kernel, kept under the client's trace id.
    crossed = sum(len(by_trace[c["trace_id"]]) for c in normal)
    assert crossed <= 0.05 * len(normal), summary
    stats = tracer.stats()
    assert stats["spans_seen"] == stats["spans_reported"] + stats["spans_kept"] + \
        stats["spans_dropped_no_trace_id"] + stats["ringbuf_lost"], summary
    assert stats["http2_traceparent_unread"] == 0, summary
    # every request's :path read in the kernel (all connections opened after the tracer), and
    # where a span crossed, the same as libnghttp2's decoding of its block
    assert stats["http2_path_unresolved"] == 0, summary
    assert stats["http2_kernel_path_agreed"] >= len(flagged), summary
    assert stats["http2_kernel_path_differed"] == 0, summary
    # every normal stream had a trace id to be kept by (HTTP/2 before issue 17's change: none;
    # with it but without gathering a HEADERS frame cut across reads, about half: grpc-core's
    # server reads in parts and, after some 60 calls, cuts a request's HEADERS)
    assert stats["spans_dropped_no_trace_id"] == 0, summary
    assert stats["spans_kept"] >= 3 * len(normal), summary
    # Every flagged call: the back's span is the anomaly, and the front's SERVER span, over
    # and kept before it, is pulled back from the keep-buffer, whole: HTTP/2, its parent the
    # client's span id.
    for c in flagged:
        t = by_trace[c["trace_id"]]
        want = "latency" if c["back"] == "Slow" else "status"
        back = [s for s in t if s["service"] == "back" and s["kind"] == ch.SERVER]
        assert [(s["attrs"].get("difftrace.decision"), s["attrs"].get("difftrace.reason"))
                for s in back] == [("anomalous", want)], flagged_traces + "\n" + summary
        # judged in the kernel against its method's threshold: Slow's own, Down's the service's
        want_ns = 150_000_000 if c["back"] == "Slow" else 100_000_000
        assert back[0]["attrs"].get("difftrace.threshold_ns") == want_ns, back
        assert back[0]["attrs"].get("rpc.method") == c["back"], back
        front = [s for s in t if s["service"] == "front" and s["kind"] == ch.SERVER]
        assert len(front) == 1, flagged_traces + "\n" + summary
        assert front[0]["attrs"].get("difftrace.decision") == "kept", flagged_traces
        assert front[0]["attrs"]["network.protocol.version"] == "2", front
        assert front[0]["parent_span_id"], front
        # its :path as the kernel read it, kept with it: url.path and the gRPC call
        assert front[0]["attrs"].get("url.path") == "/demo.Front/Call", front
        assert front[0]["attrs"].get("rpc.service") == "demo.Front", front
        assert front[0]["attrs"].get("rpc.method") == "Call", front
    assert stats["spans_recovered_exact"] >= len(flagged), summary
