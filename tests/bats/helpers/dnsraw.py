#!/usr/bin/env python3
"""A DNS server for the tests that answers with raw bytes, to feed the
validator's parser malformed or unusual messages.

    dnsraw.py --zone FILE --port-file FILE

The zone: {"NAME TYPE": {"an": N, "hex": HEX}} (NAME lowercase, TYPE
"A", "AAAA" or "TXT").  The answer is a header echoing the query's ID
with ANCOUNT N, the question as asked, then HEX's bytes.  In HEX,
"{q}" stands for a compression pointer to the question's name and
"{an}" for one to the first byte after the question.  A question not in
the zone is NXDOMAIN.  UDP only; the port goes to --port-file.
"""
import argparse
import json
import os
import socket
import struct

TYPES = {1: "A", 16: "TXT", 28: "AAAA"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zone", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            qid = struct.unpack(">H", msg[:2])[0]
            off, labels = 12, []
            while msg[off]:
                labels.append(msg[off + 1:off + 1 + msg[off]].decode())
                off += 1 + msg[off]
            qtype = struct.unpack(">H", msg[off + 1:off + 3])[0]
            question = msg[12:off + 5]
        except (IndexError, struct.error, UnicodeDecodeError):
            continue
        with open(a.zone) as f:
            zone = json.load(f)
        entry = zone.get("%s %s" % (".".join(labels).lower(),
                                    TYPES.get(qtype, qtype)))
        if entry is None:
            s.sendto(struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0) +
                     question, peer)
            continue
        h = entry["hex"].replace("{q}", "c00c").replace(
            "{an}", "%04x" % (0xc000 | (12 + len(question))))
        s.sendto(struct.pack(">HHHHHH", qid, 0x8180, 1, entry["an"], 0, 0) +
                 question + bytes.fromhex(h), peer)


if __name__ == "__main__":
    main()
