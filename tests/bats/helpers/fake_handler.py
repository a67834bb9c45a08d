#!/usr/bin/python3
"""A stand-in handler on a unix socket, for ca-serve's tests: it speaks
the handler wire protocol (one JSON line in, one line out) without an
authority, so the tests see exactly what ca-serve sends and control
exactly what it gets back.

Every request line is appended, as received, to LOG.  The answer is
read from ANSWER on every request (so a test may change it between
requests): its first line is sent back as it is, with these exceptions:
  GARBAGE   "not json" is sent
  CLOSE     the connection is closed without an answer
  ECHO      {"status":418,"message":<the request line>}
A missing ANSWER file answers {"status":500,"message":"no answer set"}.

With SOCKET "-" it is a handler program as ca-serve starts one: on the
listening socket fd 3 when LISTEN_FDS is 1 (a pool), else on its stdin
and stdout (a coprocess).

usage: fake_handler.py SOCKET LOG ANSWER
"""
import os
import socket
import sys
import threading

SOCK, LOG, ANSWER = sys.argv[1:4]
LOCK = threading.Lock()


def answer_for(line):
    try:
        with open(ANSWER) as f:
            a = f.readline().rstrip("\n")
    except FileNotFoundError:
        return b'{"status":500,"message":"no answer set"}\n'
    if a == "GARBAGE":
        return b"not json\n"
    if a == "CLOSE":
        return None
    if a == "ECHO":
        import json
        return (json.dumps({"status": 418, "message": line},
                           separators=(",", ":")) + "\n").encode()
    return (a + "\n").encode()


def lines(rf, write):
    for raw in rf:
        line = raw.decode().rstrip("\n")
        with LOCK:
            with open(LOG, "a") as log:
                log.write(line + "\n")
        out = answer_for(line)
        if out is None:
            break
        write(out)


def serve(conn):
    f = conn.makefile("rb")
    try:
        lines(f, conn.sendall)
    finally:
        f.close()
        conn.close()


def accept_on(s):
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def main():
    if SOCK == "-":
        if os.environ.get("LISTEN_FDS") == "1":
            accept_on(socket.socket(fileno=3))
        out = sys.stdout.buffer

        def write(b):
            out.write(b)
            out.flush()
        lines(sys.stdin.buffer, write)
        return
    try:
        os.unlink(SOCK)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(SOCK + ".tmp")
    s.listen(16)
    # Ready once the socket has its name.
    os.rename(SOCK + ".tmp", SOCK)
    accept_on(s)


if __name__ == "__main__":
    main()
