"""A stand-in for kube-apiserver: exactly the parts of the Kubernetes API buoy's discovery uses,
shaped as the API reference documents them, over TLS with bearer-token or client-certificate
auth. Several instances (one per address) share one state, like the apiservers of one cluster.

  - GET /apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=... : an
    EndpointSliceList with metadata.resourceVersion (404 when `slices_api` is False).
  - GET /api/v1/namespaces/default/endpoints?fieldSelector=metadata.name=kubernetes : EndpointsList.
  - The same with watch=1&resourceVersion=RV[&allowWatchBookmarks=true]: chunked
    newline-delimited JSON events (ADDED / MODIFIED / DELETED / BOOKMARK), an ERROR event with a
    410 Status when RV is older than the compaction point.
  - /readyz (no auth): 200 while the instance is ready, else 500; /name: the instance's name.

Faults on command: drop_watches(), stall(True/False) (watches send nothing, not even bookmarks),
expire() (compact: every watch gets ERROR 410 and new ones from older RVs too), garbage()
(a non-JSON line on every watch), stop()/start() (unreachable). Loopback only.

    api = FakeAPI(token="t0k3n", cert=..., key=..., ca=...)
    api.listen("127.0.0.2", port, "api1")
    api.set_endpoints([("127.0.0.2", port), ("127.0.0.3", port, {"ready": False})])
"""
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
ENDPOINTS = "/api/v1/namespaces/default/endpoints"


class State:
    def __init__(self):
        self.cv = threading.Condition()
        self.rv = 100
        self.compacted = 0          # watches from an rv below this get 410
        self.events = []            # (rv, type, name)
        self.eps = []               # [(ip, port, conditions)]
        self.stalled = False
        self.gen = 0                # bumped by drop/garbage/expire: watches look at it
        self.fault = None           # "drop" | "garbage" | "expire" for the current gen
        self.bookmark_s = 0.5
        self.slices_api = True
        self.empty_mode = False
        self.requests = []          # (path, auth) seen

    def bump(self):
        self.rv += 1
        return self.rv


def slice_obj(st, rv):
    eps = [] if st.empty_mode else st.eps
    return {
        "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
        "metadata": {"name": "kubernetes", "namespace": "default", "resourceVersion": str(rv),
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": dict({"ready": True, "serving": True,
                                                              "terminating": False}, **c)}
                      for ip, _, c in eps],
        "ports": [{"name": "https", "port": eps[0][1] if eps else 6443, "protocol": "TCP"}],
    }


def endpoints_obj(st, rv):
    eps = [] if st.empty_mode else st.eps
    ready = [{"ip": ip} for ip, _, c in eps if c.get("ready", True) and not c.get("terminating")]
    notready = [{"ip": ip} for ip, _, c in eps if not (c.get("ready", True) and not c.get("terminating"))]
    port = eps[0][1] if eps else 6443
    sub = {"ports": [{"name": "https", "port": port, "protocol": "TCP"}]}
    if ready:
        sub["addresses"] = ready
    if notready:
        sub["notReadyAddresses"] = notready
    return {"kind": "Endpoints", "apiVersion": "v1",
            "metadata": {"name": "kubernetes", "namespace": "default", "resourceVersion": str(rv)},
            "subsets": [sub] if eps else []}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authed(self):
        api = self.server.api
        auth = self.headers.get("Authorization", "")
        peer = None
        try:
            peer = self.connection.getpeercert()
        except Exception:
            pass
        api.state.requests.append((self.path, auth))
        if api.token and auth == "Bearer " + api.token:
            return True
        return bool(api.ca and peer)

    def do_GET(self):
        api, st = self.server.api, self.server.api.state
        u = urlparse(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        if u.path == "/readyz":
            return self.reply(200 if self.server.ready else 500, "ok\n" if self.server.ready else "no\n", "text/plain")
        if u.path == "/name":
            return self.reply(200, self.server.name + "\n", "text/plain")
        if u.path not in (SLICES, ENDPOINTS) or (u.path == SLICES and not st.slices_api):
            return self.reply(404, json.dumps({"kind": "Status", "status": "Failure", "code": 404,
                                               "reason": "NotFound", "message": "not found"}))
        if not self.authed():
            return self.reply(401, json.dumps({"kind": "Status", "status": "Failure", "code": 401,
                                               "reason": "Unauthorized", "message": "Unauthorized"}))
        make = slice_obj if u.path == SLICES else endpoints_obj
        if q.get("watch") in ("1", "true"):
            return self.watch(make, int(q.get("resourceVersion") or 0), q.get("allowWatchBookmarks") == "true")
        with st.cv:
            if st.fault == "listgarbage":
                return self.reply(200, "{not json")
            rv = st.rv
            obj = make(st, rv)
        kind = "EndpointSliceList" if u.path == SLICES else "EndpointsList"
        items = [obj] if (u.path == SLICES or obj["subsets"] or True) else []
        self.reply(200, json.dumps({"kind": kind, "apiVersion": "v1",
                                    "metadata": {"resourceVersion": str(rv)}, "items": items}))

    def chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, make, since, bookmarks):
        st = self.server.api.state
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        with st.cv:
            gen = st.gen
            if since < st.compacted:
                self.chunk(json.dumps({"type": "ERROR", "object": {
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "too old resource version: %d (%d)" % (since, st.compacted),
                    "reason": "Expired", "code": 410}}) + "\n")
                return self.end_chunks()
            sent = since
            last_bm = time.monotonic()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not self.server.stopping:
                if st.gen != gen:
                    gen = st.gen
                    if st.fault == "drop":
                        return  # no final chunk: the connection just goes
                    if st.fault == "garbage":
                        self.chunk("{\"type\": \"MODIFIED\", \"object\": {garbage\n")
                    if st.fault == "expire":
                        self.chunk(json.dumps({"type": "ERROR", "object": {
                            "kind": "Status", "status": "Failure", "message": "too old resource version",
                            "reason": "Expired", "code": 410}}) + "\n")
                        return self.end_chunks()
                if not st.stalled:
                    # events are in rv order: only the tail after `sent` is new
                    i = len(st.events)
                    while i > 0 and st.events[i - 1][0] > sent:
                        i -= 1
                    for rv, typ, _ in st.events[i:]:
                        self.chunk(json.dumps({"type": typ, "object": make(st, rv)}) + "\n")
                        sent = rv
                    if bookmarks and time.monotonic() - last_bm >= st.bookmark_s:
                        self.chunk(json.dumps({"type": "BOOKMARK", "object": {
                            "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
                            "metadata": {"resourceVersion": str(st.rv)}}}) + "\n")
                        last_bm = time.monotonic()
                st.cv.wait(0.1)
        self.end_chunks()

    def end_chunks(self):
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True


