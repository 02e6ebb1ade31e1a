// The HTML page of `difftrace analyze --format html`: styles and the script
// that draws the charts as inline SVG from the JSON in <script id="data">.
// Nothing is fetched: no external script, style, font or image.
#include "analyze/html_report.h"

namespace difftrace::analyze {

const char* html_page_before_data() {
  return R"PAGE(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>difftrace analyze</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #222; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 6px; border-bottom: 1px solid #ddd; }
h3 { font-size: 13px; margin: 14px 0 2px; font-weight: 600; }
.note { color: #666; }
.legend span { display: inline-block; margin-right: 14px; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .axis { stroke: #bbb; stroke-width: 1; }
.cat-platform { fill: #e4572e; } .cat-function { fill: #4c78a8; } .cat-network { fill: #f2b701; }
.cat-async_wait { fill: #9c6ade; } .cat-downstream { fill: #59a14f; }
.wf-bar { fill: #c9ced6; } .wf-row.on-path .wf-bar { fill: #2b5d9b; }
.wf-row.culprit .wf-bar { fill: #d62728; } .wf-row.estimated .wf-bar { fill-opacity: .45; stroke: #333; stroke-dasharray: 3 2; }
.wf-row.on-path text.label { font-weight: 600; }
.bad { color: #d62728; font-weight: 600; }
</style>
</head>
<body>
<h1>difftrace analyze</h1>
<div id="summary" class="note"></div>
<div class="legend" id="legend"></div>
<h2>Breakdown per route</h2>
<div class="note">Each category's share of the route's summed end-to-end latency (upper bar: every trace; lower bar: the traces at or above the route's p99).</div>
<div id="routes"></div>
<h2>Breakdown over time</h2>
<div class="note" id="intervals-note"></div>
<div id="intervals"></div>
<h2>The longest traces</h2>
<div class="note">Every span of the trace on a time line; the critical path in blue, its culprit in red, estimated spans dashed.</div>
<div id="waterfalls"></div>
<script type="application/json" id="data">)PAGE";
}

const char* html_page_after_data() {
  return R"PAGE(</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const CATS = ["platform", "function", "network", "async_wait", "downstream"];
const NAMES = {platform: "platform", function: "function", network: "network and queueing",
               async_wait: "async wait", downstream: "downstream (not traced)"};
const SVGNS = "http://www.w3.org/2000/svg";

function el(tag, attrs, parent, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
function div(parent, cls, text) {
  const d = document.createElement("div");
  if (cls) d.className = cls;
  if (text !== undefined) d.textContent = text;
  parent.appendChild(d);
  return d;
}
function fmtNs(ns) {
  if (!ns) return "0";
  if (ns < 1e3) return ns + "ns";
  if (ns < 1e6) return (ns / 1e3).toFixed(1) + "us";
  if (ns < 1e9) return (ns / 1e6).toFixed(2) + "ms";
  return (ns / 1e9).toFixed(2) + "s";
}
function pct(x) { return (100 * x).toFixed(1) + "%"; }
function clock(ns) { return new Date(ns / 1e6).toISOString().substr(11, 8); }
function stacked(g, x, y, width, height, shares, cls) {
  let at = x;
  for (const c of CATS) {
    const w = (shares[c] || 0) * width;
    if (w <= 0) continue;
    const r = el("rect", {x: at.toFixed(2), y: y.toFixed(2), width: w.toFixed(2), height: height,
                          "class": "seg cat-" + c + (cls ? " " + cls : ""), "data-cat": c}, g);
    el("title", {}, r, NAMES[c] + ": " + pct(shares[c]));
    at += w;
  }
}

function summary() {
  const s = D.summary;
  document.getElementById("summary").textContent =
    D.files.join(", ") + ": " + s.spans + " spans, " + s.traces + " traces (" +
    s.anomalous_traces + " anomalous, " + s.async_traces + " through an async call), " +
    s.skew_clamped + " clock-skew clamps, " + s.estimated_on_path + " estimated spans on paths.";
  const lg = document.getElementById("legend");
  for (const c of CATS) {
    const sp = document.createElement("span");
    const sw = el("svg", {width: 12, height: 12}, sp);
    el("rect", {width: 12, height: 12, "class": "cat-" + c}, sw);
    sp.appendChild(document.createTextNode(" " + NAMES[c]));
    lg.appendChild(sp);
  }
}

function routes() {
  const box = document.getElementById("routes");
  const rs = D.routes.slice(0, 40);
  const L = 330, W = 560, R = 330, ROW = 34;
  const svg = el("svg", {width: L + W + R, height: 20 + ROW * rs.length, id: "route-chart"}, box);
  el("text", {x: L + W + 10, y: 12}, svg, "count   p50   p90   p99");
  rs.forEach((r, i) => {
    const y = 20 + i * ROW;
    const g = el("g", {"class": "route-row", "data-service": r.service, "data-endpoint": r.endpoint,
                       "data-count": r.count}, svg);
    const name = r.service + " " + r.endpoint;
    el("text", {x: 0, y: y + 15, "class": "label"}, g, name.length > 52 ? name.substr(0, 51) + "~" : name);
    el("rect", {x: L, y: y, width: W, height: 16, fill: "#f2f2f2"}, g);
    stacked(g, L, y, W, 16, r.shares, "all");
    stacked(g, L, y + 18, W, 8, r.shares_p99, "tail");
    el("text", {x: L + W + 10, y: y + 15}, g,
       r.count + "   " + fmtNs(r.p50_ns) + "   " + fmtNs(r.p90_ns) + "   " + fmtNs(r.p99_ns) +
       (r.anomalous ? "   " + r.anomalous + " anomalous" : ""));
  });
}

function intervals() {
  const box = document.getElementById("intervals");
  const iv = D.intervals;
  const width = D.summary.interval_ns;
  document.getElementById("intervals-note").textContent =
    "Per interval of " + fmtNs(width) + " (by the traces' start): each category's share of the " +
    "summed latency (columns) and the p50 and p99 (lines, right axis); every route together first.";
  if (!iv.length) return;
  let t0 = Infinity, t1 = 0;
  for (const x of iv) { t0 = Math.min(t0, x.start_ns); t1 = Math.max(t1, x.start_ns); }
  const n = Math.round((t1 - t0) / width) + 1;
  const groups = new Map();
  for (const x of iv) {
    const k = x.service + "\u0000" + x.endpoint;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(x);
  }
  const keys = [...groups.keys()];
  keys.sort((a, b) => (a === "*\u0000*" ? -1 : b === "*\u0000*" ? 1 : 0));
  const L = 60, W = 900, H = 120;
  for (const k of keys.slice(0, 7)) {
    const xs = groups.get(k);
    const [service, endpoint] = k.split("\u0000");
    const h = document.createElement("h3");
    h.textContent = service === "*" ? "every route" : service + " " + endpoint;
    box.appendChild(h);
    const svg = el("svg", {width: L + W + 70, height: H + 34, "class": "interval-chart",
                           "data-service": service, "data-endpoint": endpoint}, box);
    const colW = W / n;
    let maxP = 0;
    for (const x of xs) maxP = Math.max(maxP, x.p99_ns);
    el("line", {x1: L, y1: H, x2: L + W, y2: H, "class": "axis"}, svg);
    el("text", {x: 0, y: 10}, svg, "100%");
    el("text", {x: 0, y: H}, svg, "0%");
    el("text", {x: L + W + 4, y: 10}, svg, fmtNs(maxP));
    const p50 = [], p99 = [];
    for (const x of xs) {
      const i = Math.round((x.start_ns - t0) / width);
      const g = el("g", {"class": "iv-col", "data-start": x.start_ns, "data-count": x.count}, svg);
      const cx = L + i * colW;
      // A column: the shares stacked bottom-up.
      let at = H;
      for (const c of CATS) {
        const h = (x.shares[c] || 0) * H;
        if (h <= 0) continue;
        at -= h;
        const r = el("rect", {x: (cx + 0.5).toFixed(2), y: at.toFixed(2), width: Math.max(1, colW - 1).toFixed(2),
                              height: h.toFixed(2), "class": "seg cat-" + c}, g);
        el("title", {}, r, clock(x.start_ns) + ": " + x.count + " traces, " + NAMES[c] + " " +
           pct(x.shares[c]) + ", p50 " + fmtNs(x.p50_ns) + ", p99 " + fmtNs(x.p99_ns));
      }
      const mid = cx + colW / 2;
      p50.push(mid.toFixed(1) + "," + (H - H * x.p50_ns / (maxP || 1)).toFixed(1));
      p99.push(mid.toFixed(1) + "," + (H - H * x.p99_ns / (maxP || 1)).toFixed(1));
    }
    el("polyline", {points: p99.join(" "), fill: "none", stroke: "#111", "stroke-width": 1.5, "class": "p99"}, svg);
    el("polyline", {points: p50.join(" "), fill: "none", stroke: "#111", "stroke-dasharray": "4 3", "class": "p50"}, svg);
    const ticks = Math.min(n, 6);
    for (let j = 0; j < ticks; j++) {
      const i = Math.round(j * (n - 1) / Math.max(1, ticks - 1));
      el("text", {x: L + i * colW, y: H + 14}, svg, clock(t0 + i * width));
    }
    el("text", {x: L, y: H + 30, "class": "note"}, svg, "UTC; p99 solid, p50 dashed");
  }
}

function waterfalls() {
  const box = document.getElementById("waterfalls");
  for (const t of D.worst) {
    const h = document.createElement("h3");
    h.textContent = "trace " + t.trace_id + " — " + t.root.service + " " + t.root.name + ", " +
                    fmtNs(t.duration_ns) + (t.async ? ", through an async call" : "");
    box.appendChild(h);
    if (t.anomalous) {
      div(box, "bad", "anomalous (" + t.anomaly_reason + ")" + (t.culprit ?
        ": culprit " + t.culprit.service + " " + t.culprit.name + ", " + fmtNs(Math.max(0, t.culprit.excess_ns)) +
        " over its median of " + fmtNs(t.culprit.median_ns) : ""));
    }
    // Spans in tree order (children under their parent, by start).
    const byId = new Map(), kids = new Map();
    for (const s of t.spans) byId.set(s.span_id, s);
    const roots = [];
    for (const s of t.spans) {
      if (s.parent_id && byId.has(s.parent_id)) {
        if (!kids.has(s.parent_id)) kids.set(s.parent_id, []);
        kids.get(s.parent_id).push(s);
      } else roots.push(s);
    }
    const rows = [];
    const visit = (s, depth) => { rows.push([s, depth]); for (const c of kids.get(s.span_id) || []) visit(c, depth + 1); };
    for (const r of roots) visit(r, 0);
    const steps = new Map(t.critical_path.map(p => [p.span_id, p]));
    let t0 = Infinity, t1 = 0;
    for (const s of t.spans) { t0 = Math.min(t0, s.start_ns); t1 = Math.max(t1, s.end_ns); }
    const L = 360, W = 640, ROW = 18, span = Math.max(1, t1 - t0);
    const svg = el("svg", {width: L + W + 120, height: 40 + ROW * rows.length, "class": "waterfall",
                           "data-trace": t.trace_id}, box);
    stacked(svg, L, 2, W, 10, Object.fromEntries(CATS.map(c => [c, t.breakdown[c + "_ns"] / (t.duration_ns || 1)])), "trace-breakdown");
    el("text", {x: 0, y: 11}, svg, "breakdown of " + fmtNs(t.duration_ns));
    rows.forEach(([s, depth], i) => {
      const y = 20 + i * ROW;
      const step = steps.get(s.span_id);
      const culprit = t.culprit && t.culprit.span_id === s.span_id;
      const g = el("g", {"class": "wf-row" + (s.on_path ? " on-path" : "") + (culprit ? " culprit" : "") +
                         (s.estimated ? " estimated" : ""), "data-span": s.span_id}, svg);
      const label = s.service + " " + s.kind[0] + " " + s.name;
      el("text", {x: 4 + 12 * Math.min(depth, 10), y: y + 12, "class": "label"}, g,
         label.length > 44 ? label.substr(0, 43) + "~" : label);
      const x = L + W * (s.start_ns - t0) / span, w = Math.max(1, W * (s.end_ns - s.start_ns) / span);
      const r = el("rect", {x: x.toFixed(2), y: y + 2, width: w.toFixed(2), height: ROW - 5, "class": "wf-bar"}, g);
      el("title", {}, r, s.service + " " + s.kind + " " + s.name + ": " + fmtNs(s.end_ns - s.start_ns) +
         (step ? ", self time on the critical path " + fmtNs(step.self_ns) +
                 (step.async_wait_ns ? ", then async wait " + fmtNs(step.async_wait_ns) : "") : "") +
         (s.estimated ? " (estimated)" : "") + (s.anomalous ? " (anomalous)" : ""));
      el("text", {x: L + W + 6, y: y + 12}, g, fmtNs(s.end_ns - s.start_ns) + (step ? " / " + fmtNs(step.self_ns) : ""));
    });
  }
}

summary();
routes();
intervals();
waterfalls();
document.body.setAttribute("data-rendered", "1");
</script>
</body>
</html>
)PAGE";
}

}  // namespace difftrace::analyze
