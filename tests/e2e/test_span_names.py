"""Issue 15 item 8: span names and URL attributes follow the OpenTelemetry HTTP conventions and
leak no query value. A real Python server is traced while every request carries an id in its
path and a secret `token=` in its query; `trace` exports to every exporter at once (console,
console:tree, otlp-json, otlp-http to the OTLP receiver, zipkin to a Zipkin receiver), tcpdump
records the same traffic, and `replay` of that capture exports to console, console:tree and
otlp-json. Everywhere: one span name per endpoint (`{method} {url.template}`), url.path without
the query, url.query with its values REDACTED (keys kept), url.template the endpoint's template,
and no token value in any byte difftrace wrote. With `query_values: keep` the values stay.

    /usr/bin/python3 -m pytest -q tests/e2e/test_span_names.py
"""
import json
import os
import subprocess
import uuid

import capture_helpers as ch
from capture_helpers import SERVER
from export_helpers import flatten, json_spans
from test_export_otlp_http import receiver, receiver_ready  # noqa: F401 (fixtures)
from zipkin_receiver import ZipkinReceiver

PER_ENDPOINT = 8
# endpoint -> (method, path of request i, template)
ENDPOINTS = {
    "GET /bytes/{n}/{n}": ("GET", lambda i: "/bytes/10/%d" % (1000 + i)),
    "GET /status/{n}/{id}": ("GET", lambda i: "/status/404/%s" % uuid.uuid4()),
    "POST /echo/{n}": ("POST", lambda i: "/echo/%d" % (77000 + i)),
}


def _requests():
    """Every request: an id in its path, a token (unique, secret) and a page in its query."""
    reqs = []
    for name, (method, path_of) in ENDPOINTS.items():
        for i in range(PER_ENDPOINT):
            token = "SeCrEt%s" % uuid.uuid4().hex
            path = path_of(i)
            req = {"method": method, "path": "%s?token=%s&page=%d" % (path, token, i),
                   "token": token, "endpoint": name, "bare_path": path}
            if method == "POST":
                req["body_size"] = 10
            reqs.append(req)
    return reqs


def _names(spans, pid=None):
    """span name -> count, of SERVER spans (on pid when given)."""
    out = {}
    for s in spans:
        if s["kind"] == SERVER and (pid is None or s["resource"].get("process.pid") in
                                    (pid, ("int", str(pid)))):
            out[s["name"]] = out.get(s["name"], 0) + 1
    return out


def _attr(span, key):
    v = span["attributes"].get(key)
    return v[1] if v else None


def _url_problems(where, spans, reqs, keep_values=False):
    """Each request: one SERVER span named after its endpoint, url.path without the query,
    url.query with the values redacted (or kept), url.template."""
    by_path = {}
    for s in spans:
        if s["kind"] == SERVER:
            by_path.setdefault(_attr(s, "url.path"), []).append(s)
    probs = []
    for r in reqs:
        got = by_path.get(r["bare_path"], [])
        if len(got) != 1:
            probs.append("%s: %s %s: %d spans with that url.path" % (where, r["method"],
                                                                      r["path"], len(got)))
            continue
        s = got[0]
        q = ("token=%s&page=%s" % (r["token"], r["path"].rsplit("=", 1)[1]) if keep_values
             else "token=REDACTED&page=REDACTED")
        want = {"name": r["endpoint"], "url.query": q,
                "url.template": r["endpoint"].split(" ", 1)[1]}
        have = {"name": s["name"], "url.query": _attr(s, "url.query"),
                "url.template": _attr(s, "url.template")}
        if have != want:
            probs.append("%s: %s: got %s, want %s" % (where, r["path"], have, want))
    return probs


def _leaks(paths, reqs):
    """Files that hold a token value (or the start of one: url.path is cut at 127 bytes)."""
    found = []
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        for r in reqs:
            if r["token"][:12].encode() in data or b"SeCrEt" in data:
                found.append("%s holds a token value" % p)
                break
    return found


