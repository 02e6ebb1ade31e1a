"""A two-hop gRPC chain (Debian's python3-grpcio) whose client sends a W3C traceparent in its
metadata, for tests/e2e/test_trace_grpc_keep.py:

    /usr/bin/python3 tests/e2e/tools/grpc_chain.py back PORT
    /usr/bin/python3 tests/e2e/tools/grpc_chain.py front PORT BACK_PORT
    /usr/bin/python3 tests/e2e/tools/grpc_chain.py client PORT

back: demo.Echo of grpc_calls.py (Unary, Slow, Down), threads named dt-grpcback.
front: demo.Front/Call, threads named dt-grpcfront. It answers at once and then invokes the
back asynchronously (as a serverless platform hands an event to its function), the method
named by the request's payload, forwarding the trace: the same trace id with a span id of its
own (a new traceparent).
client: NORMAL calls whose back call is Unary, then SLOW Slow and FAILED Down ones, each in a
trace of its own; prints each, one JSON object per line: {"trace_id": "...", "back": "Slow"}.
"""
import json
import os
import sys
import threading
import time
from concurrent import futures

import grpc

import grpc_calls

NORMAL, SLOW, FAILED = 200, 4, 4


def _name_threads(name):
    # Before the server's threads start: they inherit the name.
    with open("/proc/self/task/%d/comm" % threading.get_native_id(), "w") as f:
        f.write(name)


def _traceparent(trace_id):
    return "00-%s-%s-01" % (trace_id, os.urandom(8).hex())


def front(port, back_port):
    channel = grpc.insecure_channel("127.0.0.1:%d" % back_port)  # connects at its first call
    pool = futures.ThreadPoolExecutor(max_workers=4)

    def forward(method, trace_id):
        try:
            channel.unary_unary("/%s/%s" % (grpc_calls.SERVICE, method))(
                b"hello", metadata=(("traceparent", _traceparent(trace_id)),))
        except grpc.RpcError:
            pass  # the back's failure is the back's span's to report

    def call(request, context):
        tp = dict(context.invocation_metadata()).get("traceparent", "")
        pool.submit(forward, request.decode(), tp.split("-")[1] if tp.count("-") == 3 else "")
        return b"accepted"

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "demo.Front", {"Call": grpc.unary_unary_rpc_method_handler(call)})])
    server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    return server


def client(port):
    made = []
    with grpc.insecure_channel("127.0.0.1:%d" % port) as channel:
        call = channel.unary_unary("/demo.Front/Call")
        for back, n in (("Unary", NORMAL), ("Slow", SLOW), ("Down", FAILED)):
            for _ in range(n):
                trace_id = os.urandom(16).hex()
                call(back.encode(), metadata=(("traceparent", _traceparent(trace_id)),))
                made.append({"trace_id": trace_id, "back": back})
    time.sleep(0.5)  # the front's last forwards (Slow: 200 ms) end before the client does
    for c in made:
        print(json.dumps(c))


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "client":
        client(port)
        return
    if mode == "back":
        _name_threads("dt-grpcback")
        server = grpc_calls.serve(port)
    else:
        _name_threads("dt-grpcfront")
        server = front(port, int(sys.argv[3]))
    print("serving", flush=True)
    threading.Event().wait()  # until killed
    server.stop(0)


if __name__ == "__main__":
    main()
