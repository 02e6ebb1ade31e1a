"""A real gRPC server and client (Debian's python3-grpcio; generic handlers, raw bytes, so no
generated code) on 127.0.0.1:PORT, one channel: unary calls, server-streaming calls, and failures
(aborted before any message: trailers-only responses). MORE (the live test's) adds
client-streaming and bidirectional calls and calls the client cancels after the first message
(RST_STREAM after the response headers), and call_concurrent makes many calls at once on one
channel (concurrent streams on one connection). Prints the calls it made, one JSON object
per line: {"method": "/demo.Echo/Unary", "code": 0}.

    /usr/bin/python3 tests/e2e/tools/grpc_calls.py PORT
"""
import json
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "demo.Echo"
# (method, how many calls, the status the server ends each with)
PLAN = [("Unary", 20, grpc.StatusCode.OK), ("Stream", 3, grpc.StatusCode.OK),
        ("Missing", 5, grpc.StatusCode.NOT_FOUND), ("Down", 2, grpc.StatusCode.UNAVAILABLE)]
MORE = [("ClientStream", 3, grpc.StatusCode.OK), ("Bidi", 3, grpc.StatusCode.OK),
        ("Cancel", 3, grpc.StatusCode.CANCELLED)]


def unary(request, context):
    return request


def missing(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")


def down(request, context):
    context.abort(grpc.StatusCode.UNAVAILABLE, "try later")


def slow(request, context):
    time.sleep(0.2)  # over the filter test's 100ms threshold (test_trace_grpc.py)
    return request


def stream(request, context):
    for i in range(3):
        yield request + bytes([i])


def client_stream(requests, context):
    return b"".join(requests)


def bidi(requests, context):
    for request in requests:
        yield request


def cancelled(request, context):
    """One message, then nothing until the client cancels (at most 5 s)."""
    yield request
    for _ in range(50):
        if not context.is_active():
            return
        time.sleep(0.1)


def serve(port):
    """The demo.Echo server on 127.0.0.1:port, started; the caller stops it."""
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Missing": grpc.unary_unary_rpc_method_handler(missing),
        "Down": grpc.unary_unary_rpc_method_handler(down),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Cancel": grpc.unary_stream_rpc_method_handler(cancelled),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    return server


def call(channel, name):
    """One call of method name; its path and the status code it ended with."""
    path = "/%s/%s" % (SERVICE, name)
    try:
        if name == "Stream":
            list(channel.unary_stream(path)(b"hello"))
        elif name == "ClientStream":
            channel.stream_unary(path)(iter([b"a", b"b", b"c"]))
        elif name == "Bidi":
            list(channel.stream_stream(path)(iter([b"a", b"b", b"c"])))
        elif name == "Cancel":
            responses = channel.unary_stream(path)(b"hello")
            next(responses)
            responses.cancel()
            # cancel() returns before the RST_STREAM leaves: the call lasts until it has.
            time.sleep(0.05)
            return path, grpc.StatusCode.CANCELLED.value[0]
        else:
            channel.unary_unary(path)(b"hello")
        return path, 0
    except grpc.RpcError as e:
        return path, e.code().value[0]


def call_concurrent(channel, name, count):
    """count unary calls of method name started at once on channel (one connection, count
    streams open together); each call's path, status code and CLOCK_MONOTONIC duration."""
    path = "/%s/%s" % (SERVICE, name)
    lock = threading.Lock()
    ends = {}

    def ended(i):
        def done(_):
            with lock:
                ends[i] = time.monotonic_ns()
        return done

    starts, futures_ = [], []
    for i in range(count):
        starts.append(time.monotonic_ns())
        f = channel.unary_unary(path).future(b"hello")
        f.add_done_callback(ended(i))
        futures_.append(f)
    made = []
    for i, f in enumerate(futures_):
        try:
            f.result(timeout=60)
            code = 0
        except grpc.RpcError as e:
            code = e.code().value[0]
        made.append((path, code, starts[i]))
    deadline = time.monotonic() + 10  # done callbacks may run just after result() returns
    while time.monotonic() < deadline:
        with lock:
            if len(ends) == count:
                return [(p, c, ends[i] - t0) for i, (p, c, t0) in enumerate(made)]
        time.sleep(0.001)
    raise RuntimeError("%d of %d calls' done callbacks never ran" % (count - len(ends), count))


def main():
    port = int(sys.argv[1])
    server = serve(port)
    made = []
    with grpc.insecure_channel("127.0.0.1:%d" % port) as channel:
        for name, count, _ in PLAN:
            for _ in range(count):
                path, code = call(channel, name)
                made.append({"method": path, "code": code})
    server.stop(1).wait()
    for made_call in made:
        print(json.dumps(made_call))


if __name__ == "__main__":
    main()
