"""Mint renewal tokens for the bats suites (step-ca's format), good and hostile.

Run with /usr/bin/python3 (python3-cryptography).

  renewtok.py CHAIN KEY AUD [options]
      CHAIN is a PEM file, the leaf first (every certificate of it goes in
      the x5c header, standard base64 DER); KEY the PEM private key that
      signs.  Header {"alg","typ":"JWT","x5c":[...]}; claims iss
      "step-ca-client/1.0", sub (the leaf's CN), aud AUD, nbf = iat = now,
      exp = now+300, jti (64 random hex).  Options:
        --set K=JSON      set a claim; "now", "now+N", "now-N" are times
        --unset K         drop a claim
        --hname NAME      the chain's header member (default x5c)
        --hset K=JSON     set a header member
        -n N              N tokens, one a line, each with its own jti
"""

import argparse
import base64
import json
import os
import re
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import \
    decode_dss_signature
from cryptography.x509.oid import NameOID

from jwtparts import assign, b64url


def sign(key, data):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = (key.curve.key_size + 7) // 8
        h = {256: hashes.SHA256(), 384: hashes.SHA384(),
             521: hashes.SHA512()}[key.curve.key_size]
        alg = {256: "ES256", 384: "ES384", 521: "ES512"}[key.curve.key_size]
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(h)))
        return alg, r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA", key.sign(data)
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256", key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise SystemExit("renewtok.py: unsupported key")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("chain")
    ap.add_argument("key")
    ap.add_argument("aud")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--unset", action="append", default=[])
    ap.add_argument("--hname", default="x5c")
    ap.add_argument("--hset", action="append", default=[])
    ap.add_argument("-n", type=int, default=1)
    a = ap.parse_args()
    with open(a.chain, "rb") as f:
        text = f.read()
    certs = [x509.load_pem_x509_certificate(m.group(0)) for m in re.finditer(
        rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text,
        re.S)]
    with open(a.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    cns = certs[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    now = int(time.time())
    for _ in range(a.n):
        claims = {"iss": "step-ca-client/1.0",
                  "sub": cns[0].value if cns else "",
                  "aud": a.aud, "nbf": now, "iat": now, "exp": now + 300,
                  "jti": os.urandom(32).hex()}
        assign(claims, a.set, a.unset, now)
        alg, _ = sign(key, b"probe")
        header = {"alg": alg, "typ": "JWT", a.hname: [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER))
            .decode() for c in certs]}
        assign(header, a.hset, [], now)
        si = (b64url(json.dumps(header, separators=(",", ":")).encode()) +
              "." +
              b64url(json.dumps(claims, separators=(",", ":")).encode()))
        _, sig = sign(key, si.encode())
        print(si + "." + b64url(sig))


if __name__ == "__main__":
    sys.exit(main())
