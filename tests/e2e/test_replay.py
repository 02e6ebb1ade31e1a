"""`difftrace replay` as users run it: the built binary, as an unprivileged user (nobody, through
setpriv when the tests run as root), over every capture in tests/fixtures/pcap. Its spans, put
through tests/fixtures/replay/spans_from_otlp.py, must equal the checked-in expected files
exactly; HTTP/2 (gRPC) spans carry the OTel RPC attributes; bad files one stderr line and exit 2.

    /usr/bin/python3 -m pytest -q tests/e2e/test_replay.py
"""
import glob
import importlib.util
import json
import os
import struct

import pytest

import capture_helpers as ch

PCAPS = os.path.join(ch.REPO, "tests", "fixtures", "pcap")
EXPECTED = os.path.join(ch.REPO, "tests", "fixtures", "replay")

_spec = importlib.util.spec_from_file_location(
    "spans_from_otlp", os.path.join(EXPECTED, "spans_from_otlp.py"))
spans_from_otlp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(spans_from_otlp)


def _captures():
    found = glob.glob(os.path.join(PCAPS, "**", "*.pcap"), recursive=True)
    return sorted(os.path.relpath(p, PCAPS) for p in found)


def replay(*args):
    """Runs `difftrace replay ARGS` without privileges; returns the CompletedProcess."""
    return ch.run_unprivileged("replay", *args)


def _stderr_lines(proc):
    return [l for l in proc.stderr.splitlines() if l.strip()]


@pytest.mark.parametrize("capture", _captures())
def test_replay_gives_the_expected_spans(capture, outdir):
    otlp = os.path.join(outdir, "spans.json")
    stats = os.path.join(outdir, "stats.json")
    # query values kept: the expected targets are the captured ones
    proc = replay(os.path.join(PCAPS, capture), "--config",
                  os.path.join(EXPECTED, "keep_query_values.yaml"), "--export",
                  "otlp-json:" + otlp, "--stats-json", stats)
    assert proc.returncode == 0, proc.stderr
    with open(otlp) as f:
        got = spans_from_otlp.dump(spans_from_otlp.spans(f))
    with open(os.path.join(EXPECTED, os.path.splitext(capture)[0] + ".spans.jsonl")) as f:
        want = f.read()
    assert got == want, "%s\nexpected:\n%sreplayed:\n%s" % (capture, want, got)
    with open(stats) as f:
        counters = json.load(f)
    assert counters["spans_seen"] == want.count("\n")
    assert counters["spans_exported"] == counters["spans_seen"]


@pytest.mark.parametrize("capture,service,method", [
    ("deepflow/grpc-service-name.pcap", "StreamingService", "ClientStreamRPC"),
    ("deepflow/h2c_ascii.pcap", "hipstershop.CartService", "GetCart")])
