#!/usr/bin/env python3
"""HTTP/1.x load client for difftrace capture tests: `pyclient.py SPEC.json OUT.json`.

SPEC (JSON):
  {"host": "127.0.0.1", "port": 8080, "concurrency": 50, "barrier": false, "timeout": 30,
   "conns": [                       # one entry per client connection
     {"keepalive": true,            # false: one request, "Connection: close"
      "mode": "http",               # "http" = http.client; "raw" = hand-written socket I/O
      "version": "1.1",             # raw mode only: "1.0" or "1.1"
      "split_sleep_ms": 5,          # raw mode: pause between request pieces
      "requests": [{"method": "GET", "path": "/bytes/10/r1", "headers": {},
                    "body_size": 0, "chunked_body": false, "expect_continue": false,
                    "split": [3, 20, "body"]}]}]}  # raw: send the request in pieces cut at
                                                    # these offsets ("body": where it starts)
With "barrier": true every connection gets its own thread, connects, and waits until all are
connected before sending, so that len(conns) connections are open at once.

OUT (JSON): {"results": [{"conn", "seq", "method", "path", "status", "start_ns", "end_ns",
  "latency_ns", "local_port", "resp_bytes", "error"}], "errors": n, "started_ns", "ended_ns"}
start_ns is taken right before the first request byte is sent (after connect), end_ns right
after the last response byte is read; both CLOCK_REALTIME ns. latency_ns is measured on the
monotonic clock over the same interval.
"""
import ctypes
import http.client
import json
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