def test_issue15_item8_span_names_and_redacted_query_in_every_exporter(
        pyserver, start_tracer, procs, workdir, receiver):  # noqa: F811
    srv = pyserver()
    dump = ch.Tcpdump(procs, workdir, srv.port)
    otlp = receiver()
    with ZipkinReceiver() as zipkin:
        tr = start_tracer(["--pid", str(srv.pid)],
                          extra=["--export", "console", "--export", "console:tree",
                                 "--export", "otlp-http:" + otlp.url,
                                 "--export", "zipkin:" + zipkin.url])
        reqs = _requests()
        recs = ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, True, per_conn=4))
        tr.stop_ok()
        zipkin_spans = [s for r in zipkin.requests for s in r.get("spans", [])]
    dump.stop()
    otlp.stop()
    assert len(recs) == len(reqs)

    # replay of the same traffic, default config and with query values kept
    keep_cfg = os.path.join(workdir, "keep.yaml")
    with open(keep_cfg, "w") as f:
        f.write("query_values: keep\n")
    replay_out, probs = {}, []
    for mode, extra in (("redact", []), ("keep", ["--config", keep_cfg])):
        out = os.path.join(workdir, "replay-%s.otlp.jsonl" % mode)
        stdout = os.path.join(workdir, "replay-%s.stdout" % mode)
        with open(stdout, "wb") as so:
            p = subprocess.run([ch.TRACER_BIN, "replay", dump.path, "--export", "console",
                                "--export", "console:tree", "--export", "otlp-json:" + out,
                                "--stats-json", out + ".stats", *extra],
                               stdout=so, stderr=subprocess.PIPE, timeout=60)
        if p.returncode != 0:
            probs.append("replay (%s) exited %d: %s" % (mode, p.returncode,
                                                          p.stderr.decode()[-500:]))
            open(out, "a").close()
        replay_out[mode] = (out, stdout)

    want_names = {name: PER_ENDPOINT for name in ENDPOINTS}
    traced = json_spans(tr.out)
    received = [s for r in otlp.requests() if r["status"] == 200 for s in flatten(r["request"])]
    replayed = json_spans(replay_out["redact"][0])
    kept = json_spans(replay_out["keep"][0])
    for where, spans in (("trace otlp-json", traced), ("trace otlp-http", received),
                         ("replay otlp-json", replayed), ("replay with keep", kept)):
        names = _names(spans)
        if names != want_names:
            probs.append("%s: SERVER span names %s, want %s" % (where, names, want_names))
        probs += _url_problems(where, spans, reqs, keep_values=where == "replay with keep")
    zipkin_names = {}
    for s in zipkin_spans:
        if s["kind"] == "SERVER":
            zipkin_names[s["name"]] = zipkin_names.get(s["name"], 0) + 1
            t = s.get("tags", {})
            if "?" in t.get("http.path", "") or t.get("url.query", "").count("REDACTED") != 2:
                probs.append("zipkin: tags %s" % t)
    if zipkin_names != want_names:
        probs.append("zipkin: SERVER span names %s, want %s" % (zipkin_names, want_names))

    # console and console:tree: the target with the redacted query, once per request each
    console = open(tr.stdout_path).read()
    for r in reqs:
        shown = "%s %s?token=REDACTED&page=REDACTED" % (r["method"], r["bare_path"])
        if console.count(shown) != 2:
            probs.append("trace console: %r appears %d times, want 2 (line and tree)"
                         % (shown, console.count(shown)))

    outputs = [tr.out, tr.stdout_path, tr.stderr_path, tr.stats_path, otlp.out,
               replay_out["redact"][0], replay_out["redact"][1],
               replay_out["redact"][0] + ".stats"]
    zipkin_dump = os.path.join(workdir, "zipkin.json")
    with open(zipkin_dump, "w") as f:
        json.dump(zipkin_spans, f)
    outputs.append(zipkin_dump)
    probs += _leaks(outputs, reqs)
    if not any(r["token"] in open(replay_out["keep"][0]).read() for r in reqs):
        probs.append("replay with query_values: keep: no token value in url.query")
    assert not probs, "%d problems:\n  %s\n%s" % (len(probs), "\n  ".join(p[:400] for p in probs[:60]), tr.diag())
