#!/usr/bin/python3
"""A loopback HTTP + HTTPS server for tests/integration/test_http_client.sh.

usage: http_server.py PORTFILE CERT KEY
Binds free ports on 127.0.0.1 and writes "HTTP_PORT HTTPS_PORT DEAD_PORT" to PORTFILE
(DEAD_PORT was bound and closed: nothing listens there).  Paths:
  /hello            200 "hello", X-Multi twice, echoes X-Custom as X-Echo
  /echo             any method: the request body back, X-Method: the method
  /slow?ms=N        waits N ms, then 200 "slow"
  /flaky?key=K&fail=N   the first N requests for K get 503, then 200
  /count?key=K      how many requests /flaky got for K
  /big?n=N[&nolen=1]    N bytes of "x" (without Content-Length: ends at close)
  http://...        (an absolute URI: we were used as a proxy) 200 "proxied " + URI
"""
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

counts = {}
lock = threading.Lock()


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops SYNs under concurrent tests
    daemon_threads = True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=(), length=True):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        if self.path.startswith("http://"):
            return self.reply(200, b"proxied " + self.path.encode())
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/hello":
            return self.reply(200, b"hello", [("Content-Type", "text/plain"), ("X-Multi", "a"), ("X-Multi", "b"),
                                             ("X-Echo", self.headers.get("X-Custom", ""))])
        if u.path == "/echo":
            return self.reply(200, data, [("X-Method", self.command),
                                          ("X-Content-Type", self.headers.get("Content-Type", ""))])
        if u.path == "/slow":
            time.sleep(int(q.get("ms", "300")) / 1000)
            return self.reply(200, b"slow")
        if u.path == "/flaky":
            with lock:
                k = q.get("key", "")
                counts[k] = counts.get(k, 0) + 1
                c = counts[k]
            if c <= int(q.get("fail", "1")):
                return self.reply(503, b"try again")
            return self.reply(200, b"ok after %d" % c)
        if u.path == "/count":
            with lock:
                return self.reply(200, str(counts.get(q.get("key", ""), 0)).encode())
        if u.path == "/big":
            return self.reply(200, b"x" * int(q.get("n", "0")), length=not q.get("nolen"))
        return self.reply(404, b"not found")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_any


def main():
    portfile, cert, key, client_ca = sys.argv[1:5]
    plain = Server(("127.0.0.1", 0), Handler)
    tls = Server(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    # mutual TLS: only a client presenting a certificate that client_ca signed is served
    mtls = Server(("127.0.0.1", 0), Handler)
    mctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    mctx.load_cert_chain(cert, key)
    mctx.verify_mode = ssl.CERT_REQUIRED
    mctx.load_verify_locations(client_ca)
    mtls.socket = mctx.wrap_socket(mtls.socket, server_side=True)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    for srv in (plain, tls, mtls):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    with open(portfile + ".tmp", "w") as f:
        f.write("%d %d %d %d\n" % (plain.server_address[1], tls.server_address[1], dead, mtls.server_address[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
