"""Capture tier, nginx (master + 2 workers, sendfile on): spans vs curl's records and vs the
access log (the ground truth), under curl and wrk; proxy_pass gives CLIENT spans. See
conftest.py."""
import os

import capture_helpers as ch
from capture_helpers import CLIENT, SERVER, TOL_NS


def test_capture_nginx_curl_static_statuses_keepalive(nginx, start_tracer):
    """Static 1 B / 1 KiB / 64 KiB / 1 MiB (sendfile), return 404/500/200: one curl per URL,
    8 URLs on one keep-alive connection, 24 URLs with --parallel."""
    ng = nginx()
    tr = start_tracer(["--comm", "nginx"])
    recs = ch.nginx_curl_traffic(ng)
    entries = ng.log_entries()
    tr.stop_ok()
    assert not ch.nginx_log_problems(entries, recs), "harness: curl vs access log"
    ch.assert_spans_match(tr, recs, ng.pids)
    probs = ch.span_log_count_problems(tr.spans, entries, ng.pids)
    assert not probs, "spans vs access log:" + ch._fmt(probs) + "\n" + tr.diag()


def test_capture_nginx_wrk_matches_access_log(nginx, start_tracer, workdir):
    """wrk -t2 -c50 -d3s over /ok, /static/1k.bin, /r404, /r500: nginx SERVER spans equal the
    access log exactly, per (method, path, status); wrk's completed count <= spans."""
    ng = nginx()
    tr = start_tracer(["--comm", "nginx"])
    completed, wrk_out = ch.run_wrk(workdir, ng.url("/"), ch.WRK_PATHS, threads=2, conns=50,
                                    duration=3)
    entries = ng.log_entries()
    tr.stop_ok()
    spans = [s for s in tr.spans if s["kind"] == SERVER and s["pid"] in ng.pids]
    st = tr.stats_text()
    assert completed <= len(entries), "harness: wrk completed more than nginx logged"
    probs = ch.span_log_count_problems(tr.spans, entries, ng.pids)
    if completed > len(spans):
        probs.append("wrk completed %d requests > %d SERVER spans" % (completed, len(spans)))
    too_long = [s for s in spans if s["dur"] > 3 * 10**9]
    if too_long:
        probs.append("%d spans longer than the whole wrk run" % len(too_long))
    try:
        os.remove(tr.out)  # can be 100 MB; keep the rest of the artifacts
    except OSError:
        pass
    assert not probs, ("access log %d lines, %d SERVER spans, wrk completed %d;%s\nstats: %s\n%s"
                       % (len(entries), len(spans), completed, ch._fmt(probs), st, wrk_out))


