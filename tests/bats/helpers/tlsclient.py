#!/usr/bin/python3
"""A raw client for ca-serve's tests: sends exactly the bytes it is given
(over TLS, or in clear with --plain) and prints everything the server
sends back until it closes the connection.

  tlsclient.py --port P --ca ROOT [--plain] [--cert F --key F]
               [--send TEXT] [--gate FILE --then TEXT] [--timeout S] [--time]

--send TEXT is written first (default: stdin).  With --gate, FILE.sent is
created once the first part is written, and the client waits for FILE to
exist before writing --then TEXT.  --time prints the seconds from the
connection to the server's close on stderr.  Escapes in TEXT: \\r \\n.
"""
import argparse
import os
import socket
import ssl
import sys
import time


def unescape(s):
    return s.replace("\\r", "\r").replace("\\n", "\n").encode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca")
    p.add_argument("--plain", action="store_true")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--send")
    p.add_argument("--gate")
    p.add_argument("--then")
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--time", action="store_true")
    a = p.parse_args()

    first = unescape(a.send) if a.send is not None else sys.stdin.buffer.read()
    s = socket.create_connection(("127.0.0.1", a.port))
    s.settimeout(a.timeout)
    t0 = time.monotonic()
    if not a.plain:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(a.ca)
        if a.cert:
            ctx.load_cert_chain(a.cert, a.key)
        s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    out = b""
    try:
        s.sendall(first)
        if a.gate:
            open(a.gate + ".sent", "w").close()
            while not os.path.exists(a.gate):
                time.sleep(0.02)
            s.sendall(unescape(a.then or ""))
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (ssl.SSLError, ConnectionError, socket.timeout) as e:
        print("tlsclient: %s" % e.__class__.__name__, file=sys.stderr)
    if a.time:
        print("elapsed=%.1f" % (time.monotonic() - t0), file=sys.stderr)
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main()
