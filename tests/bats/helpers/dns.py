#!/usr/bin/env python3
"""A tiny UDP DNS server for the tests: A, AAAA, TXT and CNAME answers
from a JSON file, read again for every query so a test may change it.

    dns.py --zone FILE --port-file FILE [--log FILE] [--bind ADDR]

The zone: {"name": {"A": [...], "AAAA": [...], "TXT": [...], "CNAME": "x"}}
(names lowercase, no trailing dot).  A name not in the zone is NXDOMAIN;
a name whose entry is the string "servfail" answers SERVFAIL, "silent"
answers nothing, "badid" answers with another ID, "otherq" answers
another question; an entry's "STRAY": {"name": N, "A": [...]} adds A
records owned by N instead.  An answer over 512 bytes goes over UDP
truncated (TC, no records) and whole over TCP, on the same port.  The
chosen port goes to --port-file once both are bound; each question is
appended to --log as "NAME TYPE" (" tcp" after it over TCP).
"""
import argparse
import ipaddress
import json
import os
import socket
import struct
import threading

TYPES = {1: "A", 5: "CNAME", 16: "TXT", 28: "AAAA"}


def read_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels), off
        labels.append(msg[off:off + n].decode("ascii"))
        off += n


def wire_name(name):
    out = b""
    for label in name.split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def rr(name, rtype, rdata):
    return wire_name(name) + struct.pack(">HHIH", rtype, 1, 60, len(rdata)) + rdata


def answer(zone, qname, qtype):
    """(rcode, [records]) or None for no answer at all."""
    name = qname.lower().rstrip(".")
    records = []
    for _ in range(10):
        entry = zone.get(name)
        if entry is None:
            return (3 if not records else 0), records
        if entry == "servfail":
            return 2, []
        if entry in ("silent", "badid", "otherq"):
            return entry
        for v in entry.get("STRAY", {}).get("A", []):
            records.append(rr(entry["STRAY"]["name"], 1,
                              ipaddress.IPv4Address(v).packed))
        if "CNAME" in entry:
            records.append(rr(name, 5, wire_name(entry["CNAME"])))
            name = entry["CNAME"]
            continue
        t = TYPES.get(qtype)
        for v in entry.get(t, []) if t else []:
            if t == "A":
                records.append(rr(name, 1, ipaddress.IPv4Address(v).packed))
            elif t == "AAAA":
                records.append(rr(name, 28, ipaddress.IPv6Address(v).packed))
            elif t == "TXT":
                b = v.encode()
                chunks = [b[i:i + 255] for i in range(0, len(b), 255)] or [b""]
                records.append(rr(name, 16, b"".join(bytes([len(c)]) + c for c in chunks)))
        return 0, records
    return 2, []


def respond(a, msg, tcp):
    """The answer to the query msg, or None."""
    try:
        qid, flags, qd = struct.unpack(">HHH", msg[:6])
        qname, off = read_name(msg, 12)
        qtype, qclass = struct.unpack(">HH", msg[off:off + 4])
        question = msg[12:off + 4]
    except (IndexError, struct.error, UnicodeDecodeError):
        return None
    if a.log:
        with open(a.log, "a") as f:
            f.write("%s %s%s\n" % (qname.lower(), TYPES.get(qtype, qtype),
                                   " tcp" if tcp else ""))
    with open(a.zone) as f:
        zone = json.load(f)
    got = answer(zone, qname, qtype)
    if got == "silent":
        return None
    if got == "badid":
        return struct.pack(">HHHHHH", qid ^ 1, 0x8180, 1, 0, 0, 0) + question
    if got == "otherq":
        return (struct.pack(">HHHHHH", qid, 0x8180, 1, 0, 0, 0) +
                wire_name("other." + qname) + question[-4:])
    rcode, records = got
    head = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, len(records), 0, 0)
    out = head + question + b"".join(records)
    if not tcp and len(out) > 512:
        return struct.pack(">HHHHHH", qid, 0x8380 | rcode, 1, 0, 0, 0) + question
    return out


def serve_tcp(a, ts):
    while True:
        c, _ = ts.accept()
        try:
            c.settimeout(5)
            n = struct.unpack(">H", c.recv(2, socket.MSG_WAITALL))[0]
            out = respond(a, c.recv(n, socket.MSG_WAITALL), True)
            if out is not None:
                c.sendall(struct.pack(">H", len(out)) + out)
        except (OSError, struct.error):
            pass
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zone", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--bind", default="127.0.0.1")
    a = ap.parse_args()
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.bind, 0))
        ts = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ts.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            ts.bind((a.bind, s.getsockname()[1]))
            break
        except OSError:
            s.close()
            ts.close()
    ts.listen(8)
    threading.Thread(target=serve_tcp, args=(a, ts), daemon=True).start()
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    while True:
        msg, peer = s.recvfrom(4096)
        out = respond(a, msg, False)
        if out is not None:
            s.sendto(out, peer)


if __name__ == "__main__":
    main()
