"""`difftrace analyze --format html` as people look at it: the built binary (unprivileged) writes
the page for generated OTLP JSON (three routes over two minutes, three traces much longer than
the rest, one of them anomalous), and a real headless Chromium (Debian's `chromium`) renders it.
Checks on the DOM after the page's script ran (--dump-dom): a stacked bar per route with the
categories the input has, an interval chart per route whose columns are the JSON report's
intervals, a waterfall for each of the longest traces with every span, the critical path and
the culprit marked. On the screenshot (--screenshot): a PNG of the window's size whose pixels
have the charts' colours. And the file fetches nothing: no URL in any src or href, no external
script, style or frame.

    /usr/bin/python3 -m pytest -q tests/e2e/test_analyze_html.py
"""
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest

import capture_helpers as ch

BASE_NS = 1_800_000_000_000_000_000
MS = 1_000_000
ROUTES = (("ingress", "GET /a", "fn-a"), ("ingress", "GET /b", "fn-b"), ("ingress", "POST /c", "fn-c"))
LONG = {7: 500, 20: 400, 33: 300}  # trace number: its duration in ms (the rest: 10 to 16 ms)
CULPRIT_TRACE = 7  # the longest, anomalous: its function is slow
CONFIG = """services:
  - {name: ingress, match: {comm: ingress}, role: platform}
  - {name: fn-a, match: {comm: fn-a}, role: function}
  - {name: fn-b, match: {comm: fn-b}, role: function}
  - {name: fn-c, match: {comm: fn-c}, role: function}
"""
WIDTH, HEIGHT = 1280, 2200
COLOURS = {"platform": (0xE4, 0x57, 0x2E), "function": (0x4C, 0x78, 0xA8)}


def span(trace, sid, parent, name, kind, start_ms, end_ms, decision="full", reason=""):
    attrs = [{"key": "difftrace.decision", "value": {"stringValue": decision}}]
    if reason:
        attrs.append({"key": "difftrace.reason", "value": {"stringValue": reason}})
    s = {"traceId": trace, "spanId": sid, "name": name, "kind": kind,
         "startTimeUnixNano": str(BASE_NS + int(start_ms * MS)),
         "endTimeUnixNano": str(BASE_NS + int(end_ms * MS)), "attributes": attrs}
    if parent:
        s["parentSpanId"] = parent
    return s


def request(service, spans):
    return {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "difftrace"}, "spans": spans}]}]}


def trace_id(n):
    return "%032x" % (0xABC000 + n)


def write_spans(path):
    """60 traces, one every 2 s; trace n: ingress SERVER -> ingress CLIENT -> fn SERVER, the
    ingress holding it 2 ms before the call. Returns {trace id: spans in it}."""
    traces = {}
    with open(path, "w") as f:
        for n in range(60):
            _, name, fn = ROUTES[n % 3]
            t0 = n * 2000.0
            d = LONG.get(n, 10 + (n % 7))
            tid = trace_id(n)
            bad = n == CULPRIT_TRACE
            ingress = [span(tid, "%016x" % (n * 16 + 1), None, name, 2, t0, t0 + d,
                            "anomalous" if bad else "full", "latency" if bad else ""),
                       span(tid, "%016x" % (n * 16 + 2), "%016x" % (n * 16 + 1), name, 3,
                            t0 + 2, t0 + d - 1)]
            fn_spans = [span(tid, "%016x" % (n * 16 + 3), "%016x" % (n * 16 + 2), name, 2,
                             t0 + 3, t0 + d - 2, "anomalous" if bad else "full",
                             "latency" if bad else "")]
            f.write(json.dumps(request("ingress", ingress)) + "\n")
            f.write(json.dumps(request(fn, fn_spans)) + "\n")
            traces[tid] = 3
    os.chmod(path, 0o644)
    return traces


def analyze(outdir, spans, fmt, out, *extra):
    config = os.path.join(outdir, "roles.yaml")
    with open(config, "w") as f:
        f.write(CONFIG)
    os.chmod(config, 0o644)
    proc = ch.run_unprivileged("analyze", spans, "--config", config, "--format", fmt,
                               "--out", out, "--interval", "30s", "--worst", "3", *extra)
    assert proc.returncode == 0, proc.stderr
    return out


def chromium(outdir, *args):
    exe = shutil.which("chromium")
    if not exe:
        pytest.fail("chromium is missing: run scripts/install-deps.sh", pytrace=False)
    cmd = [exe, "--headless", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
           "--user-data-dir=" + os.path.join(outdir, "chromium-profile"),
           "--window-size=%d,%d" % (WIDTH, HEIGHT), "--virtual-time-budget=5000", *args]
    if os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit, non-interlaced RGB or RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    width, height, depth, colour, _, _, interlace = ihdr
    assert depth == 8 and colour in (2, 6) and interlace == 0, ihdr
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


