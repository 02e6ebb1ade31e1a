"""Harness tier: the rig without the tracer (see conftest.py). Needs no build/difftrace."""
import json
import os
import socket

import pytest

import capture_helpers as ch
from capture_helpers import KiB, MiB, SERVER, CLIENT


def check_against_server_log(srv, recs):
    """Client records vs the server's own request log: same requests, statuses, ports."""
    log = srv.requests()
    by_path = {}
    for e in log:
        by_path.setdefault(e["path"], []).append(e)
    probs = []
    for r in recs:
        got = by_path.get(r["path"], [])
        if len(got) != 1:
            probs.append("%s: %d server log entries" % (r["path"], len(got)))
            continue
        e = got[0]
        if (e["method"], e["status"]) != (r["method"], r["status"]):
            probs.append("%s: server %s %s, client %s %s" % (r["path"], e["method"], e["status"],
                                                            r["method"], r["status"]))
        if e["client_port"] != r["local_port"]:
            probs.append("%s: server saw client port %s, client recorded %s"
                         % (r["path"], e["client_port"], r["local_port"]))
        if r["status"] != ch.expected_status(r["path"]):
            probs.append("%s: status %s" % (r["path"], r["status"]))
        if not r["start_ns"] < e["t_ns"]:  # (the log is written after the response)
            probs.append("%s: server finished before the client sent" % r["path"])
    if len(log) != len(recs):
        probs.append("server logged %d requests, client made %d" % (len(log), len(recs)))
    assert not probs, "\n".join(probs[:30])


@pytest.mark.parametrize("keepalive", [True, False], ids=["keepalive", "close"])
def test_capture_harness_pyclient_matches_pyserver(pyserver, workdir, keepalive):
    srv = pyserver()
    reqs = ch.pyserver_mix()
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, keepalive, per_conn=5),
                           concurrency=4)
    check_against_server_log(srv, recs)
    sizes = {r["path"]: r for r in reqs}
    for r in recs:
        want = sizes[r["path"]].get("body_size")
        if want is not None:
            assert r["resp_bytes"] == want, r
        if r["path"].startswith("/bytes/"):
            assert r["resp_bytes"] == int(r["path"].split("/")[2]), r
    ports = {r["local_port"] for r in recs}
    want_conns = -(-len(reqs) // 5) if keepalive else len(reqs)
    assert len(ports) == want_conns, "expected %d connections, saw %d" % (want_conns, len(ports))


def test_capture_harness_http10_close_delimited(pyserver, workdir):
    srv = pyserver(http10=True)
    reqs = [{"method": "GET", "path": "/close/%d/%s" % (n, ch.uid())} for n in (0, 1, 70000)]
    reqs += [{"method": "GET", "path": "/bytes/%d/%s" % (n, ch.uid())} for n in (5, 100000)]
    reqs += [{"method": "GET", "path": "/status/404/%s" % ch.uid()},
             {"method": "POST", "path": "/echo/%s" % ch.uid(), "body_size": 2000}]
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=3,
                                                           mode="raw", version="1.0"))
    check_against_server_log(srv, recs)
    assert all(e["version"] == "HTTP/1.0" for e in srv.requests())
    assert len({r["local_port"] for r in recs}) == len(reqs), "HTTP/1.0 must close each time"
    assert [r["resp_bytes"] for r in recs[:3]] == [0, 1, 70000]


def test_capture_harness_split_requests(pyserver, workdir):
    srv = pyserver()
    reqs = ch.split_requests()
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=5, mode="raw"))
    check_against_server_log(srv, recs)
    for q, r in zip(reqs, recs):
        if q["method"] == "POST":
            assert r["resp_bytes"] == q["body_size"], (q, r)


@pytest.mark.parametrize("which", ["bodiless", "expect-continue", "long-path"])
def test_capture_harness_edge_requests(pyserver, workdir, which):
    srv = pyserver()
    reqs, mode = {"bodiless": (ch.bodiless_requests(), "http"),
                  "expect-continue": (ch.expect_continue_requests(), "raw"),
                  "long-path": (ch.long_path_requests(), "http")}[which]
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=len(reqs),
                                                           mode=mode))
    check_against_server_log(srv, recs)
    assert len({r["local_port"] for r in recs}) == 1, "all on one keep-alive connection"
    if which == "expect-continue":
        assert [r["resp_bytes"] for r in recs] == [5000, MiB, 10]


