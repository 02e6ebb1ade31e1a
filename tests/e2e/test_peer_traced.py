"""A SERVER span whose caller is a traced process's client connection hangs under that CLIENT
span, whatever the caller's trace header says (issue 15, item 3): here across a dual-stack
listener, which sees its IPv4 client as ::ffff:127.0.0.1."""
import os
import subprocess

import pytest

import capture_helpers as ch

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

CLIENT = """
import http.client, sys
sys.stdin.readline()
for i in range(3):
    c = http.client.HTTPConnection(sys.argv[3], int(sys.argv[1]), timeout=10)
    c.request("GET", "/dual/%d/%s" % (i, sys.argv[2]), headers={
        "traceparent": "00-%032x-%016x-01" % (0xabc0 + i, 0x1234 + i)})
    r = c.getresponse(); r.read(); assert r.status == 200, r.status
    c.close()
"""


@pytest.mark.parametrize("listen,peer,connect", [("::", "::ffff:127.0.0.1", "127.0.0.1"),
                                                 ("::1", "::1", "::1")],
                         ids=["ipv4-client-of-dual-stack", "ipv6"])
def test_issue15_item3_server_hangs_under_its_caller_dual_stack_and_ipv6(start_tracer, workdir,
                                                                     listen, peer, connect):
    """Each SERVER span hangs under its caller's CLIENT span (the tuples of the two ends match:
    an IPv4 client of a dual-stack socket is IPv4 on both), and IPv6 addresses are whole."""
    srv = subprocess.Popen([ch.PY, "-c", DUAL_STACK_SERVER, listen, peer], stdout=subprocess.PIPE, text=True)
    cli = None
    try:
        port = int(srv.stdout.readline())
        tag = ch.uid()
        cli = subprocess.Popen([ch.PY, "-c", CLIENT, str(port), tag, connect], stdin=subprocess.PIPE,
                               text=True)
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
    servers = {s["path"]: s for s in tr.spans if s["kind"] == ch.SERVER and s["pid"] == srv.pid}
    clients = {s["path"]: s for s in tr.spans if s["kind"] == ch.CLIENT and s["pid"] == cli.pid}
    paths = ["/dual/%d/%s" % (i, tag) for i in range(3)]
    assert sorted(servers) == sorted(paths) and sorted(clients) == sorted(paths), \
        "want one SERVER and one CLIENT span per request: %s %s\n%s" % (
            sorted(servers), sorted(clients), tr.diag())
    want_addr = "127.0.0.1" if connect == "127.0.0.1" else connect
    for p in paths:
        for s in (servers[p], clients[p]):
            assert (s["attrs"]["server.address"], s["attrs"]["client.address"]) == (
                want_addr, want_addr), "%s: addresses %s" % (p, s["attrs"])
        assert servers[p]["parent_span_id"] == clients[p]["span_id"], (
            "%s: SERVER span's parent %r, want its caller's CLIENT span %r (the header names "
            "the caller's caller)\n%s" % (p, servers[p]["parent_span_id"], clients[p]["span_id"],
                                           tr.diag()))


def test_issue15_item3_caller_through_dnat_is_the_parent(start_tracer, workdir):
    """A traced client dials a ClusterIP-like address (10.96.0.10:80) that nftables DNATs to
    the traced server (10.96.1.1:PORT), in a network namespace of the test's own: the client's
    tuple and the server's differ in the server end, and each SERVER span still hangs under its
    CLIENT span (the client end is what both sides share)."""
    ns = "dt-nat-%d" % os.getpid()
    run = lambda *a, **kw: subprocess.run(list(a), check=True, capture_output=True, text=True,
                                          timeout=30, **kw)
    run("ip", "netns", "add", ns)
    srv = cli = None
    try:
        run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        for addr in ("10.96.0.10/32", "10.96.1.1/32"):
            run("ip", "netns", "exec", ns, "ip", "addr", "add", addr, "dev", "lo")
        srv = subprocess.Popen(["ip", "netns", "exec", ns, ch.PY, "-c", DUAL_STACK_SERVER, "::",
                                "::ffff:10.96.0.10"], stdout=subprocess.PIPE, text=True)
        port = int(srv.stdout.readline())
        run("ip", "netns", "exec", ns, "nft", "-f", "-", input=(
            "table ip dtnat {\n chain out {\n  type nat hook output priority -100;\n"
            "  ip daddr 10.96.0.10 tcp dport 80 dnat to 10.96.1.1:%d\n }\n}\n" % port))
        tag = ch.uid()
        cli = subprocess.Popen(["ip", "netns", "exec", ns, ch.PY, "-c", CLIENT_DNAT, tag],
                               stdin=subprocess.PIPE, text=True)
        tr = start_tracer(["--pid", str(srv.pid), "--pid", str(cli.pid)])
        cli.stdin.write("\n")
        cli.stdin.close()
        assert cli.wait(30) == 0, "harness: the client failed (DNAT not in place?)"
        tr.stop_ok()
    finally:
        for p in (srv, cli):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
    servers = {s["path"]: s for s in tr.spans if s["kind"] == ch.SERVER}
    clients = {s["path"]: s for s in tr.spans if s["kind"] == ch.CLIENT}
    paths = ["/nat/%d/%s" % (i, tag) for i in range(3)]
    assert sorted(servers) == sorted(paths) and sorted(clients) == sorted(paths), \
        "want one SERVER and one CLIENT span per request: %s %s\n%s" % (
            sorted(servers), sorted(clients), tr.diag())
    for p in paths:
        assert clients[p]["attrs"]["server.address"] == "10.96.0.10", clients[p]["attrs"]
        assert servers[p]["attrs"]["server.address"] == "10.96.1.1", servers[p]["attrs"]
        assert servers[p]["parent_span_id"] == clients[p]["span_id"], (
            "%s: SERVER span's parent %r, want its caller's CLIENT span %r\n%s"
            % (p, servers[p]["parent_span_id"], clients[p]["span_id"], tr.diag()))


CLIENT_DNAT = """
import http.client, sys
sys.stdin.readline()
for i in range(3):
    c = http.client.HTTPConnection("10.96.0.10", 80, timeout=10)
    c.request("GET", "/nat/%d/%s" % (i, sys.argv[1]), headers={
        "traceparent": "00-%032x-%016x-01" % (0xdef0 + i, 0x5678 + i)})
    r = c.getresponse(); r.read(); assert r.status == 200, r.status
    c.close()
"""
