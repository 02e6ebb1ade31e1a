"""A real gRPC server and client (Debian's python3-grpcio; generic handlers, raw bytes, so no
generated code) on 127.0.0.1:PORT, one channel: unary calls, server-streaming calls, and failures
(aborted before any message: trailers-only responses). Prints the calls it made, one JSON object
per line: {"method": "/demo.Echo/Unary", "code": 0}.

    /usr/bin/python3 tests/e2e/tools/grpc_calls.py PORT
"""
import json
import sys
import time
from concurrent import futures

import grpc

SERVICE = "demo.Echo"
# (method, how many calls, the status the server ends each with)
PLAN = [("Unary", 20, grpc.StatusCode.OK), ("Stream", 3, grpc.StatusCode.OK),
        ("Missing", 5, grpc.StatusCode.NOT_FOUND), ("Down", 2, grpc.StatusCode.UNAVAILABLE)]


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


def serve(port):
    """The demo.Echo server on 127.0.0.1:port, started; the caller stops it."""
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Missing": grpc.unary_unary_rpc_method_handler(missing),
        "Down": grpc.unary_unary_rpc_method_handler(down),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
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
        else:
            channel.unary_unary(path)(b"hello")
        return path, 0
    except grpc.RpcError as e:
        return path, e.code().value[0]


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
