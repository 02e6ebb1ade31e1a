"""fn-grpc: a gRPC user function (Debian's python3-grpcio), reached over cleartext HTTP/2
through the ingress, the activator and its queue-proxy, as Knative carries gRPC. Service
demo.Echo (the service of tests/e2e/tools/grpc_calls.py: generic handlers on raw bytes, no
generated code), method Unary: a little CPU and a 2 ms wait, then the request's bytes back.

Function-side anomalies of X-Difftrace-Inject (request metadata x-difftrace-inject) as the
HTTP functions have them, answered with gRPC status codes: slow:N sleeps, 500 ends the call
with INTERNAL (13, a trailers-only response), reset cancels the stream (RST_STREAM) instead of
answering. A malformed entry ends the call with INVALID_ARGUMENT."""
import os
import signal
import sys
import threading
import time
import zlib
from concurrent import futures

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fnlib  # noqa: E402

NAME = "fn-grpc"
SERVICE = "demo.Echo"


class Metadata:
    """Invocation metadata with the get_all() of http.client headers, for fnlib.own_anomaly."""

    def __init__(self, md):
        self.md = md

    def get_all(self, name):
        return [v for k, v in self.md if k == name.lower()] or None


def unary(request, context):
    import grpc  # imported by main() after set_comm (grpc's threads inherit the comm); cached here
    md = Metadata(context.invocation_metadata())
    try:
        anomaly = fnlib.own_anomaly(md, NAME, ("slow", "500", "reset"))
    except ValueError as e:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
    if anomaly:
        kind, ms = anomaly
        trace = (md.get_all("traceparent") or ["-"])[0]
        print(f"{NAME}: injecting {kind} {ms:g}ms (traceparent {trace})", file=sys.stderr, flush=True)
        if kind == "slow":
            time.sleep(ms / 1000)
        elif kind == "500":
            context.abort(grpc.StatusCode.INTERNAL, f"difftrace: injected 500 at {NAME}")
        else:
            context.cancel()  # RST_STREAM(CANCEL): the stream's counterpart of a TCP reset
            return b""
    crc = 0
    for i in range(200):  # ~0.1 ms of interpreter work, as fn-hello
        crc = zlib.crc32(b"%d" % i + request, crc)
    time.sleep(0.002)
    return request


def main():
    import argparse
    ap = argparse.ArgumentParser(description=f"{NAME}: demo platform gRPC user function")
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    fnlib.set_comm(NAME)  # before grpc starts its threads, which inherit it
    import grpc
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32),
                         options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        SERVICE, {"Unary": grpc.unary_unary_rpc_method_handler(unary)})])
    if server.add_insecure_port(f"127.0.0.1:{args.port}") == 0:
        sys.exit(f"{NAME}: cannot listen on 127.0.0.1:{args.port} (is the port in use?)")
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"{NAME}: listening on 127.0.0.1:{args.port} (pid {os.getpid()})", file=sys.stderr, flush=True)
    while not stop.wait(0.2):
        pass
    server.stop(2).wait()


if __name__ == "__main__":
    main()