def test_capture_harness_200_concurrent_connections(pyserver, workdir):
    srv = pyserver()
    reqs = ch.concurrent_requests(200, 5)
    recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=5),
                           barrier=True)
    check_against_server_log(srv, recs)
    assert len({r["local_port"] for r in recs}) == 200
    assert srv.max_open_conns() >= 190, "only %d connections open at once" % srv.max_open_conns()


def test_capture_harness_nginx_curl_matches_access_log(nginx):
    ng = nginx()
    recs = ch.nginx_curl_traffic(ng)
    entries = ng.log_entries()
    probs = ch.nginx_log_problems(entries, recs)
    assert not probs, "\n".join(probs)
    assert {e["pid"] for e in entries} <= set(ng.workers)
    # the 8-URL invocation reused one connection: 7 of its transfers made no new connect
    assert sum(1 for r in recs if r["num_connects"] == 0) >= 7
    assert any(e["conn_req"] == 8 and e["uri"].startswith("/r500/") for e in entries), \
        "the 8-URL curl did not use one keep-alive connection"
    for r in recs:
        if "/static/" in r["path"]:
            assert r["status"] == 200
    sizes = {e["uri"]: int(e["bytes_sent"]) for e in entries}
    assert sizes[[r["path"] for r in recs if "1m.bin" in r["path"]][0]] > MiB


def test_capture_harness_nginx_wrk_matches_access_log(nginx, workdir):
    ng = nginx()
    completed, out = ch.run_wrk(workdir, ng.url("/"), ch.WRK_PATHS, duration=2)
    entries = ng.log_entries()
    assert completed <= len(entries), "wrk %d > log %d\n%s" % (completed, len(entries), out)
    assert completed > 1000, out
    st = ch.counts(entries, lambda e: e["status"])
    assert set(st) == {200, 404, 500}, st


def test_capture_harness_nginx_proxy_and_chunked(nginx, pyserver, workdir):
    up = pyserver(name="upstream")
    ng = nginx(upstream_port=up.port)
    paths = ["/proxy/bytes/%d/%s" % (n, ch.uid()) for n in (1, 5000, 300000)]
    paths += ["/proxy/status/404/%s" % ch.uid(), "/proxy/status/500/%s" % ch.uid(),
              "/chunked/200000/8/%s" % ch.uid()]
    recs = ch.run_curl([ng.url(p) for p in paths])
    entries = ng.log_entries()
    assert not ch.nginx_log_problems(entries, recs)
    upaths = sorted(e["path"] for e in up.requests())
    want = sorted(p[len("/proxy"):] if p.startswith("/proxy/") else p for p in paths)
    assert upaths == want
    assert all(e["upstream"] == "127.0.0.1:%d" % up.port for e in entries)
    assert [r["status"] for r in recs] == [200, 200, 200, 404, 500, 200]


def test_capture_harness_echo_server(echoserver):
    es = echoserver()
    for payload in (b"HELLO\r\n", os.urandom(3000)):
        with socket.create_connection(("127.0.0.1", es.port)) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += d
        assert got == payload


# --------------------------------------------------------------------------- comparator
def _otlp_line(spans, pid=100, service="dt-pyserver"):
    def av(v):
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        return {"stringValue": v}
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": av(service)},
                                    {"key": "process.pid", "value": av(pid)},
                                    {"key": "host.name", "value": av("h")}]},
        "scopeSpans": [{"scope": {"name": "difftrace"}, "spans": [
            dict({"traceId": os.urandom(16).hex(), "spanId": os.urandom(8).hex(),
                  "name": "%s %s" % (s["method"], s["path"]), "kind": s.get("kind", 2),
                  "startTimeUnixNano": str(s["start"]), "endTimeUnixNano": str(s["end"]),
                  "attributes": [{"key": k, "value": av(v)} for k, v in {
                      "http.request.method": s["method"], "url.path": s["path"],
                      "http.response.status_code": s["status"], "server.port": 8080,
                      "client.address": "127.0.0.1", "client.port": 40000,
                      "server.address": "127.0.0.1", "thread.id": pid,
                      "difftrace.decision": "anomalous" if s["status"] >= 500 else "full",
                      "difftrace.reason": "status" if s["status"] >= 500 else "no_filter",
                      }.items()]},
                 **({"status": {"code": 2}} if s["status"] >= 500 else {}))
            for s in spans]}]}]})


