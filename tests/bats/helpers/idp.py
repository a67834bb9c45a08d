"""A static OIDC issuer for oidc.bats: serve DIR over HTTPS on 127.0.0.1.

  idp.py DIR CERT KEY PORTFILE LOG

Binds an ephemeral port, writes it to PORTFILE, and serves the files of
DIR (the discovery document at /.well-known/openid-configuration, the key
set at /jwks) until killed, one line per request path in LOG.  Files are
read at each request, so a test rotates keys by rewriting DIR/jwks.
"""

import functools
import http.server
import os
import ssl
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_request(self, code="-", size="-"):
        # One line a request (an error logs twice through log_message).
        with open(LOG, "a") as f:
            f.write(self.path + "\n")

    def log_message(self, fmt, *args):
        pass

    def guess_type(self, path):
        return "application/json"


def main():
    global LOG
    d, cert, key, portfile, LOG = sys.argv[1:6]
    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=d))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
