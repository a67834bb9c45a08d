#!/usr/bin/env python3
"""Forge certificate requests with keys no CA may certify.

The requests are DER built by hand and signed with Python integers, since
the cryptography library refuses such keys.  Each signature is valid for
its key whenever the key's arithmetic allows one, so a CA without the key
rule would issue; otherwise it is filler and only the refusal's reason
tells the rule that fired.

usage: forge.py rsa --e E [--kind normal|even|factor] [--factor F]
                    [--bits B] [--cn NAME]       CSR (PEM) on stdout
       forge.py ec-infinity [--cn NAME]          P-256 CSR with the
                                                 point at infinity
       forge.py ec-offcurve [--cn NAME]          P-256 CSR whose point is
                                                 not on the curve
"""
import argparse
import base64
import hashlib
import math
import secrets
import sys

from cryptography.hazmat.primitives.asymmetric import rsa


# ---- a small DER encoder --------------------------------------------------

def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        head = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + head + body


def seq(*items):
    return tlv(0x30, b"".join(items))


def set_of(*items):
    return tlv(0x31, b"".join(sorted(items)))


def integer(v):
    b = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big")
    return tlv(0x02, b)


def oid(dotted):
    parts = [int(p) for p in dotted.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, body)


def bitstring(b):
    return tlv(0x03, b"\x00" + b)


NULL = b"\x05\x00"
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
SHA256_WITH_RSA = "1.2.840.113549.1.1.11"
EC_PUBLIC_KEY = "1.2.840.10045.2.1"
PRIME256V1 = "1.2.840.10045.3.1.7"
ECDSA_SHA256 = "1.2.840.10045.4.3.2"
COMMON_NAME = "2.5.4.3"
ORGANIZATION = "2.5.4.10"
EXTENSION_REQUEST = "1.2.840.113549.1.9.14"
SUBJECT_ALT_NAME = "2.5.29.17"


def request_info(cn, spki, tweak=None):
    rdns = [set_of(seq(oid(COMMON_NAME), tlv(0x0C, cn.encode())))]
    if tweak is not None:
        rdns.insert(0, set_of(seq(oid(ORGANIZATION), tlv(0x0C, tweak.encode()))))
    name = seq(*rdns)
    san = seq(tlv(0x82, cn.encode()))
    ext = seq(oid(SUBJECT_ALT_NAME), tlv(0x04, san))
    attr = seq(oid(EXTENSION_REQUEST), set_of(seq(ext)))
    return seq(integer(0), name, spki, tlv(0xA0, attr))


def pem(der):
    b = base64.encodebytes(der).decode().replace("\n", "")
    lines = [b[i:i + 64] for i in range(0, len(b), 64)]
    return ("-----BEGIN CERTIFICATE REQUEST-----\n" + "\n".join(lines) +
            "\n-----END CERTIFICATE REQUEST-----\n")


# ---- RSA ------------------------------------------------------------------

DIGEST_INFO_SHA256 = bytes.fromhex("3031300d060960864801650304020105000420")


def emsa_pkcs1(msg, k):
    t = DIGEST_INFO_SHA256 + hashlib.sha256(msg).digest()
    return int.from_bytes(b"\x00\x01" + b"\xff" * (k - len(t) - 3) +
                          b"\x00" + t, "big")


def primes(pred=lambda p, q: True):
    """Two 1024-bit primes from a generated key, meeting pred."""
    while True:
        pn = rsa.generate_private_key(65537, 2048).private_numbers()
        if pred(pn.p, pn.q):
            return pn.p, pn.q


def lcm(*xs):
    r = 1
    for x in xs:
        r = r * x // math.gcd(r, x)
    return r


def rsa_spki(n, e):
    return seq(seq(oid(RSA_ENCRYPTION), NULL), bitstring(seq(integer(n), integer(e))))


def rsa_csr(args):
    e = args.e
    factors = None      # the prime factors of n, when a signature is possible
    if args.kind == "big":
        # A modulus of the given size; no key behind it.
        n = secrets.randbits(args.bits) | (1 << (args.bits - 1)) | 1
    elif e == 2:
        # Rabin: p = q = 3 mod 4, a square root of the padded digest.
        p, q = primes(lambda p, q: p % 4 == 3 and q % 4 == 3)
        n, factors = p * q, [p, q]
    elif e % 2 == 0:
        # No exponent of this parity has an inverse: filler signature.
        p, q = primes()
        n = p * q
    elif args.kind == "even":
        p, q = primes(lambda p, q: math.gcd(e, (p - 1) * (q - 1)) == 1)
        n, factors = 2 * p * q, [2, p, q]
    elif args.kind == "factor":
        f = args.factor
        p, q = primes(lambda p, q: math.gcd(e, (p - 1) * (q - 1) * (f - 1)) == 1)
        n, factors = f * p * q, [f, p, q]
    elif args.bits != 2048:
        # A real key of another size, from the library (e = 65537).
        pn = rsa.generate_private_key(65537, args.bits).private_numbers()
        n, factors = pn.public_numbers.n, [pn.p, pn.q]
    else:
        p, q = primes(lambda p, q: e == 1 or math.gcd(e, (p - 1) * (q - 1)) == 1)
        n, factors = p * q, [p, q]
    k = (n.bit_length() + 7) // 8
    spki = rsa_spki(n, e)
    for attempt in range(200):
        info = request_info(args.cn, spki, None if attempt == 0 else "t%d" % attempt)
        m = emsa_pkcs1(info, k)
        if factors is None:
            s = m
        elif e == 2:
            p, q = factors
            if pow(m, (p - 1) // 2, p) != 1 or pow(m, (q - 1) // 2, q) != 1:
                continue        # not a square: change the request, try again
            sp, sq = pow(m, (p + 1) // 4, p), pow(m, (q + 1) // 4, q)
            s = (sp * q * pow(q, -1, p) + sq * p * pow(p, -1, q)) % n
        else:
            d = pow(e, -1, lcm(*(f - 1 for f in factors if f > 2))) if e > 1 else 1
            s = pow(m, d, n)
        if factors is not None:
            assert pow(s, e, n) == m
        break
    else:
        sys.exit("forge.py: no signature found")
    sig = s.to_bytes(k, "big")
    return seq(info, seq(oid(SHA256_WITH_RSA), NULL), bitstring(sig))


# ---- EC -------------------------------------------------------------------

def ec_csr(args, point):
    spki = seq(seq(oid(EC_PUBLIC_KEY), oid(PRIME256V1)), bitstring(point))
    info = request_info(args.cn, spki)
    # Filler ECDSA signature: no key stands behind these points.
    sig = seq(integer(1), integer(1))
    return seq(info, seq(oid(ECDSA_SHA256)), bitstring(sig))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["rsa", "ec-infinity", "ec-offcurve"])
    ap.add_argument("--e", type=int, default=65537)
    ap.add_argument("--kind", choices=["normal", "even", "factor", "big"], default="normal")
    ap.add_argument("--factor", type=int, default=3)
    ap.add_argument("--bits", type=int, default=2048)
    ap.add_argument("--cn", default="forged.example.com")
    args = ap.parse_args()
    if args.what == "rsa":
        der = rsa_csr(args)
    elif args.what == "ec-infinity":
        der = ec_csr(args, b"\x00")
    else:
        # x = 1, y = 1: not on P-256.
        der = ec_csr(args, b"\x04" + (1).to_bytes(32, "big") * 2)
    sys.stdout.write(pem(der))


if __name__ == "__main__":
    main()