BLOCK = (b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345" * 32768)  # 1 MiB


def body_of(n):
    if n <= len(BLOCK):
        return BLOCK[:n]
    return (BLOCK * (n // len(BLOCK) + 1))[:n]


def now():
    return time.time_ns(), time.monotonic_ns()


class RawConn:
    """Minimal HTTP/1.x client on a plain socket (exact control of bytes and syscalls)."""

    def __init__(self, host, port, timeout):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = None

    def connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rf = self.sock.makefile("rb")

    def close(self):
        if self.sock:
            try:
                self.rf.close()
                self.sock.close()
            finally:
                self.sock = None

    def build(self, req, version, keepalive):
        body = body_of(req.get("body_size", 0))
        lines = ["%s %s HTTP/%s" % (req.get("method", "GET"), req["path"], version),
                 "Host: %s:%d" % (self.host, self.port), "User-Agent: dt-pyclient"]
        for k, v in (req.get("headers") or {}).items():
            lines.append("%s: %s" % (k, v))
        if req.get("chunked_body"):
            lines.append("Transfer-Encoding: chunked")
            half = len(body) // 2
            parts = [p for p in (body[:half], body[half:]) if p]
            body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        elif body or req.get("method", "GET") in ("POST", "PUT"):
            lines.append("Content-Length: %d" % len(body))
        if req.get("expect_continue"):
            lines.append("Expect: 100-continue")
        if version == "1.1" and not keepalive:
            lines.append("Connection: close")
        if version == "1.0" and keepalive:
            lines.append("Connection: keep-alive")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def read_response(self, method):
        while True:  # interim 1xx responses (100 Continue) precede the final one
            status, n, will_close = self.read_one(method)
            if not (100 <= status < 200 and status != 101):
                return status, n, will_close

    def read_one(self, method):
        line = self.rf.readline(65537)
        if not line:
            raise ConnectionError("connection closed before status line")
        parts = line.split(None, 2)
        version, status = parts[0].decode(), int(parts[1])
        headers = {}
        while True:
            h = self.rf.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        conn_hdr = headers.get("connection", "").lower()
        will_close = conn_hdr == "close" or (version == "HTTP/1.0" and conn_hdr != "keep-alive")
        n = 0
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size = int(self.rf.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rf.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                n += len(self.rf.read(size))
                self.rf.readline(65537)
        elif "content-length" in headers:
            want = int(headers["content-length"])
            got = self.rf.read(want)
            if len(got) != want:
                raise ConnectionError("short body %d/%d" % (len(got), want))
            n = want
        else:
            n = len(self.rf.read())  # close-delimited
            will_close = True
        return status, n, will_close


def run_conn(spec, ci, conn_spec, barrier, results):
    host, port, timeout = spec["host"], spec["port"], spec.get("timeout", 30)
    keepalive = conn_spec.get("keepalive", True)
    mode = conn_spec.get("mode", "http")
    version = conn_spec.get("version", "1.1")
    split_sleep = conn_spec.get("split_sleep_ms", 5) / 1000.0
    out = []
    if mode == "raw":
        conn = RawConn(host, port, timeout)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.connect()
    except Exception as e:  # recorded per request below
        conn_err = "connect: %r" % (e,)
    else:
        conn_err = None
    if barrier is not None:
        try:
            barrier.wait(timeout)
        except threading.BrokenBarrierError:
            pass
    for si, req in enumerate(conn_spec["requests"]):
        rec = {"conn": ci, "seq": si, "method": req.get("method", "GET"), "path": req["path"],
               "status": None, "start_ns": None, "end_ns": None, "latency_ns": None,
               "local_port": None, "resp_bytes": None, "error": conn_err}
        out.append(rec)
        if conn_err:
            continue
        try:
            if mode == "raw":
                if conn.sock is None:
                    conn.connect()
                data = conn.build(req, version, keepalive)
                body_at = data.index(b"\r\n\r\n") + 4
                cuts = sorted(set(body_at if c == "body" else c for c in req.get("split", [])))
                cuts = [c for c in cuts if 0 < c < len(data)]
                pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
                rec["local_port"] = conn.sock.getsockname()[1]
                w0, m0 = now()
                if req.get("expect_continue"):  # headers, wait for 100 Continue, body
                    conn.sock.sendall(data[:body_at])
                    interim, _, _ = conn.read_one(rec["method"])
                    if interim != 100:
                        raise ConnectionError("no 100 Continue but %d" % interim)
                    pieces = [data[body_at:]]
                for pi, piece in enumerate(pieces):
                    if pi:
                        time.sleep(split_sleep)
                    conn.sock.sendall(piece)
                status, n, will_close = conn.read_response(rec["method"])
                w1, m1 = now()
                if will_close:
                    conn.close()
            else:
                headers = dict(req.get("headers") or {})
                headers.setdefault("User-Agent", "dt-pyclient")
                if not keepalive:
                    headers["Connection"] = "close"
                body = None
                if req.get("body_size") or rec["method"] in ("POST", "PUT"):
                    body = body_of(req.get("body_size", 0))
                if conn.sock is None:
                    conn.connect()
                rec["local_port"] = conn.sock.getsockname()[1]
                w0, m0 = now()
                conn.request(rec["method"], req["path"], body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                w1, m1 = now()
                status, n = resp.status, len(data)
                if resp.will_close:
                    conn.close()
            rec.update(status=status, start_ns=w0, end_ns=w1, latency_ns=m1 - m0,
                       resp_bytes=n)
        except Exception as e:
            rec["error"] = "%s: %r" % (type(e).__name__, e)
            try:
                conn.close()
            except Exception:
                pass
            if mode == "http":
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.close()
    except Exception:
        pass
    results[ci] = out


def run(spec):
    conns = spec["conns"]
    results = [None] * len(conns)
    started = time.time_ns()
    if spec.get("barrier"):
        barrier = threading.Barrier(len(conns))
        threads = [threading.Thread(target=run_conn, args=(spec, i, c, barrier, results))
                   for i, c in enumerate(conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        with ThreadPoolExecutor(max_workers=max(1, spec.get("concurrency", 1))) as ex:
            futs = [ex.submit(run_conn, spec, i, c, None, results) for i, c in enumerate(conns)]
            for f in futs:
                f.result()
    flat = [r for rs in results for r in (rs or [])]
    return {"results": flat, "errors": sum(1 for r in flat if r["error"]),
            "started_ns": started, "ended_ns": time.time_ns()}


def main():
    try:
        ctypes.CDLL(None).prctl(15, b"dt-pyclient", 0, 0, 0)
    except Exception:
        pass
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    out = run(spec)
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
