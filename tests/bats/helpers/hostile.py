#!/usr/bin/python3
"""Hostile clients for attacks_net.bats, byte-exact where it matters.

  hostile.py PORT hello VERSION        a ClientHello of record and hello
                                       version VERSION (ssl3, tls1, tls1_1)
                                       in clear; prints "alert LEVEL DESC"
                                       for the server's alert, then "closed"
  hostile.py PORT half BYTES           the first BYTES bytes of a TLS 1.2
                                       ClientHello, then close at once
  hostile.py PORT stall BYTES          the same, then wait for the server
                                       to close; prints "closed after S"
  hostile.py PORT slow CA TEXT         TLS, then TEXT one byte a second;
                                       prints what comes back and the time
  hostile.py PORT idle N SECONDS       N TCP connections that send nothing,
                                       held SECONDS; prints "held N"
  hostile.py PORT noread CA N SECONDS  TLS, N pipelined GET /provisioners,
                                       nothing read, held SECONDS; prints
                                       "sent BYTES"
Escapes in TEXT: \\r \\n.
"""
import os
import socket
import ssl
import struct
import sys
import time

VERSIONS = {"ssl3": 0x0300, "tls1": 0x0301, "tls1_1": 0x0302, "tls1_2": 0x0303}


def client_hello(version):
    """A ClientHello offering version, usual suites, no extensions but
    the groups and signature algorithms a server needs."""
    suites = [0xC02B, 0xC02F, 0xC009, 0xC013, 0x002F, 0x0035, 0x000A]
    body = struct.pack(">H", version) + os.urandom(32) + b"\x00"
    body += struct.pack(">H", 2 * len(suites)) + b"".join(
        struct.pack(">H", s) for s in suites)
    body += b"\x01\x00"
    ext = b""
    groups = struct.pack(">HHH", 4, 0x0017, 0x001D)
    ext += struct.pack(">HH", 0x000A, len(groups)) + groups
    ext += struct.pack(">HHB", 0x000B, 2, 1) + b"\x00"
    sigs = struct.pack(">HHH", 4, 0x0403, 0x0804)
    ext += struct.pack(">HH", 0x000D, len(sigs)) + sigs
    if version >= 0x0301:
        body += struct.pack(">H", len(ext)) + ext
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    rec_version = 0x0300 if version == 0x0300 else 0x0301
    return b"\x16" + struct.pack(">HH", rec_version, len(hs)) + hs


def connect(port, timeout=20):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(timeout)
    return s


def read_all(s):
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (ConnectionResetError, socket.timeout):
        pass
    return out


def unescape(t):
    return t.replace("\\r", "\r").replace("\\n", "\n").encode()


def main():
    port = int(sys.argv[1])
    what = sys.argv[2]
    a = sys.argv[3:]
    if what == "hello":
        s = connect(port)
        s.sendall(client_hello(VERSIONS[a[0]]))
        out = read_all(s)
        # Each record: type, version, length, payload; report the alerts.
        i = 0
        while i + 5 <= len(out):
            typ, _, n = struct.unpack(">BHH", out[i:i + 5])
            payload = out[i + 5:i + 5 + n]
            if typ == 21 and len(payload) >= 2:
                print("alert %d %d" % (payload[0], payload[1]))
            else:
                print("record %d" % typ)
            i += 5 + n
        print("closed")
    elif what in ("half", "stall"):
        s = connect(port)
        t0 = time.monotonic()
        s.sendall(client_hello(0x0303)[:int(a[0])])
        if what == "half":
            s.close()
            print("sent")
            return
        read_all(s)
        print("closed after %.1f" % (time.monotonic() - t0))
    elif what == "slow":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(a[0])
        s = ctx.wrap_socket(connect(port, 30), server_hostname="127.0.0.1")
        t0 = time.monotonic()
        out = b""
        try:
            for ch in unescape(a[1]):
                s.sendall(bytes([ch]))
                time.sleep(1)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        try:
            out = read_all(s)
        except ssl.SSLError:
            pass
        sys.stdout.write(out.decode("utf-8", "replace"))
        print("\nelapsed=%.1f" % (time.monotonic() - t0))
    elif what == "idle":
        socks = [connect(port) for _ in range(int(a[0]))]
        print("held %d" % len(socks), flush=True)
        time.sleep(float(a[1]))
    elif what == "noread":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(a[0])
        raw = connect(port, 60)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        req = b"GET /provisioners HTTP/1.1\r\nHost: x\r\n\r\n" * int(a[1])
        s.setblocking(False)
        sent = 0
        deadline = time.monotonic() + float(a[2])
        while time.monotonic() < deadline and sent < len(req):
            try:
                sent += s.send(req[sent:sent + 16384])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                break
        print("sent %d" % sent, flush=True)
        while time.monotonic() < deadline:
            time.sleep(0.2)
    else:
        sys.exit("hostile.py: unknown action " + what)


if __name__ == "__main__":
    main()
