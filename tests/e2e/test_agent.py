"""`difftrace agent` on a real server (tests/e2e/servers/pyserver.py): a real Prometheus
scrapes its /metrics and is queried through its HTTP API; /healthz and /readyz answer; a
SIGHUP with a changed static threshold changes which spans are reported from the next span on,
with no probe detached (the same BPF link ids) and no kept span lost; a broken config is
refused, the old one stays in force and /readyz says why; a ConfigMap-style symlink swap of
the config file is picked up without a signal, with a target the new config adds (and
the next one removes)."""
import os
import signal

import agent_helpers as ah
import capture_helpers as ch

SERVER = ch.SERVER


def config_text(out, latency_ms, extra=""):
    return ("services:\n"
            "  - name: py\n"
            "    match: {comm: dt-pyserver}\n"
            "    role: platform\n"
            "    latency: %s\n"
            "profiler: {interval: 500ms, window: 30s}\n"
            "assembler: {wait: 300ms}\n"
            "export: [{otlp-json: %s}]\n%s" % (latency_ms, out, extra))


def traced(path, tid=None):
    tid = tid or os.urandom(16).hex()
    return {"method": "GET", "path": path,
            "headers": {"traceparent": "00-%s-%s-01" % (tid, os.urandom(8).hex())}}, tid


def send(workdir, srv, reqs, name):
    ch.run_pyclient(workdir, srv.port, ch.conns_for(reqs, per_conn=len(reqs)), name=name)


def by_path(spans):
    return {s["path"]: s for s in spans if s["kind"] == SERVER}


def start_agent(procs, workdir, config):
    return ah.Agent(procs, workdir, config).start()


def test_prometheus_scrapes_the_agent(difftrace_bin, procs, workdir, pyserver):
    srv = pyserver()
    cfg = os.path.join(workdir, "agent.yaml")
    with open(cfg, "w") as f:
        f.write(config_text(os.path.join(workdir, "agent.otlp.jsonl"), "100ms"))
    agent = start_agent(procs, workdir, cfg)
    assert agent.get("/healthz") == (200, "ok\n")
    assert agent.get("/readyz") == (200, "ready\n"), agent.diag()

    reqs = [traced("/bytes/10/p-%d" % i)[0] for i in range(20)]
    reqs.append(traced("/status/500/p-bad")[0])
    send(workdir, srv, reqs, "load")
    prom = ah.Prometheus(procs, workdir, agent.port)
    prom.wait_query('up{job="difftrace"} == 1')
    got = prom.wait_query("difftrace_spans_seen_total >= %d" % len(reqs))
    assert got[0][1] >= len(reqs)
    prom.wait_query('difftrace_spans_reported_total{reason="status"} >= 1')
    prom.wait_query('difftrace_spans_kept_total >= 1')
    # The profiler's per-service count: the normal spans, which went into its histograms.
    prom.wait_query('difftrace_service_spans_seen_total{service="py"} >= %d' % (len(reqs) - 1))
    prom.wait_query("difftrace_process_resident_memory_bytes > 1e6")
    prom.wait_query("difftrace_process_cpu_seconds_total > 0")
    prom.wait_query("difftrace_bpf_probes_attached > 0")
    prom.wait_query("difftrace_bpf_program_verified_insns > 0")
    prom.wait_query('difftrace_config_reloads_total{result="failed"} == 0')
    prom.wait_query('difftrace_exporter_spans_exported_total{exporter="otlp-json"} >= 1')
    # Prometheus took every sample: nothing in the page was out of its format.
    assert prom.wait_query('scrape_samples_scraped{job="difftrace"} > 40')
    agent.stop_ok(signal.SIGTERM)


