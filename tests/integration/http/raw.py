"""raw.py PORT: sends the malformed-request corpus to the server one connection each and
prints `name status` per case (status: the answer's status code, or `closed` when the
server hung up without one).  Then checks keep-alive, pipelining and the read timeout."""
import socket
import sys
import time

port = int(sys.argv[1])


def exchange(data, wait=2.0, chunks=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    try:
        if chunks:
            for c in chunks:
                s.sendall(c)
                time.sleep(0.05)
        else:
            s.sendall(data)
        out = b""
        while True:
            try:
                got = s.recv(65536)
            except socket.timeout:
                break
            if not got:
                break
            out += got
        return out
    except (ConnectionResetError, BrokenPipeError):
        return b""
    finally:
        s.close()


def status(resp):
    if not resp.startswith(b"HTTP/1.1 "):
        return "closed"
    return resp[9:12].decode()


big_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n"
many_headers = b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(80)) + b"\r\n"
corpus = [
    ("garbage", b"GARBAGE\r\n\r\n"),
    ("no-version", b"GET /healthz\r\n\r\n"),
    ("bad-version", b"GET /healthz HTTP/9.9\r\n\r\n"),
    ("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ("lowercase-version", b"GET /healthz http/1.1\r\n\r\n"),
    ("absolute-garbage-target", b"GET healthz HTTP/1.1\r\n\r\n"),
    ("space-in-target", b"GET /a b HTTP/1.1\r\n\r\n"),
    ("nul-in-line", b"GET /health\x00z HTTP/1.1\r\n\r\n"),
    ("header-no-colon", b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n"),
    ("header-space-before-colon", b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n"),
    ("header-folding", b"GET /healthz HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n"),
    ("header-ctl", b"GET /healthz HTTP/1.1\r\nX-A: a\x01b\r\n\r\n"),
    ("header-too-large", big_header),
    ("too-many-headers", many_headers),
    ("bad-content-length", b"POST /echo HTTP/1.1\r\nContent-Length: 12a\r\n\r\n"),
    ("negative-content-length", b"POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
    ("conflicting-content-length", b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
    ("chunked", b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    ("smuggling", b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc"),
    ("body-too-large", b"POST /echo HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n"),
    ("unknown-path", b"GET /nope HTTP/1.1\r\n\r\n"),
    ("wrong-method", b"DELETE /healthz HTTP/1.1\r\n\r\n"),
    ("handler-raises", b"GET /boom HTTP/1.1\r\n\r\n"),
    ("handler-bad-header", b"GET /badheader HTTP/1.1\r\n\r\n"),
    ("no-token", b"POST /secret HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
    ("wrong-token", b"POST /secret HTTP/1.1\r\nAuthorization: Bearer s3cret-tokeN\r\nContent-Length: 0\r\n\r\n"),
    ("right-token", b"POST /secret HTTP/1.1\r\nAuthorization: Bearer s3cret-token\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    ("http10", b"GET /healthz HTTP/1.0\r\n\r\n"),
    ("bare-lf", b"GET /healthz HTTP/1.1\nConnection: close\n\n"),
    ("binary-noise", bytes(range(256)) * 4),
    ("only-crlf", b"\r\n\r\n\r\n\r\n\r\n"),
]
for name, data in corpus:
    print(name, status(exchange(data, wait=1.0)))

# keep-alive: two requests on one connection, answered in order (pipelined)
resp = exchange(b"GET /healthz HTTP/1.1\r\n\r\nPOST /echo HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", wait=1.0)
print("pipelined", resp.count(b"HTTP/1.1 200 OK"), resp.endswith(b"hello"))
# a body sent in pieces
resp = exchange(None, wait=1.0, chunks=[b"POST /echo HTTP/1.1\r\nContent-Len", b"gth: 6\r\nConnection: close\r\n\r\nab", b"cdef"])
print("pieces", status(resp), resp.endswith(b"abcdef"))
# HEAD: the GET route's answer without its body
resp = exchange(b"HEAD /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", wait=1.0)
print("head", status(resp), resp.endswith(b"\r\n\r\n"), b"Content-Length: 3" in resp)
# the read timeout: a request that stalls half way is answered 408 and closed
t0 = time.time()
resp = exchange(None, wait=5.0, chunks=[b"GET /healthz HTTP/1.1\r\nHost: x\r\n"])
print("stalled", status(resp), round(time.time() - t0, 1) < 4.0)
