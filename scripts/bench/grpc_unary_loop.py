"""A gRPC unary loop for scripts/bench/h2_overhead.sh: one channel to the demo.Echo server of
tests/e2e/tools/grpc_calls.py on 127.0.0.1:PORT, THREADS threads each calling Unary back to
back for SECONDS. Prints one line: "calls_per_sec p50_us p99_us calls failed".

    /usr/bin/python3 scripts/bench/grpc_unary_loop.py PORT SECONDS [THREADS=4]
"""
import sys
import threading
import time

import grpc

PATH = "/demo.Echo/Unary"


def main():
    port, secs = int(sys.argv[1]), float(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    lat, failed = [], [0]
    lock = threading.Lock()
    with grpc.insecure_channel("127.0.0.1:%d" % port) as channel:
        call = channel.unary_unary(PATH)
        call(b"warm")
        stop = time.monotonic() + secs

        def run():
            mine, bad = [], 0
            while time.monotonic() < stop:
                t0 = time.monotonic_ns()
                try:
                    call(b"hello")
                    mine.append(time.monotonic_ns() - t0)
                except grpc.RpcError:
                    bad += 1
            with lock:
                lat.extend(mine)
                failed[0] += bad

        t0 = time.monotonic()
        workers = [threading.Thread(target=run) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.monotonic() - t0
    lat.sort()
    if not lat:
        print("0 0 0 0 %d" % failed[0])
        return
    print("%.1f %.1f %.1f %d %d" % (len(lat) / elapsed, lat[len(lat) // 2] / 1000,
                                    lat[min(len(lat) - 1, len(lat) * 99 // 100)] / 1000, len(lat),
                                    failed[0]))


if __name__ == "__main__":
    main()