def test_sighup_applies_a_threshold_without_detaching_and_refuses_a_broken_config(
        difftrace_bin, procs, workdir, pyserver):
    srv = pyserver()
    out = os.path.join(workdir, "agent.otlp.jsonl")
    cfg = os.path.join(workdir, "agent.yaml")
    with open(cfg, "w") as f:
        f.write(config_text(out, "500ms"))
    agent = start_agent(procs, workdir, cfg)
    links = agent.link_ids()
    assert links, "no BPF link in /proc/%d/fdinfo\n%s" % (agent.pid, agent.diag())

    # 150 ms is normal under 500 ms: kept in the kernel, not reported. One of them belongs to
    # a trace that is flagged only after the reload.
    kept, tid = traced("/sleep/150/kept-before")
    before = [traced("/sleep/150/before-%d" % i)[0] for i in range(3)] + [kept]
    send(workdir, srv, before, "before")

    with open(cfg, "w") as f:
        f.write(config_text(out, "100ms"))
    agent.proc.send_signal(signal.SIGHUP)
    agent.wait_metric("difftrace_config_reloads_total", 1, result="ok")
    after = [traced("/sleep/150/after-%d" % i)[0] for i in range(3)]
    send(workdir, srv, after + [traced("/status/500/flag", tid)[0]], "after")

    # A broken config: refused with FILE:LINE, the 100 ms threshold stays in force.
    with open(cfg, "w") as f:
        f.write(config_text(out, "fast"))
    agent.proc.send_signal(signal.SIGHUP)
    agent.wait_metric("difftrace_config_reloads_total", 1, result="failed")
    status, why = agent.get("/readyz")
    assert status == 503 and "%s:5:" % cfg in why and "previous config" in why, (status, why)
    assert agent.metric("difftrace_config_last_reload_successful") == 0
    send(workdir, srv, [traced("/sleep/150/while-refused")[0]], "refused")
    assert agent.link_ids() == links, "a reload detached or re-attached a probe"

    with open(cfg, "w") as f:  # fixed: ready again
        f.write(config_text(out, "100ms", "query_values: redact\n"))
    agent.proc.send_signal(signal.SIGHUP)
    agent.wait_metric("difftrace_config_reloads_total", 2, result="ok")
    assert agent.get("/readyz") == (200, "ready\n")
    agent.stop_ok(signal.SIGTERM)

    got = by_path(agent.spans)
    for r in before[:3]:
        assert r["path"] not in got, "normal span reported before the reload: %s" % r["path"]
    for r in after + [{"path": "/sleep/150/while-refused"}]:
        s = got.get(r["path"])
        assert s and s["attrs"]["difftrace.decision"] == "anomalous" and \
            s["attrs"]["difftrace.reason"] == "latency" and \
            int(s["attrs"]["difftrace.threshold_ns"]) == 100_000_000, (r["path"], s)
    # The span kept before the reload came back when its trace was flagged after it.
    s = got.get("/sleep/150/kept-before")
    assert s and s["attrs"]["difftrace.decision"] == "kept" and s["trace_id"] == tid, \
        (s, agent.diag())
    assert "/status/500/flag" in got
    assert agent.stats()["spans_recovered_exact"] == 1, agent.diag()
    assert "config reload refused" in agent.stderr()


OTHER_SERVICE = ("  - name: other\n"
                 "    match: {comm: dt-other}\n"
                 "    role: function\n")


def test_configmap_symlink_swap_is_picked_up_with_a_new_target(difftrace_bin, procs, workdir,
                                                              pyserver):
    srv = pyserver()
    other = pyserver(name="other", comm="dt-other")  # no service matches it yet: not traced
    out = os.path.join(workdir, "agent.otlp.jsonl")
    cm = ah.ConfigMapDir(os.path.join(workdir, "configmap"), "agent.yaml",
                         config_text(out, "500ms"))
    agent = start_agent(procs, workdir, cm.path)
    send(workdir, srv, [traced("/sleep/150/old")[0]], "old")
    send(workdir, other, [traced("/bytes/10/other-old")[0]], "other-old")
    # No signal: the kubelet's atomic swap of ..data alone. The new config lowers the
    # threshold and adds a service whose comm is a new target.
    cm.update(config_text(out, "100ms").replace("profiler:", OTHER_SERVICE + "profiler:", 1))
    agent.wait_metric("difftrace_config_reloads_total", 1, result="ok")
    send(workdir, srv, [traced("/sleep/150/new")[0]], "new")
    send(workdir, other, [traced("/bytes/10/other-new")[0]], "other-new")
    cm.update(config_text(out, "100ms"))  # the service, and its target, gone again
    agent.wait_metric("difftrace_config_reloads_total", 2, result="ok")
    send(workdir, other, [traced("/bytes/10/other-gone")[0]], "other-gone")
    agent.stop_ok(signal.SIGTERM)
    got = by_path(agent.spans)
    assert "/sleep/150/old" not in got and "/bytes/10/other-old" not in got
    assert "/bytes/10/other-gone" not in got, got["/bytes/10/other-gone"]
    assert got.get("/sleep/150/new", {}).get("attrs", {}).get("difftrace.reason") == "latency", \
        agent.diag()
    s = got.get("/bytes/10/other-new")
    assert s and s["service"] == "other" and s["pid"] == other.pid, (s, agent.diag())


def test_bad_input_is_refused_before_anything_runs(outdir):
    """No privileges needed to be told: a bad config (FILE:LINE), a bad --listen, no --config."""
    bad = os.path.join(outdir, "bad.yaml")
    with open(bad, "w") as f:
        f.write(config_text(os.path.join(outdir, "x.jsonl"), "fast"))
    p = ch.run_unprivileged("agent", "--config", bad)
    assert p.returncode == 2 and "%s:5: " % bad in p.stderr, (p.returncode, p.stderr)
    good = os.path.join(outdir, "good.yaml")
    with open(good, "w") as f:
        f.write(config_text(os.path.join(outdir, "x.jsonl"), "100ms"))
    p = ch.run_unprivileged("agent", "--config", good, "--listen", "9464")
    assert p.returncode == 2 and "--listen 9464" in p.stderr, (p.returncode, p.stderr)
    p = ch.run_unprivileged("agent")
    assert p.returncode == 2 and "--config" in p.stderr, (p.returncode, p.stderr)