def test_capture_harness_comparator(tmp_path):
    t0 = ch.time.time_ns() - 10**9
    reqs = [{"method": "GET", "path": "/a", "status": 200, "start_ns": t0, "end_ns": t0 + 5_000_000,
             "latency_ns": 5_000_000},
            {"method": "GET", "path": "/b", "status": 500, "start_ns": t0, "end_ns": t0 + 5_000_000,
             "latency_ns": 5_000_000},
            {"method": "POST", "path": "/c", "status": 200, "start_ns": t0, "end_ns": t0 + 5_000_000,
             "latency_ns": 5_000_000}]
    good = [{"method": "GET", "path": "/a", "status": 200, "start": t0 + 10**5,
             "end": t0 + 4 * 10**6},
            {"method": "GET", "path": "/b", "status": 500, "start": t0 + 10**5,
             "end": t0 + 4 * 10**6},
            {"method": "POST", "path": "/c", "status": 200, "start": t0 + 10**5,
             "end": t0 + 4 * 10**6}]
    path = str(tmp_path / "o.jsonl")
    with open(path, "w") as f:
        f.write(_otlp_line(good[:2]) + "\n" + _otlp_line(good[2:]) + "\n")
    spans = ch.load_spans(path)
    assert len(spans) == 3 and spans[0]["pid"] == 100 and spans[1]["status_code"] == 2
    assert ch.schema_problems(spans) == []
    probs, matched = ch.match_problems(spans, reqs, {100})
    assert probs == [] and len(matched) == 3

    bad = [dict(good[0], status=404),                                   # wrong status
           dict(good[1], start=t0 - 3 * 10**6),                          # starts too early
           dict(good[2], end=t0 + 20 * 10**6),                           # too long / late
           {"method": "GET", "path": "/zzz", "status": 200, "start": t0, "end": t0 + 1}]
    with open(path, "w") as f:
        f.write(_otlp_line(bad) + "\n" + _otlp_line([good[0]]) + "\n")
    probs, _ = ch.match_problems(ch.load_spans(path), reqs, {100})
    text = "\n".join(probs)
    assert "GET /a (client status 200): expected exactly 1 SERVER span, found 2" in text
    assert "GET /b: span starts 3.000 ms before" in text
    assert "POST /c: span duration" in text and "POST /c: span ends" in text
    assert "invented span" in text and "/zzz" in text
    # a span of another kind on the server is invented too, unless allowed
    with open(path, "a") as f:
        f.write(_otlp_line([dict(good[0], path="/out", kind=3)]) + "\n")
    probs, _ = ch.match_problems(ch.load_spans(path), reqs, {100})
    assert any("invented span of kind 3" in p for p in probs)
    probs, _ = ch.match_problems(ch.load_spans(path), reqs, {100}, other_kinds_ok=True)
    assert not any("invented span of kind 3" in p for p in probs)
    # other pids and CLIENT spans are not looked at for SERVER matching
    probs, _ = ch.match_problems(ch.load_spans(path), reqs, {999})
    assert sum("found 0" in p for p in probs) == 3 and "invented" not in "\n".join(probs)

    broken = json.loads(_otlp_line([good[0]]))
    sp = broken["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    sp["traceId"] = "XYZ"
    sp["attributes"][3]["value"] = {"intValue": 8080}
    sp["attributes"][2]["value"] = {"intValue": "500"}
    with open(path, "w") as f:
        f.write(json.dumps(broken) + "\n")
    probs = "\n".join(ch.schema_problems(ch.load_spans(path)))
    assert "bad traceId" in probs and "not a string of digits" in probs
    assert "HTTP 500 but status.code 0" in probs