def test_grpc_spans_carry_rpc_attributes(capture, service, method, outdir):
    otlp = os.path.join(outdir, "spans.json")
    stats = os.path.join(outdir, "stats.json")
    proc = replay(os.path.join(PCAPS, capture), "--export", "otlp-json:" + otlp,
                  "--stats-json", stats)
    assert proc.returncode == 0, proc.stderr
    with open(stats) as f:
        counters = json.load(f)
    assert counters["http2_connections"] == 1
    assert counters["spans_seen"] == 1
    with open(otlp) as f:
        spans = [s for line in f for rs in json.loads(line)["resourceSpans"]
                 for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert len(spans) == 1
    attrs = {a["key"]: list(a["value"].values())[0] for a in spans[0]["attributes"]}
    assert attrs["network.protocol.name"] == "http"
    assert attrs["network.protocol.version"] == "2"
    assert attrs["http.request.method"] == "POST"
    assert attrs["url.path"] == "/%s/%s" % (service, method)
    assert str(attrs["http.response.status_code"]) == "200"
    assert attrs["rpc.system"] == "grpc"
    assert attrs["rpc.service"] == service
    assert attrs["rpc.method"] == method
    assert str(attrs["rpc.grpc.status_code"]) == "0"
    assert spans[0]["status"] == {}
    assert "1 of them HTTP/2 or gRPC" in proc.stderr


def test_port_and_host_select_connections(outdir):
    keepalive = os.path.join(PCAPS, "lo_http11_keepalive.pcap")
    assert replay(keepalive, "--port", "18481", "--host", "127.0.0.1").stdout.count("SERVER") == 2
    assert replay(keepalive, "--port", "80").stdout == ""
    assert replay(keepalive, "--host", "::1").stdout == ""


def _truncated(outdir, name, size):
    path = os.path.join(outdir, name)
    with open(os.path.join(PCAPS, "lo_http11_keepalive.pcap"), "rb") as f:
        data = f.read(size)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_truncated_capture_keeps_what_was_read(outdir):
    # 1500 bytes: the first exchange whole, the file cut inside the second one's records.
    proc = replay(_truncated(outdir, "cut.pcap", 1500))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("SERVER") == 1
    lines = _stderr_lines(proc)
    assert "warning" in lines[0] and "truncated" in lines[0], lines


@pytest.mark.parametrize("what", ["missing", "truncated-before-any-span", "garbage",
                                  "unknown-link-type", "bad-host"])
def test_bad_input_is_one_line_and_exit_2(what, outdir):
    args = []
    if what == "missing":
        args = [os.path.join(outdir, "nothing-here.pcap")]
    elif what == "truncated-before-any-span":
        args = [_truncated(outdir, "cut.pcap", 700)]
    elif what == "garbage":
        path = os.path.join(outdir, "garbage.pcap")
        with open(path, "wb") as f:
            f.write(os.urandom(4096))
        args = [path]
    elif what == "unknown-link-type":
        path = os.path.join(outdir, "user0.pcap")
        with open(path, "wb") as f:  # a pcap header with link type 147 (USER0), no records
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 147))
        args = [path]
    elif what == "bad-host":
        args = [os.path.join(PCAPS, "lo_http11_keepalive.pcap"), "--host", "localhost"]
    proc = replay(*args)
    lines = _stderr_lines(proc)
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "error" in lines[0], lines
    assert proc.stdout == ""


def _decisions(otlp_path):
    out = []
    with open(otlp_path) as f:
        for line in f:
            for rs in json.loads(line)["resourceSpans"]:
                svc = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
                for ss in rs["scopeSpans"]:
                    for s in ss["spans"]:
                        a = {x["key"]: list(x["value"].values())[0] for x in s["attributes"]}
                        out.append((svc["service.name"]["stringValue"], a["url.path"],
                                    a.get("difftrace.decision"), a.get("difftrace.reason")))
    return sorted(out)


def test_replay_runs_the_filter_with_a_config(outdir):
    """The same filter as trace, services by listen port: a platform server with a 1 s
    threshold reports its 500 only; the other spans had no trace id to keep them by, and are
    counted. --no-filter reports all, and still names the 500."""
    cfg = os.path.join(outdir, "cfg.yaml")
    with open(cfg, "w") as f:
        f.write("services:\n  - name: static-server\n    match: {listen_port: 18483}\n"
                "    role: platform\n    latency: 1s\n")
    cap = os.path.join(PCAPS, "lo_statuses_chunked_large.pcap")
    for mode, extra in (("filter", []), ("full", ["--no-filter"])):
        otlp = os.path.join(outdir, mode + ".json")
        stats = os.path.join(outdir, mode + ".stats.json")
        p = replay(cap, "--config", cfg, "--export", "otlp-json:" + otlp, "--stats-json", stats,
                   *extra)
        assert p.returncode == 0, p.stderr
        got = _decisions(otlp)
        with open(stats) as f:
            st = json.load(f)
        if mode == "filter":
            assert got == [("static-server", "/status/500", "anomalous", "status")], got
            assert st["spans_seen"] == 5 and st["spans_reported"] == 1
            assert st["spans_dropped_no_trace_id"] == 4 and st["reported_status"] == 1
        else:
            assert len(got) == 5 and all(g[0] == "static-server" for g in got), got
            assert ("static-server", "/status/500", "anomalous", "status") in got
            assert sum(g[2] == "full" for g in got) == 4
            assert st["spans_reported"] == 5 and st["spans_kept"] == 0
