"""Harness for Python user functions of the demo platform (stdlib only).

A function is a plain handler `work(req) -> (status, dict)`; serve() gives it what every
function process has: its process name (comm) set with prctl so the tracer sees e.g.
`fn-hello`, an HTTP/1.1 keep-alive ThreadingHTTPServer, /healthz, the function-side
anomalies of X-Difftrace-Inject (slow, 500, reset; see docs/platform.md), and SIGTERM
handling.
"""
import ctypes
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INJECT = "X-Difftrace-Inject"
INJECTED = "X-Difftrace-Injected"
TRACE_HEADERS = ("traceparent", "tracestate", "b3", "X-B3-TraceId", "X-B3-SpanId",
                 "X-B3-ParentSpanId", "X-B3-Sampled", "X-B3-Flags")
PR_SET_NAME = 15


def set_comm(name):
    """Name the process (and every thread started after this) for the tracer.

    Threads inherit comm at creation, so call this before the server starts threads."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")


def parse_amount(text):
    text = text.strip()
    if text.endswith("ms"):
        ms = float(text[:-2])
    elif text.endswith("s"):
        ms = float(text[:-1]) * 1000
    else:
        ms = float(text)
    if not 1 <= ms <= 60000:
        raise ValueError(f"amount {text!r}: want 1ms..1m")
    return ms


def own_anomaly(headers, hop, allowed):
    """This hop's (kind, amount_ms) from X-Difftrace-Inject, or None; same rules as the Go
    side (scripts/platform/internal/inject): first process of that name acts, once."""
    raw = ",".join(headers.get_all(INJECT) or [])
    done = {n.strip() for v in (headers.get_all(INJECTED) or []) for n in v.split(",")}
    for entry in filter(None, (e.strip() for e in raw.split(","))):
        name, _, spec = entry.partition("=")
        if name.strip() != hop or hop in done:
            continue
        kind, _, amount = spec.partition(":")
        if kind not in allowed:
            raise ValueError(f"{INJECT}: hop {hop} does not implement kind {kind!r} (it knows {', '.join(allowed)})")
        return kind, (parse_amount(amount) if kind == "slow" else 0)
    return None


def read_chunked(rfile):
    """Read a chunked request body. http.server leaves that to the handler; an unread body
    would be parsed as the next request on the keep-alive connection. Go's client sends even
    an empty GET body chunked now and then (see NoRetry in internal/proxy)."""
    body = bytearray()
    while True:
        size = int(rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return bytes(body)
        body += rfile.read(size)
        rfile.readline(1024)  # CRLF after the chunk


class Request:
    """What a function handler sees."""

    def __init__(self, handler):
        self.method = handler.command
        url = urllib.parse.urlsplit(handler.path)
        self.path = url.path
        self.query = dict(urllib.parse.parse_qsl(url.query))
        self.headers = handler.headers
        if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
            self.body = read_chunked(handler.rfile)
        else:
            length = int(handler.headers.get("Content-Length") or 0)
            self.body = handler.rfile.read(length) if length else b""

    def int_param(self, name, default, maximum):
        try:
            v = int(self.query.get(name, default))
            return v if 0 <= v <= maximum else default
        except ValueError:
            return default

    def trace_headers(self):
        return {h: self.headers[h] for h in TRACE_HEADERS if self.headers.get(h)}


def make_handler(name, work):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the queue-proxy reuses its connections
        server_version = name
        # Headers and body go out in two writes; without TCP_NODELAY the second waits for
        # the peer's delayed ACK (40 ms) whenever the first was not yet acknowledged.
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):  # one line per request would cost more than the work
            pass

        def reply(self, status, obj):
            body = (json.dumps(obj) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def reset(self):
            # SO_LINGER with zero timeout turns close() into an RST. Closing the detached fd
            # closes it now (socket.close() would wait for the rfile/wfile wrappers) and
            # leaves the wrappers harmless for http.server's own cleanup.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())
            self.close_connection = True

        def handle_any(self):
            if self.path == "/healthz":
                return self.reply(200, {"ok": name})
            req = Request(self)
            try:
                anomaly = own_anomaly(self.headers, name, ("slow", "500", "reset"))
            except ValueError as e:
                return self.reply(400, {"error": str(e)})
            if anomaly:
                kind, ms = anomaly
                trace = req.trace_headers().get("traceparent", "-")
                print(f"{name}: injecting {kind} {ms:g}ms (traceparent {trace})", file=sys.stderr, flush=True)
                if kind == "slow":
                    time.sleep(ms / 1000)
                elif kind == "500":
                    return self.reply(500, {"error": f"difftrace: injected 500 at {name}"})
                else:
                    return self.reset()
            status, obj = work(req)
            out = {"fn": name, "pid": os.getpid(), "path": req.path, **req.trace_headers(), **obj}
            self.reply(status, out)

        do_GET = do_POST = do_PUT = handle_any

    return Handler


def serve(name, work, argv=None):
    """Run function `name` on --port (127.0.0.1) until SIGTERM."""
    import argparse
    ap = argparse.ArgumentParser(description=f"{name}: demo platform user function")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--downstream", help="URL this function calls, if it calls one")
    args = ap.parse_args(argv)
    set_comm(name)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # listen backlog; the default 5 drops SYNs under bursts

    try:
        srv = Server(("127.0.0.1", args.port), make_handler(name, work))
    except OSError as e:
        sys.exit(f"{name}: cannot listen on 127.0.0.1:{args.port}: {e.strerror} (is the port in use?)")
    # shutdown() waits for serve_forever, so it must run on another thread than the loop.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    print(f"{name}: listening on 127.0.0.1:{args.port} (pid {os.getpid()})", file=sys.stderr, flush=True)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()
    return args
