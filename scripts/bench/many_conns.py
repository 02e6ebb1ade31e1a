#!/usr/bin/env python3
"""Opens N keep-alive connections to an HTTP/1.1 server, sends one request on each (with a
fresh W3C traceparent) and reads its response, then holds them all open until stdin closes
or says anything; closes them and exits. Prints "open N ok M failed F" once every
connection has had its answer (the moment to measure a tracer under that many open
connections).
  usage: scripts/bench/many_conns.py HOST PORT [N=10000] [PATH=/index.html]
Raises its own open-file limit as needed (root)."""
import asyncio
import os
import resource
import sys


async def one(host, port, path, i, sem, conns):
    async with sem:  # connect in waves: the listen backlog is finite
        try:
            r, w = await asyncio.open_connection(host, port)
        except OSError:
            return False
    tp = "00-%032x-%016x-01" % (0xB0000000 << 96 | i, i + 1)
    w.write(("GET %s HTTP/1.1\r\nHost: %s\r\ntraceparent: %s\r\n\r\n" % (path, host, tp)).encode())
    try:
        head = await r.readuntil(b"\r\n\r\n")
        length = next((int(l.split(b":", 1)[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")), 0)
        await r.readexactly(length)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        w.close()
        return False
    conns.append(w)
    return head.startswith(b"HTTP/1.1 200")


async def main():
    host, port = sys.argv[1], int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    path = sys.argv[4] if len(sys.argv) > 4 else "/index.html"
    want = n + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    sem = asyncio.Semaphore(256)
    conns = []
    results = await asyncio.gather(*(one(host, port, path, i, sem, conns) for i in range(n)))
    ok = sum(results)
    print("open %d ok %d failed %d" % (len(conns), ok, n - ok), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    for w in conns:
        w.close()


if __name__ == "__main__":
    asyncio.run(main())
