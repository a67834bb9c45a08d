"""Cross-check lib/jose against jwcrypto, an independent JOSE implementation.

Run by bin/test_jose as: /usr/bin/python3 tests/unit/jose_interop.py DIR

DIR holds what the C code made:
  c_<name>.jwk, c_<name>.jws   a public JWK and a JWS signed by its key,
                               with claims {"iss":"inca-test",...} and
                               kid = RFC 7638 thumbprint of the key
  c.jwe, c_jwe.plain           a PBES2-HS256+A128KW/A256GCM JWE and its
                               plaintext
  password                     the JWE password (UTF-8, no newline)

This script verifies those with jwcrypto, then writes what the C code must
accept:
  py_<name>.jwk, py_<name>.jws, py_<name>.claims   (es256, rs256, eddsa)
  py.jwe, py_jwe.plain

It prints one line per check, "ok - what" or "not ok - what: why", and
exits 1 if any check failed.
"""

import glob
import json
import os
import sys

from jwcrypto import jwe, jwk, jws
from jwcrypto.common import base64url_decode

failed = 0


def report(good, what, why=""):
    global failed
    if good:
        print("ok - %s" % what)
    else:
        failed += 1
        print("not ok - %s: %s" % (what, why))


def read(d, name, mode="r"):
    with open(os.path.join(d, name), mode) as f:
        return f.read()


def write(d, name, data):
    with open(os.path.join(d, name), "w") as f:
        f.write(data)


def check_c_jws(d, name):
    what = "jwcrypto verifies the C %s JWS" % name
    try:
        key = jwk.JWK.from_json(read(d, "c_%s.jwk" % name))
        tok = read(d, "c_%s.jws" % name).strip()
        s = jws.JWS()
        s.deserialize(tok)
        s.verify(key)
        claims = json.loads(s.payload)
        if claims.get("iss") != "inca-test":
            raise ValueError("unexpected claims %r" % claims)
        report(True, what)
    except Exception as e:  # any failure is a failed check
        report(False, what, repr(e))
        return
    what = "C kid of %s equals jwcrypto's RFC 7638 thumbprint" % name
    hdr = json.loads(base64url_decode(tok.split(".")[0]))
    report(hdr.get("kid") == key.thumbprint(), what,
           "%r != %r" % (hdr.get("kid"), key.thumbprint()))


def check_c_jwe(d):
    what = "jwcrypto decrypts the C JWE with the password"
    try:
        pw = read(d, "password", "rb").decode("utf-8")
        e = jwe.JWE()
        e.deserialize(read(d, "c.jwe").strip(), key=jwk.JWK.from_password(pw))
        want = read(d, "c_jwe.plain", "rb")
        report(e.payload == want, what, "plaintext differs")
    except Exception as ex:
        report(False, what, repr(ex))
    what = "jwcrypto refuses the C JWE with a wrong password"
    try:
        e = jwe.JWE()
        e.deserialize(read(d, "c.jwe").strip(),
                      key=jwk.JWK.from_password("not the password"))
        report(False, what, "decrypted")
    except Exception:
        report(True, what)


def make_jws(d, name, key, alg):
    what = "jwcrypto signs a %s JWS" % name
    try:
        claims = json.dumps({"iss": "jwcrypto", "sub": name, "n": 7})
        s = jws.JWS(claims.encode())
        s.add_signature(key, alg=alg, protected=json.dumps(
            {"alg": alg, "kid": key.thumbprint(), "typ": "JWT"}))
        write(d, "py_%s.jwk" % name, key.export_public())
        write(d, "py_%s.jws" % name, s.serialize(compact=True))
        write(d, "py_%s.claims" % name, claims)
        report(True, what)
    except Exception as e:
        report(False, what, repr(e))


def make_jwe(d):
    what = "jwcrypto encrypts a PBES2 JWE"
    try:
        pw = read(d, "password", "rb").decode("utf-8")
        plain = jwk.JWK.generate(kty="EC", crv="P-256").export_private()
        e = jwe.JWE(plain.encode(), json.dumps(
            {"alg": "PBES2-HS256+A128KW", "enc": "A256GCM",
             "cty": "jwk+json"}))
        e.add_recipient(jwk.JWK.from_password(pw))
        write(d, "py.jwe", e.serialize(compact=True))
        write(d, "py_jwe.plain", plain)
        report(True, what)
    except Exception as ex:
        report(False, what, repr(ex))


def main():
    if len(sys.argv) != 2:
        print("usage: jose_interop.py DIR", file=sys.stderr)
        return 2
    d = sys.argv[1]
    names = sorted(os.path.basename(p)[2:-4]
                   for p in glob.glob(os.path.join(d, "c_*.jws")))
    report(len(names) > 0, "C JWS files present", "none in %s" % d)
    for name in names:
        check_c_jws(d, name)
    check_c_jwe(d)
    make_jws(d, "es256", jwk.JWK.generate(kty="EC", crv="P-256"), "ES256")
    make_jws(d, "rs256", jwk.JWK.generate(kty="RSA", size=2048), "RS256")
    make_jws(d, "eddsa", jwk.JWK.generate(kty="OKP", crv="Ed25519"),
             "EdDSA")
    make_jwe(d)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
