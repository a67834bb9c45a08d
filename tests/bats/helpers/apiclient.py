"""Clients of the handler socket (ca-sign --api --socket), for handler.bats.

Run with /usr/bin/python3.  Subcommands:

  pair SOCK REQ_A REQ_B
      Connect A and B.  A sends the first half of REQ_A and stops; B sends
      REQ_B whole and reads its answer; then A sends the rest and reads
      its own.  Prints "B <answer>" and "A <answer>", in that order.

  stall SOCK N REQ_B
      A sends N requests "{}" and reads nothing; then B sends REQ_B and
      reads its answer, printed as "B <answer>".  A is closed after that.

  stale PATH
      Leave a socket file at PATH that nothing listens on.

Every read gives up after 30 seconds (an exception, exit 1).
"""

import socket
import sys


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    return s


def line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(1)
        if not chunk:
            raise SystemExit("connection closed before an answer")
        buf += chunk
    return buf.decode().rstrip("\n")


def main():
    cmd = sys.argv[1]
    if cmd == "pair":
        path, ra, rb = sys.argv[2], sys.argv[3], sys.argv[4]
        a_req = open(ra, "rb").read()
        b_req = open(rb, "rb").read()
        a, b = connect(path), connect(path)
        half = len(a_req) // 2
        a.sendall(a_req[:half])
        b.sendall(b_req)
        print("B " + line(b), flush=True)
        a.sendall(a_req[half:])
        print("A " + line(a), flush=True)
    elif cmd == "stall":
        path, n, rb = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        a = connect(path)
        a.sendall(b"{}\n" * n)
        b = connect(path)
        b.sendall(open(rb, "rb").read())
        print("B " + line(b), flush=True)
        a.close()
    elif cmd == "stale":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(sys.argv[2])
        s.close()
    else:
        raise SystemExit("unknown subcommand " + cmd)


main()
