"""The gRPC server and client of grpc_calls.py as two processes, for `difftrace trace` of the
server alone (tests/e2e/test_trace_grpc.py):

    /usr/bin/python3 tests/e2e/tools/grpc_live.py server PORT
    /usr/bin/python3 tests/e2e/tools/grpc_live.py client PORT [PLAN]

PLAN: "all" (grpc_calls.PLAN and MORE, the default; then CONCURRENT unary calls at once on the
new channel) or "filter" (FILTER_PLAN: mostly fast unary calls, a few failures, slow and
cancelled calls, for the in-kernel filter). The server names its threads
dt-grpcserver (the filter test's config matches that comm).

The client opens one channel and makes one call on it, prints "warm", and waits for a line on
stdin (the tracer starts meanwhile: that connection was open before it). Then it makes
grpc_calls.PLAN's calls on that channel ("old") and on a new one ("new"), and prints each call,
one JSON object per line: {"method": "/demo.Echo/Unary", "code": 0, "channel": "new",
"duration_ns": 812345} (CLOCK_MONOTONIC around the call; the concurrent ones have
"channel": "new-concurrent").
"""
import json
import sys
import threading
import time

import grpc

import grpc_calls


# Normal calls to keep in the kernel, failures and slow calls (over 100 ms) to report.
FILTER_PLAN = [("Unary", 300, grpc.StatusCode.OK), ("Missing", 4, grpc.StatusCode.NOT_FOUND),
               ("Down", 2, grpc.StatusCode.UNAVAILABLE), ("Slow", 3, grpc.StatusCode.OK),
               ("Cancel", 2, grpc.StatusCode.CANCELLED)]
# Streams open at once on one connection (the 100).
CONCURRENT = 100


def client(port, plan, concurrent):
    target = "127.0.0.1:%d" % port
    made = []
    with grpc.insecure_channel(target) as old:
        grpc_calls.call(old, "Unary")
        print("warm", flush=True)
        sys.stdin.readline()
        # Its own subchannel pool: a new TCP connection, not the first channel's.
        with grpc.insecure_channel(target,
                                   options=[("grpc.use_local_subchannel_pool", 1)]) as new:
            for label, channel in (("old", old), ("new", new)):
                for name, count, _ in plan:
                    for _ in range(count):
                        t0 = time.monotonic_ns()
                        path, code = grpc_calls.call(channel, name)
                        made.append({"method": path, "code": code, "channel": label,
                                     "duration_ns": time.monotonic_ns() - t0})
            if concurrent:
                for path, code, duration in grpc_calls.call_concurrent(new, "Unary", concurrent):
                    made.append({"method": path, "code": code, "channel": "new-concurrent",
                                 "duration_ns": duration})
    for c in made:
        print(json.dumps(c))


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "client":
        if sys.argv[3:] == ["filter"]:
            client(port, FILTER_PLAN, 0)
        else:
            client(port, grpc_calls.PLAN + grpc_calls.MORE, CONCURRENT)
        return
    # Before the server's threads start: they inherit the name.
    with open("/proc/self/task/%d/comm" % threading.get_native_id(), "w") as f:
        f.write("dt-grpcserver")
    server = grpc_calls.serve(port)
    print("serving", flush=True)
    threading.Event().wait()  # until killed
    server.stop(0)


if __name__ == "__main__":
    main()
