"""fn-hello: the small synchronous Python function. A little CPU (building a greeting and a
checksum) and a 2 ms wait standing in for a cache or database call (?io_ms=N)."""
import os
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fnlib  # noqa: E402


def work(req):
    io_ms = req.int_param("io_ms", 2, 10000)
    who = req.query.get("name", "world")
    crc = 0
    for i in range(200):  # ~0.1 ms of interpreter work
        crc = zlib.crc32(f"{who}:{i}".encode(), crc)
    time.sleep(io_ms / 1000)
    return 200, {"greeting": f"hello, {who}", "crc32": crc}


if __name__ == "__main__":
    fnlib.serve("fn-hello", work)
