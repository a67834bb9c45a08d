#!/usr/bin/env python3
"""A hostile HTTP server for the tests: every request gets the same raw
answer, chosen by --mode, whatever it asked.

    rawhttp.py --port N --mode MODE [--body TEXT] [--log FILE]

Modes:
  headers   a status line, then headers without end
  line      a status line, then one header line without end
  chunks    a chunked body without end
  bigchunk  a chunked body whose chunk size does not fit 64 bits
  trickle   a status line and a header, a byte every 0.3s
  chunked   --body in chunks of 5 bytes, then the last chunk (a valid
            answer)
Each request is appended to --log as "MODE".
"""
import argparse
import socket
import threading
import time


def serve(a, c):
    try:
        if not c.recv(65536):
            c.close()
            return      # a probe that only connects
        if a.log:
            with open(a.log, "a") as f:
                f.write(a.mode + "\n")
        if a.mode == "headers":
            c.sendall(b"HTTP/1.1 200 OK\r\n")
            while True:
                c.sendall(b"X-A: " + b"a" * 1000 + b"\r\n")
        elif a.mode == "line":
            c.sendall(b"HTTP/1.1 200 OK\r\nX-A: ")
            while True:
                c.sendall(b"a" * 65536)
        elif a.mode == "chunks":
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while True:
                c.sendall(b"400\r\n" + b"a" * 1024 + b"\r\n")
        elif a.mode == "bigchunk":
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"ffffffffffffffffffff\r\n")
            while True:
                c.sendall(b"a" * 65536)
        elif a.mode == "trickle":
            for b in b"HTTP/1.1 200 OK\r\nX-A: b\r\n":
                c.sendall(bytes([b]))
                time.sleep(0.3)
        elif a.mode == "chunked":
            body = a.body.encode()
            out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            for i in range(0, len(body), 5):
                part = body[i:i + 5]
                out += b"%x\r\n%s\r\n" % (len(part), part)
            c.sendall(out + b"0\r\n\r\n")
    except OSError:
        pass
    c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--body", default="")
    ap.add_argument("--log")
    a = ap.parse_args()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.bind, a.port))
    ls.listen(16)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(a, c), daemon=True).start()


if __name__ == "__main__":
    main()
