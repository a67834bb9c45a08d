#!/usr/bin/python3
"""A stand-in PostgreSQL server on 127.0.0.1, for the tests of how the
backend connects: it speaks just enough of the protocol (version 3) to
put a client in the states a real server can.

  NOTICE  during the startup, after authentication: a WARNING notice
          (as a server shutting down sends), then a FATAL error and the
          connection closed, so the client's connection fails.
  SILENT  accepts, reads the startup packet and never answers.

Each connection is served in turn; the chosen port goes to PORTFILE.

usage: fake_pg.py NOTICE|SILENT PORTFILE
"""
import os
import socket
import struct
import sys
import threading

MODE, PORTFILE = sys.argv[1:3]


def msg(kind, body):
    return kind + struct.pack("!I", len(body) + 4) + body


def fields(**f):
    return b"".join(k.encode() + v.encode() + b"\0" for k, v in f.items()) + b"\0"


def startup(c):
    """Read the startup packet, refusing an SSLRequest or GSS first."""
    while True:
        head = c.recv(8, socket.MSG_WAITALL)
        if len(head) < 8:
            return False
        n, code = struct.unpack("!II", head)
        rest = c.recv(n - 8, socket.MSG_WAITALL) if n > 8 else b""
        if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest
            c.sendall(b"N")
            continue
        return len(rest) == n - 8


def serve(c):
    with c:
        if not startup(c):
            return
        if MODE == "SILENT":
            c.recv(1)
            return
        c.sendall(msg(b"R", struct.pack("!I", 0)) +
                  msg(b"N", fields(S="WARNING", V="WARNING", C="57P01",
                                   M="terminating connection due to "
                                     "immediate shutdown command")) +
                  msg(b"E", fields(S="FATAL", V="FATAL", C="57P01",
                                   M="the database system is shutting "
                                     "down")))


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    with open(PORTFILE + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(PORTFILE + ".tmp", PORTFILE)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
