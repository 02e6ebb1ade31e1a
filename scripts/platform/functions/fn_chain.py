"""fn-chain: a Python function that calls another function (fn-hello) through the platform's
ingress, the way one Knative service calls another. It copies the trace headers and the
anomaly headers of its own request onto the downstream call unchanged, and keeps one
keep-alive connection per worker thread. A downstream 5xx or connection error becomes 502.
"""
import http.client
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fnlib  # noqa: E402

FORWARD = fnlib.TRACE_HEADERS + (fnlib.INJECT, fnlib.INJECTED)
_local = threading.local()
_downstream = None  # urllib.parse.SplitResult, set in main


def _conn():
    if getattr(_local, "conn", None) is None:
        _local.conn = http.client.HTTPConnection(_downstream.hostname, _downstream.port, timeout=30)
    return _local.conn


def call(path, headers):
    """GET path downstream; one retry when a kept-alive connection turns out closed (the
    ingress closes idle connections), which is safe because nothing reached a function."""
    for attempt in (0, 1):
        conn = _conn()
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            conn.close()
            _local.conn = None
            if attempt:
                raise


def work(req):
    headers = {h: v for h in FORWARD for v in [",".join(req.headers.get_all(h) or [])] if v}
    path = _downstream.path.rstrip("/") + "/?name=chain"
    try:
        status, body = call(path, headers)
    except OSError as e:
        return 502, {"error": f"fn-chain: downstream {type(e).__name__}: {e}"}
    if status >= 500:
        return 502, {"error": f"fn-chain: downstream answered {status}", "downstream_status": status}
    return 200, {"downstream_status": status, "downstream_bytes": len(body)}


if __name__ == "__main__":
    import argparse
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--downstream", default="http://127.0.0.1:8080/fn-hello/")
    known, _ = pre.parse_known_args()
    _downstream = urllib.parse.urlsplit(known.downstream)
    fnlib.serve("fn-chain", work)