def test_capture_nginx_proxy_client_spans(nginx, pyserver, start_tracer):
    """proxy_pass to a keep-alive upstream (pyserver, traced too): nginx SERVER span per
    request, nginx CLIENT span per proxied request (upstream path, status, server.port = the
    upstream's port, inside its SERVER span), upstream SERVER span per upstream request;
    the /chunked/ location streams the upstream's chunked body (proxy_buffering off)."""
    up = pyserver(name="upstream")
    ng = nginx(upstream_port=up.port)
    tr = start_tracer(["--comm", "nginx", "--pid", str(up.pid)])
    paths = ["/proxy/bytes/%d/%s" % (n, ch.uid()) for n in (0, 1, 5000, 300000, ch.MiB)]
    paths += ["/proxy/status/404/%s" % ch.uid(), "/proxy/status/500/%s" % ch.uid(),
              "/proxy/sleep/20/%s" % ch.uid(), "/proxy/split/3000/3/%s" % ch.uid(),
              "/chunked/200000/8/%s" % ch.uid(), "/chunked/10/1/%s" % ch.uid()]
    recs = []
    for p in paths[:4]:                      # one connection each
        recs += ch.run_curl([ng.url(p)])
    recs += ch.run_curl([ng.url(p) for p in paths[4:]])   # one keep-alive connection
    entries = ng.log_entries()
    tr.stop_ok()
    assert not ch.nginx_log_problems(entries, recs), "harness: curl vs access log"

    server = ch.assert_spans_match(tr, recs, ng.pids, what="nginx SERVER spans",
                                   other_kinds_ok=True)
    upstream_reqs = [dict(r, path=r["path"][len("/proxy"):] if r["path"].startswith("/proxy/")
                          else r["path"]) for r in recs]
    client = ch.assert_spans_match(tr, upstream_reqs, ng.pids, kind=CLIENT,
                                   what="nginx CLIENT spans to the upstream",
                                   other_kinds_ok=True)
    probs = []
    for r, u in zip(recs, upstream_reqs):
        c, s = client[u["path"]], server[r["path"]]
        if c["attrs"].get("server.port") != up.port:
            probs.append("%s: CLIENT server.port %r, want %d" % (u["path"],
                                                                 c["attrs"].get("server.port"),
                                                                 up.port))
        if c["start"] < s["start"] - TOL_NS or c["end"] > s["end"] + TOL_NS:
            probs.append("%s: CLIENT span [%d, %d] not inside its SERVER span [%d, %d]"
                         % (u["path"], c["start"], c["end"], s["start"], s["end"]))
    assert not probs, "\n".join(probs) + "\n" + tr.diag()
    up_log = [{"method": e["method"], "path": e["path"], "status": e["status"]}
              for e in up.requests()]
    ch.assert_spans_match(tr, up_log, up.pids, timing=False, what="upstream SERVER spans")


def test_capture_nginx_pid_master_covers_workers(nginx, start_tracer):
    """--pid <master> alone: the workers (forked by the master before the tracer started)
    are traced, the spans carry the workers' pids."""
    ng = nginx()
    tr = start_tracer(["--pid", str(ng.master)])
    recs = ch.run_curl([ng.url("/ok/%s" % ch.uid()) for _ in range(5)])
    recs += ch.run_curl([ng.url("/r404/%s" % ch.uid())])
    tr.stop_ok()
    ch.assert_spans_match(tr, recs, set(ng.workers), what="--pid master")


def test_capture_nginx_otlp_attributes(nginx, start_tracer):
    """Shape and attributes of nginx spans: service.name nginx, process.pid a worker,
    server.port, client.port = the access log's $remote_port, ERROR status for 500."""
    ng = nginx()
    tr = start_tracer(["--comm", "nginx"])
    paths = ["/ok/%s" % ch.uid(), "/r404/%s" % ch.uid(), "/r500/%s" % ch.uid(),
             "/static/64k.bin?%s" % ch.uid()]
    recs = ch.run_curl([ng.url(p) for p in paths])
    entries = ng.log_entries()
    tr.stop_ok()
    matched = ch.assert_spans_match(tr, recs, ng.pids, timing=False)
    ours = [s for s in tr.spans if s["pid"] in ng.pids]
    probs = ch.schema_problems(ours)
    log = {e["uri"]: e for e in entries}
    for p in paths:
        s, a, e = matched[p], matched[p]["attrs"], log[p]
        want = {"server.port": ng.port, "client.port": int(e["remote_port"]),
                "client.address": "127.0.0.1", "server.address": "127.0.0.1"}
        for k, v in want.items():
            if a.get(k) != v:
                probs.append("%s: %s = %r, want %r" % (p, k, a.get(k), v))
        if s["service"] != "nginx":
            probs.append("%s: service.name %r, want 'nginx'" % (p, s["service"]))
        if s["pid"] != e["pid"]:
            probs.append("%s: process.pid %r, access log says worker %d" % (p, s["pid"],
                                                                           e["pid"]))
        if a.get("thread.id") != e["pid"]:
            probs.append("%s: thread.id %r, want %d (nginx workers are single-threaded)"
                         % (p, a.get("thread.id"), e["pid"]))
    assert not probs, "\n".join(probs[:40]) + "\n" + tr.diag()
