#!/usr/bin/env python3
"""Threaded TCP echo server (comm `dt-echo`) for the garbage / non-HTTP capture tests.

Echoes every byte back until the peer shuts down its side. Writes {"port", "pid"} to
--port-file once listening and logs one JSON line per connection ({"bytes": n}) to --log.
"""
import argparse
import ctypes
import json
import os
import signal
import socket
import threading


def handle(conn, log, lock):
    total = 0
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
            total += len(data)
    if log:
        with lock, open(log, "a") as f:
            f.write(json.dumps({"bytes": total}) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--comm", default="dt-echo")
    args = ap.parse_args()
    ctypes.CDLL(None).prctl(15, args.comm.encode()[:15], 0, 0, 0)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"port": srv.getsockname()[1], "pid": os.getpid()}, f)
    os.rename(tmp, args.port_file)
    lock = threading.Lock()
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn, args.log, lock), daemon=True).start()


if __name__ == "__main__":
    main()
