#!/usr/bin/env python3
"""An http-01 responder for the tests.

    http01.py --bind ADDR --port N --routes FILE --log FILE

(ADDR an IPv4 or IPv6 address.)

The routes, a JSON file read for every request: {"/path": {"status": N,
"body": TEXT, "location": URL, "delay": SECONDS, "repeat": N}} ("repeat":
the body that many times).  A path not listed is 404.  Each request is
appended to --log as "PATH HOST" (HOST the Host header); "ready" is
written to --log-ready once listening.
"""
import argparse
import json
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

A = None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        with open(A.log, "a") as f:
            f.write("%s %s\n" % (self.path, self.headers.get("Host")))
        with open(A.routes) as f:
            routes = json.load(f)
        r = routes.get(self.path)
        if r is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        time.sleep(r.get("delay", 0))
        body = (r.get("body", "") * r.get("repeat", 1)).encode()
        self.send_response(r.get("status", 200))
        if "location" in r:
            self.send_header("Location", r["location"])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--routes", required=True)
    ap.add_argument("--log", required=True)
    A = ap.parse_args()
    if ":" in A.bind:
        ThreadingHTTPServer.address_family = socket.AF_INET6
    srv = ThreadingHTTPServer((A.bind, A.port), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
