#!/usr/bin/env python3
"""A tls-alpn-01 responder for the tests: TLS on ADDR:PORT with the given
certificate, choosing "acme-tls/1" when offered (unless --no-alpn).

    alpn.py --port N --cert FILE --key FILE --log FILE [--no-alpn]

Each handshake is appended to --log as "SNI ALPN" (the server name the
client sent, the protocol chosen).
"""
import argparse
import socket
import ssl
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--no-alpn", action="store_true")
    a = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if not a.no_alpn:
        ctx.set_alpn_protocols(["acme-tls/1"])
    # The handshake runs in the connection's thread: its SNI is kept there.
    seen = threading.local()

    def sni_cb(sock, name, c):
        seen.name = name

    ctx.sni_callback = sni_cb
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.bind, a.port))
    ls.listen(16)

    def serve(conn):
        try:
            seen.name = None
            t = ctx.wrap_socket(conn, server_side=True)
            with open(a.log, "a") as f:
                f.write("%s %s\n" % (seen.name, t.selected_alpn_protocol()))
            t.close()
        except (ssl.SSLError, OSError) as e:
            with open(a.log, "a") as f:
                f.write("failed %s\n" % e.__class__.__name__)

    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
