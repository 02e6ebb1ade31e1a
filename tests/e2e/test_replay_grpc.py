"""`difftrace replay` over a capture of real gRPC traffic: Debian's python3-grpcio server and
client (tests/e2e/tools/grpc_calls.py) on loopback, captured by tcpdump, replayed unprivileged.
Every call the client made must be exactly one SERVER span with its service, method and grpc
status, failures (trailers-only responses) as errors, and nothing invented. grpc-core indexes
headers into HPACK's dynamic table and Huffman-codes them, so this also runs the decoder on
what a real encoder writes.

    flock /tmp/dt-live.lock /usr/bin/python3 -m pytest -q tests/e2e/test_replay_grpc.py
"""
import collections
import json
import os
import subprocess

import capture_helpers as ch

TOOL = os.path.join(ch.E2E_DIR, "tools", "grpc_calls.py")


def _capture_calls(procs, outdir):
    port = ch.free_port()
    dump = ch.Tcpdump(procs, outdir, port, name="grpc")
    calls = subprocess.run(["/usr/bin/python3", TOOL, str(port)], capture_output=True,
                           text=True, timeout=60, check=True)
    return dump.stop(), port, [json.loads(l) for l in calls.stdout.splitlines() if l.strip()]


def test_grpc_calls_are_spans(procs, outdir):
    pcap, port, calls = _capture_calls(procs, outdir)
    assert len(calls) == 30
    otlp = os.path.join(outdir, "spans.json")
    stats = os.path.join(outdir, "stats.json")
    proc = ch.run_unprivileged("replay", pcap, "--export", "otlp-json:" + otlp,
                               "--stats-json", stats)
    assert proc.returncode == 0, proc.stderr
    spans = ch.load_spans(otlp)
    got = collections.Counter()
    for s in spans:
        a = s["attrs"]
        assert a["network.protocol.version"] == "2"
        assert a["rpc.system"] == "grpc"
        assert a["server.port"] == port
        assert a["http.response.status_code"] == 200
        assert s["kind"] == ch.SERVER
        code = a["rpc.grpc.status_code"]
        assert (s["status_code"] == 2) == (code != 0), s["raw"]  # ERROR: grpc status not OK
        got[(a["url.path"], a["rpc.service"] + "/" + a["rpc.method"], code)] += 1
    want = collections.Counter((c["method"], c["method"][1:], c["code"]) for c in calls)
    assert got == want
    with open(stats) as f:
        counters = json.load(f)
    assert counters["http2_connections"] == 1
    assert counters["http2_fields_unresolved"] == 0  # the capture saw the connection open
    assert counters["http2_blocks_malformed"] == 0
    assert counters["exchanges_unfinished"] == 0