class Instance(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeAPI:
    def __init__(self, cert, key, token=None, ca=None):
        self.state = State()
        self.token, self.ca = token, ca
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        if ca:
            self.ctx.load_verify_locations(ca)
            self.ctx.verify_mode = ssl.CERT_OPTIONAL
        self.instances = {}

    def listen(self, ip, port, name):
        srv = Instance((ip, port), Handler)
        srv.socket = self.ctx.wrap_socket(srv.socket, server_side=True)
        srv.api, srv.name, srv.ready, srv.stopping = self, name, True, False
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        t.start()
        self.instances[ip] = (srv, t, port, name)
        return srv

    def set_ready(self, ip, ready):
        self.instances[ip][0].ready = ready

    def stop(self, ip):
        srv, t, port, name = self.instances.pop(ip)
        srv.stopping = True
        srv.shutdown()
        srv.server_close()
        with self.state.cv:
            self.state.cv.notify_all()

    def stop_all(self):
        for ip in list(self.instances):
            self.stop(ip)

    def set_endpoints(self, eps):
        """eps: [(ip, port) or (ip, port, {"ready": False} / {"terminating": True})]."""
        st = self.state
        with st.cv:
            st.eps = [(e[0], e[1], e[2] if len(e) > 2 else {}) for e in eps]
            st.events.append((st.bump(), "MODIFIED", "kubernetes"))
            st.cv.notify_all()

    def set_empty(self, empty):
        st = self.state
        with st.cv:
            st.empty_mode = empty
            st.events.append((st.bump(), "MODIFIED", "kubernetes"))
            st.cv.notify_all()

    def _fault(self, what):
        st = self.state
        with st.cv:
            st.fault = what
            st.gen += 1
            if what == "expire":
                st.compacted = st.rv + 1
                st.bump()
            st.cv.notify_all()

    def drop_watches(self):
        self._fault("drop")

    def garbage(self):
        self._fault("garbage")

    def expire(self):
        self._fault("expire")

    def stall(self, on):
        with self.state.cv:
            self.state.stalled = on
            self.state.cv.notify_all()


def serve_control(api, path):
    """Commands on a unix socket, one JSON object per connection, for a FakeAPI running as its
    own process (inside a test namespace): {"cmd": "endpoints", "eps": [[ip, port, {cond}]]},
    {"cmd": "ready", "ip": ip, "ready": bool}, {"cmd": "drop"|"garbage"|"expire"},
    {"cmd": "stall", "on": bool}, {"cmd": "empty", "on": bool}. Answers "ok" or "error: ..."."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(8)
    while True:
        c, _ = s.accept()
        with c:
            data = b""
            while not data.endswith(b"\n"):
                b = c.recv(65536)
                if not b:
                    break
                data += b
            try:
                m = json.loads(data)
                cmd = m["cmd"]
                if cmd == "endpoints":
                    api.set_endpoints([tuple(e) for e in m["eps"]])
                elif cmd == "ready":
                    api.set_ready(m["ip"], m["ready"])
                elif cmd in ("drop", "garbage", "expire"):
                    {"drop": api.drop_watches, "garbage": api.garbage, "expire": api.expire}[cmd]()
                elif cmd == "stall":
                    api.stall(m["on"])
                elif cmd == "empty":
                    api.set_empty(m["on"])
                else:
                    raise ValueError("unknown command")
                c.sendall(b"ok\n")
            except Exception as e:  # the test sees it
                c.sendall(("error: %s\n" % e).encode())


def command(path, **msg):
    """Sends one control command to a FakeAPI process; raises unless it answers ok."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    with s:
        s.sendall((json.dumps(msg) + "\n").encode())
        r = s.makefile().readline().strip()
    if r != "ok":
        raise RuntimeError(r)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="kube-apiserver stand-in (tests only)")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--token")
    ap.add_argument("--ca")
    ap.add_argument("--port", type=int, default=6443)
    ap.add_argument("--listen", action="append", required=True, help="IP=NAME")
    ap.add_argument("--control", required=True, help="unix socket path")
    a = ap.parse_args()
    fake = FakeAPI(a.cert, a.key, token=a.token, ca=a.ca)
    for item in a.listen:
        ip, name = item.split("=", 1)
        fake.listen(ip, a.port, name)
    serve_control(fake, a.control)
