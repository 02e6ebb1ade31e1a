"""A Zipkin v2 collector stand-in for the e2e tests: POST /api/v2/spans (gzip or not) on
127.0.0.1, recorded per request, and a checker for the v2 JSON shape (the zipkin2 API's
Span, ListOfSpans and Endpoint in zipkin-api.yaml).

    with ZipkinReceiver() as z:
        ... difftrace replay X --export zipkin:%s % z.url ...
        spans = z.spans()
        assert not zipkin_v2_problems(spans)
"""
import gzip
import http.server
import ipaddress
import json
import re
import threading

SPAN_FIELDS = {"traceId": str, "name": str, "parentId": str, "id": str, "kind": str,
               "timestamp": int, "duration": int, "debug": bool, "shared": bool,
               "localEndpoint": dict, "remoteEndpoint": dict, "annotations": list, "tags": dict}
ENDPOINT_FIELDS = {"serviceName": str, "ipv4": str, "ipv6": str, "port": int}
KINDS = {"CLIENT", "SERVER", "PRODUCER", "CONSUMER"}


def _endpoint_problems(where, e):
    probs = []
    for k, v in e.items():
        if k not in ENDPOINT_FIELDS:
            probs.append("%s: unknown field %r" % (where, k))
        elif not isinstance(v, ENDPOINT_FIELDS[k]) or isinstance(v, bool):
            probs.append("%s.%s: %r is not %s" % (where, k, v, ENDPOINT_FIELDS[k].__name__))
    if isinstance(e.get("ipv4"), str):
        try:
            ipaddress.IPv4Address(e["ipv4"])
        except ValueError:
            probs.append("%s.ipv4: %r is not IPv4" % (where, e["ipv4"]))
    if isinstance(e.get("ipv6"), str):
        try:
            ipaddress.IPv6Address(e["ipv6"])
        except ValueError:
            probs.append("%s.ipv6: %r is not IPv6" % (where, e["ipv6"]))
    if isinstance(e.get("port"), int) and not 0 < e["port"] < 65536:
        probs.append("%s.port: %r out of range" % (where, e["port"]))
    return probs


def zipkin_v2_problems(spans):
    """Everything in a decoded POST body that the Zipkin v2 schema does not allow."""
    if not isinstance(spans, list):
        return ["body is %s, not a JSON array (ListOfSpans)" % type(spans).__name__]
    probs = []
    for i, s in enumerate(spans):
        w = "span[%d]" % i
        if not isinstance(s, dict):
            probs.append("%s: not an object" % w)
            continue
        for k, v in s.items():
            if k not in SPAN_FIELDS:
                probs.append("%s: unknown field %r" % (w, k))
            elif not isinstance(v, SPAN_FIELDS[k]) or (SPAN_FIELDS[k] is int and isinstance(v, bool)):
                probs.append("%s.%s: %r is not %s" % (w, k, v, SPAN_FIELDS[k].__name__))
        for k in ("traceId", "id"):
            if k not in s:
                probs.append("%s: %s missing (required)" % (w, k))
        if isinstance(s.get("traceId"), str) and not re.fullmatch(r"[0-9a-f]{16}|[0-9a-f]{32}", s["traceId"]):
            probs.append("%s.traceId: %r is not 16 or 32 lowercase hex" % (w, s["traceId"]))
        for k in ("id", "parentId"):
            if isinstance(s.get(k), str) and not re.fullmatch(r"[0-9a-f]{16}", s[k]):
                probs.append("%s.%s: %r is not 16 lowercase hex" % (w, k, s[k]))
        if "kind" in s and s["kind"] not in KINDS:
            probs.append("%s.kind: %r not one of %s" % (w, s["kind"], sorted(KINDS)))
        if isinstance(s.get("timestamp"), int) and s["timestamp"] <= 0:
            probs.append("%s.timestamp: %r is not a positive epoch microsecond" % (w, s["timestamp"]))
        if isinstance(s.get("duration"), int) and s["duration"] < 1:
            probs.append("%s.duration: %r < 1" % (w, s["duration"]))
        for k in ("localEndpoint", "remoteEndpoint"):
            if isinstance(s.get(k), dict):
                probs += _endpoint_problems("%s.%s" % (w, k), s[k])
        for k, v in (s.get("tags") or {}).items():
            if not isinstance(v, str):
                probs.append("%s.tags[%r]: %r is not a string" % (w, k, v))
    return probs


class ZipkinReceiver:
    """An HTTP server in a thread; records every request as a dict (path, contentType,
    contentEncoding, spans or error). Answers 202 as Zipkin does."""

    def __init__(self):
        self.requests = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                rec = {"path": self.path, "contentType": self.headers.get("Content-Type", ""),
                       "contentEncoding": self.headers.get("Content-Encoding", "")}
                try:
                    if rec["contentEncoding"] == "gzip":
                        body = gzip.decompress(body)
                    rec["spans"] = json.loads(body.decode("utf-8"))
                    self.send_response(202)
                except (OSError, ValueError) as e:
                    rec["error"] = str(e)
                    self.send_response(400)
                # Recorded before the answer goes out: once answered, the exporter may exit and
                # the test read requests before this thread appended (a lost request, seen).
                receiver.requests.append(rec)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/api/v2/spans" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def spans(self):
        return [s for r in self.requests for s in r.get("spans", [])]
