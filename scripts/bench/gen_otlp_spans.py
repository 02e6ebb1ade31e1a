#!/usr/bin/env python3
"""Writes OTLP JSON (one ExportTraceServiceRequest per line, as difftrace's otlp-json exporter
does) of traces shaped like the demo platform's under --no-filter: haproxy -> activator ->
queue-proxy -> function, SERVER and CLIENT spans, 14 attributes each (about 1.1 KB a span, as
the exporter writes them). RATE traces per second of span time, one batch per service per
line. 1% of the traces are anomalous at the function. Stdlib only; seeded.
  usage: gen_otlp_spans.py OUT SPANS [RATE=200] [SEED=1]
Prints a JSON summary (spans, traces, bytes, seconds of span time)."""
import json
import random
import sys

HOPS = (("haproxy", 4), ("activator", 4), ("queue-proxy", 4), ("fn", 3))  # service, µs of own time
FUNCTIONS = ("fn-hello", "fn-work", "fn-chain")
ATTRS = ('{"key":"http.request.method","value":{"stringValue":"GET"}},'
         '{"key":"url.path","value":{"stringValue":"%(path)s"}},'
         '{"key":"url.template","value":{"stringValue":"%(path)s"}},'
         '{"key":"http.response.status_code","value":{"intValue":"%(status)d"}},'
         '{"key":"server.address","value":{"stringValue":"127.0.0.1"}},'
         '{"key":"server.port","value":{"intValue":"9001"}},'
         '{"key":"client.address","value":{"stringValue":"127.0.0.1"}},'
         '{"key":"client.port","value":{"intValue":"41642"}},'
         '{"key":"thread.id","value":{"intValue":"25797"}},'
         '{"key":"http.request.size","value":{"intValue":"190"}},'
         '{"key":"http.response.size","value":{"intValue":"319"}},'
         '{"key":"difftrace.decision","value":{"stringValue":"%(decision)s"}},'
         '{"key":"difftrace.reason","value":{"stringValue":"%(reason)s"}},'
         '{"key":"difftrace.threshold_ns","value":{"intValue":"14417919"}}')
SPAN = ('{"traceId":"%(trace)s","spanId":"%(span)s",%(parent)s"name":"GET %(path)s","kind":%(kind)d,'
        '"startTimeUnixNano":"%(start)d","endTimeUnixNano":"%(end)d","attributes":[' + ATTRS + '],"status":{}}')
RESOURCE = ('{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"%s"}},'
            '{"key":"process.pid","value":{"intValue":"25570"}},{"key":"host.name","value":{"stringValue":"vm"}}]},'
            '"scopeSpans":[{"scope":{"name":"difftrace"},"spans":[%s]}]}')


def main():
    out, want = sys.argv[1], int(sys.argv[2])
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 200
    rnd = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    base = 1_800_000_000_000_000_000
    spans = traces = size = 0
    with open(out, "w") as f:
        while spans < want:
            fn = FUNCTIONS[traces % len(FUNCTIONS)]
            path = "/%s/" % fn
            trace = "%032x" % rnd.getrandbits(128)
            t0 = base + int(traces * 1e9 / rate)
            bad = rnd.random() < 0.01
            fn_us = rnd.uniform(1500, 3000) * (20 if bad else 1)
            # Nested intervals: each hop's SERVER span, its CLIENT span inside, the next hop inside.
            by_service, parent, start, depth_us = {}, "", t0, 0
            hop_ids = []
            for i, (service, own_us) in enumerate(HOPS):
                name = fn if service == "fn" else service
                sid = "%016x" % rnd.getrandbits(64)
                hop_ids.append((name, sid, parent, 2))
                if service != "fn":
                    cid = "%016x" % rnd.getrandbits(64)
                    hop_ids.append((name, cid, sid, 3))
                    parent = cid
            total_us = fn_us + sum(own for _, own in HOPS) * 100
            for j, (name, sid, par, kind) in enumerate(hop_ids):
                s = t0 + j * 50_000
                e = t0 + int(total_us * 1000) - j * 50_000
                last = name not in ("haproxy", "activator", "queue-proxy")
                text = SPAN % {"trace": trace, "span": sid, "parent": '"parentSpanId":"%s",' % par if par else "",
                               "path": path, "kind": kind, "start": s, "end": e,
                               "status": 200, "decision": "anomalous" if bad and last else "full",
                               "reason": "latency" if bad and last else "no_filter"}
                by_service.setdefault(name, []).append(text)
            line = '{"resourceSpans":[%s]}\n' % ",".join(RESOURCE % (svc, ",".join(v)) for svc, v in by_service.items())
            f.write(line)
            size += len(line)
            spans += len(hop_ids)
            traces += 1
    json.dump({"spans": spans, "traces": traces, "bytes": size, "span_time_s": traces / rate}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
