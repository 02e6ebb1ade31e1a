"""The gRPC server and client of grpc_calls.py as two processes, for `difftrace trace` of the
server alone (tests/e2e/test_trace_grpc.py):

    /usr/bin/python3 tests/e2e/tools/grpc_live.py server PORT
    /usr/bin/python3 tests/e2e/tools/grpc_live.py client PORT

The client opens one channel and makes one call on it, prints "warm", and waits for a line on
stdin (the tracer starts meanwhile: that connection was open before it). Then it makes
grpc_calls.PLAN's calls on that channel ("old") and on a new one ("new"), and prints each call,
one JSON object per line: {"method": "/demo.Echo/Unary", "code": 0, "channel": "new",
"duration_ns": 812345} (CLOCK_MONOTONIC around the call).
"""
import json
import sys
import threading
import time

import grpc

import grpc_calls


def client(port):
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
                for name, count, _ in grpc_calls.PLAN:
                    for _ in range(count):
                        t0 = time.monotonic_ns()
                        path, code = grpc_calls.call(channel, name)
                        made.append({"method": path, "code": code, "channel": label,
                                     "duration_ns": time.monotonic_ns() - t0})
    for c in made:
        print(json.dumps(c))


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "client":
        client(port)
        return
    server = grpc_calls.serve(port)
    print("serving", flush=True)
    threading.Event().wait()  # until killed
    server.stop(0)


if __name__ == "__main__":
    main()
