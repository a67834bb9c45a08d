#!/usr/bin/env python3
"""A tiny UDP DNS server for the tests: A, AAAA, TXT and CNAME answers
from a JSON file, read again for every query so a test may change it.

    dns.py --zone FILE --port-file FILE [--log FILE] [--bind ADDR]

The zone: {"name": {"A": [...], "AAAA": [...], "TXT": [...], "CNAME": "x"}}
(names lowercase, no trailing dot).  A name not in the zone is NXDOMAIN;
a name whose entry is the string "servfail" answers SERVFAIL, "silent"
answers nothing.  The chosen port goes to --port-file once it is bound;
each question is appended to --log as "NAME TYPE".
"""
import argparse
import ipaddress
import json
import socket
import struct

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
        if entry == "silent":
            return None
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zone", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--bind", default="127.0.0.1")
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.bind, 0))
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            qid, flags, qd = struct.unpack(">HHH", msg[:6])
            qname, off = read_name(msg, 12)
            qtype, qclass = struct.unpack(">HH", msg[off:off + 4])
            question = msg[12:off + 4]
        except (IndexError, struct.error, UnicodeDecodeError):
            continue
        if a.log:
            with open(a.log, "a") as f:
                f.write("%s %s\n" % (qname.lower(), TYPES.get(qtype, qtype)))
        with open(a.zone) as f:
            zone = json.load(f)
        got = answer(zone, qname, qtype)
        if got is None:
            continue
        rcode, records = got
        head = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, len(records), 0, 0)
        s.sendto(head + question + b"".join(records), peer)


if __name__ == "__main__":
    main()
