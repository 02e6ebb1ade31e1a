"""A local stand-in for the Kubernetes API server's pods list/watch protocol, for testing
difftrace's API client where no control plane can run.

What it speaks, as kube-apiserver does:
  GET /api/v1/pods?fieldSelector=spec.nodeName=N[&limit=L&continue=C]
      200 PodList {"kind":"PodList","metadata":{"resourceVersion":RV[,"continue":C]},"items":[..]}
      (pages when limit is given, and of at most page_cap items, as a server may return fewer
      than the limit with a continue token; an expired continue token: 410 Status)
  GET /api/v1/pods?fieldSelector=..&watch=1&resourceVersion=RV&allowWatchBookmarks=true
      200, Transfer-Encoding: chunked, one JSON event per line: {"type":"ADDED|MODIFIED|DELETED",
      "object":Pod}, {"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":..}}};
      every event after RV first, then new ones as they happen, until timeoutSeconds;
      an RV older than the kept history: {"type":"ERROR","object":Status code 410 "Expired"}
  GET /apis/apps/v1/namespaces/NS/replicasets/NAME  200 ReplicaSet or 404 Status
  Without "Authorization: Bearer TOKEN": 401 Status.
Every pod and event carries its own resourceVersion, one counter for all, as etcd's revision.
The server can stop (closing open watches) and start again on the same port, its state kept.
"""
import copy
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class FakeApiServer:
    def __init__(self, token, port=0, page_cap=0):
        self.token = token
        self.page_cap = page_cap
        self.port = port
        self.cond = threading.Condition()
        self.rv = 1000
        self.pods = {}          # uid -> pod
        self.replicasets = {}   # (ns, name) -> ReplicaSet
        self.log = []           # (rv, type, object) of every change, oldest first
        self.oldest_rv = 0      # watches from before this get 410 (compacted)
        self.requests = []      # (path, query dict, Authorization header) in order
        self.generation = 0     # bumped to end every open watch
        self.watch_socks = set()
        self.httpd = None

    # ------------------------------------------------------------------ state
    def _next_rv(self):
        self.rv += 1
        return str(self.rv)

    def _event(self, kind, pod):
        pod["metadata"]["resourceVersion"] = self._next_rv()
        self.log.append((self.rv, kind, copy.deepcopy(pod)))
        self.cond.notify_all()

    def put_pod(self, pod):
        with self.cond:
            uid = pod["metadata"]["uid"]
            kind = "MODIFIED" if uid in self.pods else "ADDED"
            self.pods[uid] = copy.deepcopy(pod)
            self._event(kind, self.pods[uid])

    def delete_pod(self, uid):
        with self.cond:
            pod = self.pods.pop(uid)
            self._event("DELETED", pod)

    def put_replicaset(self, rs):
        with self.cond:
            self.replicasets[(rs["metadata"]["namespace"], rs["metadata"]["name"])] = rs

    def bookmark(self):
        """A BOOKMARK at a new resourceVersion (as the server sends when nothing changed)."""
        with self.cond:
            self.log.append((int(self._next_rv()), "BOOKMARK", None))
            self.cond.notify_all()
            return str(self.rv)

    def compact(self):
        """Forget the history: a watch from any version before now gets 410 Gone."""
        with self.cond:
            self.oldest_rv = self.rv + 1
            self.log.clear()
            self.cond.notify_all()

    def end_watches(self):
        """Ends every open watch cleanly (as a watch's timeoutSeconds does)."""
        with self.cond:
            self.generation += 1
            self.cond.notify_all()

    def watch_requests(self):
        with self.cond:
            return [q for p, q, a in self.requests if q.get("watch") == "1"]

    def list_requests(self):
        with self.cond:
            return [q for p, q, a in self.requests if p == "/api/v1/pods" and q.get("watch") != "1"]

    # ------------------------------------------------------------------ serving
    def start(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def send_json(self, code, obj):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                auth = self.headers.get("Authorization", "")
                with server.cond:
                    server.requests.append((url.path, q, auth))
                if auth != "Bearer " + server.token:
                    return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
                if url.path == "/api/v1/pods":
                    node = q.get("fieldSelector", "")
                    if not node.startswith("spec.nodeName="):
                        return self.send_json(400, status(400, "BadRequest", "fieldSelector"))
                    node = node[len("spec.nodeName="):]
                    if q.get("watch") in ("1", "true"):
                        return self.watch(node, q)
                    return self.list(node, q)
                parts = url.path.strip("/").split("/")
                if len(parts) == 7 and parts[:4] == ["apis", "apps", "v1", "namespaces"] \
                        and parts[5] == "replicasets":
                    with server.cond:
                        rs = server.replicasets.get((parts[4], parts[6]))
                    if rs is None:
                        return self.send_json(404, status(404, "NotFound", "replicasets \"%s\" not found" % parts[6]))
                    return self.send_json(200, rs)
                self.send_json(404, status(404, "NotFound", "the server could not find the requested resource"))

            def list(self, node, q):
                with server.cond:
                    items = [copy.deepcopy(p) for p in server.pods.values()
                             if p["spec"].get("nodeName") == node]
                    rv = str(server.rv)
                items.sort(key=lambda p: p["metadata"]["uid"])
                for p in items:  # list items carry no kind
                    p.pop("kind", None)
                    p.pop("apiVersion", None)
                start = 0
                if q.get("continue"):
                    tok = json.loads(urllib.parse.unquote(q["continue"]))
                    if tok["rv"] < server.oldest_rv - 1:  # compacted since the first page
                        return self.send_json(410, status(410, "Expired", "The provided continue parameter is too old"))
                    start, rv = tok["start"], str(tok["rv"])
                md = {"resourceVersion": rv}
                limit = int(q.get("limit", "0") or 0)
                if server.page_cap:
                    limit = min(limit or server.page_cap, server.page_cap)
                if limit and start + limit < len(items):
                    md["continue"] = json.dumps({"start": start + limit, "rv": int(rv)})
                    items = items[start:start + limit]
                else:
                    items = items[start:]
                self.send_json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": md, "items": items})

            def chunk(self, obj):
                data = (json.dumps(obj) + "\n").encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def watch(self, node, q):
                since = int(q.get("resourceVersion") or 0)
                deadline = time.monotonic() + int(q.get("timeoutSeconds", "1800"))
                bookmarks = q.get("allowWatchBookmarks") == "true"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                with server.cond:
                    server.watch_socks.add(self.connection)
                    generation = server.generation
                    if since and since < server.oldest_rv - 1:
                        self.chunk({"type": "ERROR", "object": status(
                            410, "Expired", "too old resource version: %d (%d)" % (since, server.oldest_rv))})
                        self.wfile.write(b"0\r\n\r\n")
                        return
                sent = since
                try:
                    while True:
                        with server.cond:
                            while True:
                                if server.generation != generation or server.httpd is None:
                                    break
                                new = [e for e in server.log if e[0] > sent]
                                if new or time.monotonic() >= deadline:
                                    break
                                server.cond.wait(0.2)
                            if server.generation != generation or server.httpd is None \
                                    or time.monotonic() >= deadline:
                                break
                        for rv, kind, obj in new:
                            sent = rv
                            if kind == "BOOKMARK":
                                if bookmarks:
                                    self.chunk({"type": "BOOKMARK", "object": {
                                        "kind": "Pod", "apiVersion": "v1",
                                        "metadata": {"resourceVersion": str(rv), "creationTimestamp": None},
                                        "spec": {"containers": None}, "status": {}}})
                            elif obj["spec"].get("nodeName") == node:
                                self.chunk({"type": kind, "object": obj})
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:  # the client went, or stop() cut the connection
                    pass
                with server.cond:
                    server.watch_socks.discard(self.connection)
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        """The API server goes away: no new connections, open watches cut."""
        httpd, self.httpd = self.httpd, None
        with self.cond:
            for sock in self.watch_socks:  # cut, not ended: no terminating chunk
                try:
                    sock.shutdown(2)
                except OSError:
                    pass
            self.cond.notify_all()
        httpd.shutdown()
        httpd.server_close()
        self.thread.join(5)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port
