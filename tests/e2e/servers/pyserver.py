#!/usr/bin/env python3
"""HTTP/1.x test server for difftrace end-to-end capture tests (stdlib only).

Runs a ThreadingHTTPServer on 127.0.0.1 (HTTP/1.1 keep-alive by default, --http10 for
HTTP/1.0). Its kernel comm is set to `dt-pyserver` (prctl PR_SET_NAME) so `--comm` works;
threads started afterwards inherit it.

Routes (extra trailing path segments and any query string are ignored, so tests can make
every path unique, e.g. /bytes/1024/r17):
  /status/<code>           response with that status and a short Content-Length body
                           (204 and 304: no body, no Content-Length); HEAD: no body
  /bytes/<n>               n-byte body with Content-Length (0 .. 1 MiB and more)
  /chunked/<n>/<chunks>    Transfer-Encoding: chunked, n bytes in <chunks> chunks, one write
                           per chunk with a 2 ms sleep between chunks
  /writev/<n>/<chunks>     chunked, the whole body in one writev: each chunk as three
                           iovecs (size line, data, CRLF), then "0\r\n\r\n" as its own
                           5-byte iovec (3 * chunks + 1 iovecs)
  /interim/<code>          "100 Continue", then the final response with that status, in
                           one write
  /sleep/<ms>              sleeps, then 200
  /echo                    (POST/PUT) echoes the request body (Content-Length or chunked);
                           "Expect: 100-continue" gets an interim 100 Continue first
  /split/<n>/<parts>       status line, every header line and <parts> body pieces are each
                           a separate write with a 1 ms sleep between them
  /close/<n>               close-delimited body: no Content-Length, connection closed after
  anything else            404

Every finished request is appended as one JSON line to --log (method, path, status, pid,
tid, client port); every accepted connection logs {"event": "conn_open", "open_now": k}.
Once listening, {"port": P, "pid": PID} is written atomically to --port-file.
--wait-file F --fork-child: the started process waits for F, then forks; the child serves
(the parent only waits), to test that children of a --pid target are traced.
"""
import argparse
import ctypes
import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PR_SET_NAME = 15
BLOCK = (b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_" * 16384)  # 1 MiB


def set_comm(name):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")


def body_of(n):
    if n <= len(BLOCK):
        return BLOCK[:n]
    return (BLOCK * (n // len(BLOCK) + 1))[:n]


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, "a", buffering=1) if path else None
        self.open_now = 0

    def write(self, rec):
        if self.f is None:
            return
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        with self.lock:
            self.f.write(line)
            self.f.flush()

    def conn(self, delta):
        with self.lock:
            self.open_now += delta
            n = self.open_now
        if delta > 0:
            self.write({"event": "conn_open", "open_now": n, "t_ns": time.time_ns()})


class Handler(BaseHTTPRequestHandler):
    server_version = "dt-pyserver"
    sys_version = ""
    disable_nagle_algorithm = True  # like real servers: no Nagle/delayed-ACK 40 ms stalls

    def setup(self):
        super().setup()
        self.server.log.conn(+1)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.log.conn(-1)

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def do_GET(self):
        self.route()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    # --- helpers -------------------------------------------------------------
    def read_request_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def respond(self, code, body, ctype="application/octet-stream", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()  # one write for status line + headers
        if body and self.command != "HEAD":
            self.wfile.write(body)
        return code

    def route(self):
        path = self.path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        head = parts[0] if parts else ""
        try:
            args = [int(p) for p in parts[1:3] if p.isdigit()]
        except ValueError:
            args = []
        # a request body is always consumed so that keep-alive stays in sync
        req_body = self.read_request_body() if head != "echo" else None
        code = None
        if head == "status" and args and args[0] in (204, 304):
            self.send_response(args[0])  # no body, and no Content-Length either
            self.end_headers()
            code = args[0]
        elif head == "status" and args:
            code = self.respond(args[0], b"status %d\n" % args[0], "text/plain")
        elif head == "bytes" and args:
            code = self.respond(200, body_of(args[0]))
        elif head == "chunked" and len(args) == 2:
            code = self.chunked(args[0], max(1, args[1]))
        elif head == "writev" and len(args) == 2:
            code = self.chunked_writev(args[0], max(1, args[1]))
        elif head == "interim" and args:
            body = b"final %d\n" % args[0]
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 %d Final\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (args[0], len(body), body))
            code = args[0]
        elif head == "sleep" and args:
            time.sleep(args[0] / 1000.0)
            code = self.respond(200, b"slept %d\n" % args[0], "text/plain")
        elif head == "echo":
            code = self.respond(200, self.read_request_body())
        elif head == "split" and len(args) == 2:
            code = self.split(args[0], max(1, args[1]))
        elif head == "close" and args:
            code = self.close_delimited(args[0])
        elif not parts:
            code = self.respond(200, b"ok\n", "text/plain")
        else:
            code = self.respond(404, b"no route\n", "text/plain")
        del req_body
        self.server.log.write({
            "method": self.command, "path": self.path, "status": code,
            "version": self.request_version, "pid": os.getpid(),
            "tid": threading.get_native_id(), "client_port": self.client_address[1],
            "t_ns": time.time_ns(),
        })

    def chunked_head(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunked(self, n, chunks):
        self.chunked_head()
        data = body_of(n)
        size = max(1, n // chunks) if n else 0
        off = 0
        while off < n:
            piece = data[off:off + size] if off + 2 * size <= n else data[off:]
            off += len(piece)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            time.sleep(0.002)
        self.wfile.write(b"0\r\n\r\n")  # the terminating chunk is its own write
        return 200

    def chunked_writev(self, n, chunks):
        self.chunked_head()
        data = body_of(n)
        size = max(1, -(-n // chunks)) if n else 1
        iov = []
        for off in range(0, n, size):
            piece = data[off:off + size]
            iov += [b"%x\r\n" % len(piece), piece, b"\r\n"]
        iov.append(b"0\r\n\r\n")
        fd = self.connection.fileno()
        left = sum(len(v) for v in iov)
        sent = os.writev(fd, iov)
        if sent != left:  # a short write: the rest as plain writes (never seen on loopback)
            self.wfile.write(b"".join(iov)[sent:])
        return 200

    def split(self, n, parts):
        w = self.wfile.write
        w(b"%s 200 OK\r\n" % self.protocol_version.encode())
        time.sleep(0.001)
        for h in (b"Server: dt-pyserver\r\n", b"Content-Type: text/plain\r\n",
                  b"Content-Length: %d\r\n" % n, b"\r\n"):
            w(h)
            time.sleep(0.001)
        data = body_of(n)
        step = max(1, -(-n // parts)) if n else 1
        for i, off in enumerate(range(0, n, step)):
            if i:
                time.sleep(0.001)
            w(data[off:off + step])
        return 200

    def close_delimited(self, n):
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        data = body_of(n)
        step = 16384
        for off in range(0, n, step):
            self.wfile.write(data[off:off + step])
        return 200


class Server(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True
    allow_reuse_address = True


def serve(args):
    Handler.protocol_version = "HTTP/1.0" if args.http10 else "HTTP/1.1"
    srv = Server((args.host, args.port), Handler)
    srv.log = Log(args.log)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"port": port, "pid": os.getpid()}, f)
        os.rename(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--http10", action="store_true")
    ap.add_argument("--comm", default="dt-pyserver")
    ap.add_argument("--wait-file")
    ap.add_argument("--fork-child", action="store_true")
    args = ap.parse_args()
    set_comm(args.comm)
    if args.wait_file:
        while not os.path.exists(args.wait_file):
            time.sleep(0.02)
    if args.fork_child:
        pid = os.fork()
        if pid:
            signal.signal(signal.SIGTERM, lambda *_: (os.kill(pid, signal.SIGTERM), os._exit(0)))
            os.waitpid(pid, 0)
            return
    serve(args)


if __name__ == "__main__":
    sys.exit(main())