@pytest.fixture(scope="module")
def page():
    outdir = tempfile.mkdtemp(prefix="difftrace-e2e-html-")
    os.chmod(outdir, 0o777)
    spans = os.path.join(outdir, "spans.json")
    traces = write_spans(spans)
    html = analyze(outdir, spans, "html", os.path.join(outdir, "report.html"))
    report = json.load(open(analyze(outdir, spans, "json", os.path.join(outdir, "report.json"))))
    url = "file://" + html
    dom = chromium(outdir, "--dump-dom", url)
    shot = os.path.join(outdir, "shot.png")
    chromium(outdir, "--screenshot=" + shot, url)
    with open(html) as f:
        source = f.read()
    yield {"dom": dom, "source": source, "report": report, "traces": traces, "shot": shot}
    shutil.rmtree(outdir, ignore_errors=True)


def elements(dom, tag, cls):
    """Opening tags of <tag> whose class attribute has the word cls."""
    return [m.group(0) for m in re.finditer(r"<%s\b[^>]*>" % tag, dom)
            if re.search(r'class="([^"]*\s)?%s(\s[^"]*)?"' % re.escape(cls), m.group(0))]


def attr(tag, name):
    m = re.search(r'%s="([^"]*)"' % name, tag)
    return m.group(1) if m else None


def test_the_script_ran(page):
    assert 'data-rendered="1"' in page["dom"]
    assert "60 traces (1 anomalous" in page["dom"]


def test_a_stacked_bar_per_route(page):
    rows = re.findall(r'<g class="route-row"[^>]*>.*?</g>', page["dom"], re.S)
    got = {(attr(r, "data-service"), attr(r, "data-endpoint")): r for r in rows}
    assert set(got) == {(s, e) for s, e, _ in ROUTES}
    for (service, endpoint), row in got.items():
        assert attr(row, "data-count") == "20"
        cats = set(re.findall(r'data-cat="(\w+)"', row))
        assert {"platform", "function", "network"} <= cats, row
        widths = [float(attr(r, "width")) for r in elements(row, "rect", "all")]
        assert sum(widths) == pytest.approx(560, abs=1), row  # the shares fill the bar


def test_interval_charts_have_the_reports_intervals(page):
    charts = re.findall(r'<svg[^>]*class="interval-chart"[^>]*>.*?</svg>', page["dom"], re.S)
    by_route = {(attr(c, "data-service"), attr(c, "data-endpoint")): c for c in charts}
    assert set(by_route) == {("*", "*")} | {(s, e) for s, e, _ in ROUTES}
    assert page["report"]["summary"]["interval_ns"] == 30_000_000_000
    for (service, endpoint), chart in by_route.items():
        want = {str(i["start_ns"]): i["count"] for i in page["report"]["intervals"]
                if (i["service"], i["endpoint"]) == (service, endpoint)}
        cols = elements(chart, "g", "iv-col")
        assert {attr(c, "data-start"): int(attr(c, "data-count")) for c in cols} == want
        assert len(want) == 4  # two minutes in 30 s intervals
        assert chart.count('class="seg cat-platform"') >= len(want)
        assert "<polyline" in chart


def test_waterfalls_of_the_longest_traces(page):
    falls = re.findall(r'<svg[^>]*class="waterfall"[^>]*>.*?</svg>', page["dom"], re.S)
    ids = [attr(f, "data-trace") for f in falls]
    assert ids == [trace_id(n) for n in sorted(LONG, key=LONG.get, reverse=True)]
    paths = {t["trace_id"]: t for t in page["report"]["traces"]}
    for fall, tid in zip(falls, ids):
        rows = elements(fall, "g", "wf-row")
        assert len(rows) == page["traces"][tid]
        on_path = [attr(r, "data-span") for r in elements(fall, "g", "on-path")]
        assert on_path == [p["span_id"] for p in paths[tid]["critical_path"]]
        culprit = elements(fall, "g", "culprit")
        if tid == trace_id(CULPRIT_TRACE):
            assert [attr(c, "data-span") for c in culprit] == \
                [paths[tid]["culprit"]["span_id"]]
            assert paths[tid]["culprit"]["service"] == ROUTES[CULPRIT_TRACE % 3][2]
        else:
            assert not culprit


def test_fetches_nothing(page):
    src = page["source"]
    refs = re.findall(r'\b(?:src|href|xlink:href|action|srcset)\s*=\s*["\']?([^"\'\s>]+)', src, re.I)
    assert not [r for r in refs if re.match(r"(https?:)?//", r)], refs
    assert not re.search(r"<(link|iframe|img|object|embed)\b", src, re.I)
    assert not re.search(r"<script[^>]*\bsrc\b", src, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", src, re.I)
    assert not re.search(r"\b(fetch|XMLHttpRequest|importScripts)\s*\(", src)


def test_the_screenshot_shows_the_charts(page):
    width, height, rows = png_pixels(page["shot"])
    assert (width, height) == (WIDTH, HEIGHT)
    counts = {name: 0 for name in COLOURS}
    colours = set()
    for row in rows[::4]:
        for px in row[::2]:
            colours.add(px)
            for name, c in COLOURS.items():
                if px == c:
                    counts[name] += 1
    # Sampled one pixel in eight: each colour covers a good part of the charts.
    assert counts["platform"] > 500 and counts["function"] > 500, counts
    assert len(colours) > 20
