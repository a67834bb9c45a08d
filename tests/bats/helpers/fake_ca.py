#!/usr/bin/python3
"""A small HTTPS server in ca-serve's shapes, for the client tests.

It serves a real CA home made by ca-init: GET /health, /root/FP, /roots,
/provisioners (paged by cursor, as step-ca does) from its files, and
POST /1.0/sign by piping the body to `ca-sign --api --offline --dir HOME`,
so the real authority decides every request.  POST /1.0/renew and
/1.0/rekey (and /renew, /rekey) go the same way to `ca-renew --api
--offline --dir HOME`, as ca-serve sends them: the client certificate,
verified against the root, as "peerCertificates" (with the CA's
intermediate and root), the "Authorization: Bearer" token as "token".
Each request's authentication is logged as "peer CN" or "bearer" lines.

Switches are files in the control directory, read on every request:
  503       a count: answer 503 that many times (decremented), then serve
  hang      present: read the request, then say nothing for 60 seconds
  big       "length": a 70000-byte JSON answer with Content-Length;
            "stream": the same without Content-Length (close-delimited)
  answer    "STATUS JSON": answer every request so
  page      a number: provisioners per page (default 20)
  extra     a JSON array of provisioners listed before the CA's own
  rootfile  a certificate file served for /root/<anything>
Each request is logged to the log file as "METHOD TARGET".

usage: fake_ca.py HOME PORT CERTCHAIN KEY CTLDIR LOG READYFILE
"""
import http.server
import json
import os
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

HOME, PORT, CERT, KEY, CTL, LOG, READY = sys.argv[1:8]
LOCK = threading.Lock()


def ctl(name):
    try:
        with open(os.path.join(CTL, name)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def take_503():
    """Whether this request gets a 503, decrementing the count."""
    with LOCK:
        n = ctl("503")
        if not n or int(n) <= 0:
            return False
        with open(os.path.join(CTL, "503"), "w") as f:
            f.write(str(int(n) - 1))
        return True


def pem_of(path):
    with open(path) as f:
        return f.read()


def fingerprint(path):
    out = subprocess.run(["openssl", "x509", "-in", path, "-noout",
                          "-fingerprint", "-sha256"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1].replace(":", "").lower()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, obj=None, raw=None, length=True):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def error(self, status, message):
        self.send(status, {"status": status, "message": message})

    def switches(self):
        with LOCK:
            with open(LOG, "a") as f:
                f.write("%s %s\n" % (self.command, self.path))
                peer = self.connection.getpeercert()
                if peer:
                    cn = [v for rdn in peer.get("subject", ()) for k, v in rdn
                          if k == "commonName"]
                    f.write("peer %s\n" % (cn[0] if cn else ""))
                if self.headers.get("Authorization", "").startswith("Bearer "):
                    f.write("bearer\n")
        if ctl("hang") is not None:
            time.sleep(60)
            self.close_connection = True
            return True
        if take_503():
            self.error(503, "handler unavailable")
            return True
        big = ctl("big")
        if big is not None:
            raw = json.dumps({"pad": "x" * 70000}).encode()
            self.send(200, raw=raw, length=(big == "length"))
            return True
        answer = ctl("answer")
        if answer is not None:
            status, body = answer.split(" ", 1)
            self.send(int(status), raw=body.encode())
            return True
        return False

    def do_GET(self):
        if self.switches():
            return
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path.startswith("/1.0/"):
            path = path[4:]
        root = os.path.join(HOME, "certs/root_ca.crt")
        if path == "/health":
            self.send(200, {"status": "ok"})
        elif path.startswith("/root/"):
            alt = ctl("rootfile")
            if alt is not None:
                self.send(200, {"ca": pem_of(alt)})
            elif path[6:].replace("-", "").lower() == fingerprint(root):
                self.send(200, {"ca": pem_of(root)})
            else:
                self.error(404, "not found")
        elif path == "/roots":
            self.send(200, {"crts": [pem_of(root)]})
        elif path == "/provisioners":
            with open(os.path.join(HOME, "config/ca.json")) as f:
                provs = json.load(f)["authority"]["provisioners"]
            extra = ctl("extra")
            if extra:
                provs = json.loads(extra) + provs
            q = urllib.parse.parse_qs(url.query)
            start = int(q.get("cursor", ["0"])[0] or 0)
            limit = int(ctl("page") or q.get("limit", ["20"])[0])
            page = provs[start:start + limit]
            nxt = str(start + limit) if start + limit < len(provs) else ""
            self.send(200, {"provisioners": page, "nextCursor": nxt})
        else:
            self.error(404, "no route")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.switches():
            return
        if self.path in ("/1.0/renew", "/renew", "/1.0/rekey", "/rekey"):
            self.renew(body)
            return
        if self.path not in ("/1.0/sign", "/sign"):
            self.error(404, "no route")
            return
        if self.headers.get("Content-Type") != "application/json":
            self.error(400, "expected application/json")
            return
        p = subprocess.run(["ca-sign", "--api", "--offline", "--dir", HOME],
                           input=body, capture_output=True)
        try:
            resp = json.loads(p.stdout)
        except ValueError:
            self.error(500, "handler answered garbage")
            return
        if isinstance(resp.get("status"), int):
            self.send(resp["status"], resp)
        else:
            self.send(201, resp)


    def renew(self, body):
        """What ca-serve hands the renewal handler."""
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            self.error(400, "malformed JSON")
            return
        if not isinstance(req, dict):
            self.error(400, "not a JSON object")
            return
        for k in ("peerCertificates", "token", "crl"):
            req.pop(k, None)
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            req["token"] = auth[7:]
        der = self.connection.getpeercert(binary_form=True)
        if der:
            req["peerCertificates"] = [
                ssl.DER_cert_to_PEM_cert(der),
                pem_of(os.path.join(HOME, "certs/intermediate_ca.crt")),
                pem_of(os.path.join(HOME, "certs/root_ca.crt"))]
        if self.path.endswith("rekey"):
            req["rekey"] = True
        try:
            p = subprocess.run(["ca-renew", "--api", "--offline", "--dir",
                                HOME], input=json.dumps(req).encode() + b"\n",
                               capture_output=True)
            resp = json.loads(p.stdout)
        except (OSError, ValueError):
            self.error(500, "handler answered garbage")
            return
        if isinstance(resp.get("status"), int):
            self.send(resp["status"], resp)
        else:
            self.send(201, resp)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", int(PORT)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    # A client certificate is asked for, not required (as ca-serve does).
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(os.path.join(HOME, "certs/root_ca.crt"))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(READY, "w") as f:
        f.write("ready\n")
    srv.serve_forever()


if __name__ == "__main__":
    main()
