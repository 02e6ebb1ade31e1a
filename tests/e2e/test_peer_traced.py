"""A SERVER span whose caller is a traced process's client connection hangs under that CLIENT
span, whatever the caller's trace header says (issue 15, item 3): across a dual-stack listener,
which sees its IPv4 client as ::ffff:127.0.0.1, over IPv6, and through DNAT."""
import os
import subprocess

import pytest

import capture_helpers as ch

# argv: listen address, the peer address every request must come from.
DUAL_STACK_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, peer = s.accept()
    buf = b""
    while b"\\r\\n\\r\\n" not in buf:
        got = c.recv(65536)
        if not got:
            break
        buf += got
    if buf:
        assert peer[0] == sys.argv[2], peer  # e.g. ::ffff:127.0.0.1: an IPv4 client
        c.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok")
    c.close()
"""

# argv: host, port, path prefix. Three requests with a traceparent, once a line is on stdin
# (the tracer is attached by then).
CLIENT = """
import http.client, sys
sys.stdin.readline()
for i in range(3):
    c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=10)
    c.request("GET", "%s/%d" % (sys.argv[3], i), headers={
        "traceparent": "00-%032x-%016x-01" % (0xabc0 + i, 0x1234 + i)})
    r = c.getresponse(); r.read(); assert r.status == 200, r.status
    c.close()
"""


def _trace_calls(start_tracer, prefix, server_args, client_args, setup=lambda port: None):
    """Starts the server (prefix + server_args), then the client (prefix + client_args and
    the server's port), traces both by pid and lets the client make its requests; returns the
    tracer and the request paths."""
    srv = cli = None
    try:
        srv = subprocess.Popen(prefix + [ch.PY, "-c", DUAL_STACK_SERVER] + server_args,
                               stdout=subprocess.PIPE, text=True)
        port = int(srv.stdout.readline())
        setup(port)
        path = "/call/%s" % ch.uid()
        cli = subprocess.Popen(prefix + [ch.PY, "-c", CLIENT] + client_args(port) + [path],
                               stdin=subprocess.PIPE, text=True)
        tr = start_tracer(["--pid", str(srv.pid), "--pid", str(cli.pid)])
        cli.stdin.write("\n")
        cli.stdin.close()
        assert cli.wait(30) == 0, "harness: the client failed"
        tr.stop_ok()
    finally:
        for p in (srv, cli):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    return tr, ["%s/%d" % (path, i) for i in range(3)]


def _servers_and_clients(tr, paths):
    """{path: span} of the SERVER spans and of the CLIENT spans, one of each per request."""
    servers = {s["path"]: s for s in tr.spans if s["kind"] == ch.SERVER}
    clients = {s["path"]: s for s in tr.spans if s["kind"] == ch.CLIENT}
    assert sorted(servers) == sorted(paths) and sorted(clients) == sorted(paths), \
        "want one SERVER and one CLIENT span per request: %s %s\n%s" % (
            sorted(servers), sorted(clients), tr.diag())
    for p in paths:
        assert servers[p]["parent_span_id"] == clients[p]["span_id"], (
            "%s: SERVER span's parent %r, want its caller's CLIENT span %r (the header names "
            "the caller's caller)\n%s" % (p, servers[p]["parent_span_id"], clients[p]["span_id"],
                                           tr.diag()))
    return servers, clients


@pytest.mark.parametrize("listen,peer,connect", [("::", "::ffff:127.0.0.1", "127.0.0.1"),
                                                 ("::1", "::1", "::1")],
                         ids=["ipv4-client-of-dual-stack", "ipv6"])
def test_issue15_item3_server_hangs_under_its_caller_dual_stack_and_ipv6(start_tracer, workdir,
                                                                     listen, peer, connect):
    """Each SERVER span hangs under its caller's CLIENT span (the tuples of the two ends match:
    an IPv4 client of a dual-stack socket is IPv4 on both), and IPv6 addresses are whole."""
    tr, paths = _trace_calls(start_tracer, [], [listen, peer],
                             lambda port: [connect, str(port)])
    servers, clients = _servers_and_clients(tr, paths)
    for p in paths:
        for s in (servers[p], clients[p]):
            assert (s["attrs"]["server.address"], s["attrs"]["client.address"]) == (
                connect, connect), "%s: addresses %s" % (p, s["attrs"])


def test_issue15_item3_caller_through_dnat_is_the_parent(start_tracer, workdir):
    """A traced client dials a ClusterIP-like address (10.96.0.10:80) that nftables DNATs to
    the traced server (10.96.1.1:PORT), in a network namespace of the test's own: the client's
    tuple and the server's differ in the server end, and each SERVER span still hangs under its
    CLIENT span (the client end is what both sides share)."""
    ns = "dt-nat-%d" % os.getpid()
    in_ns = ["ip", "netns", "exec", ns]

    def run(*a, **kw):
        subprocess.run(list(a), check=True, capture_output=True, text=True, timeout=30, **kw)

    def dnat(port):
        run(*in_ns, "nft", "-f", "-", input=(
            "table ip dtnat {\n chain out {\n  type nat hook output priority -100;\n"
            "  ip daddr 10.96.0.10 tcp dport 80 dnat to 10.96.1.1:%d\n }\n}\n" % port))

    run("ip", "netns", "add", ns)
    try:
        run(*in_ns, "ip", "link", "set", "lo", "up")
        for addr in ("10.96.0.10/32", "10.96.1.1/32"):
            run(*in_ns, "ip", "addr", "add", addr, "dev", "lo")
        tr, paths = _trace_calls(start_tracer, in_ns, ["::", "::ffff:10.96.0.10"],
                                 lambda port: ["10.96.0.10", "80"], setup=dnat)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
    servers, clients = _servers_and_clients(tr, paths)
    for p in paths:
        assert clients[p]["attrs"]["server.address"] == "10.96.0.10", clients[p]["attrs"]
        assert servers[p]["attrs"]["server.address"] == "10.96.1.1", servers[p]["attrs"]
