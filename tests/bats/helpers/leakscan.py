"""Look for secrets in files, in every form a program could leak them in.

Run with /usr/bin/python3 (python3-cryptography, which python3-jwcrypto
brings).  Usage:

  leakscan.py SPEC.json

SPEC is {"files": [PATH...], "secrets": [SECRET...]}, each SECRET one of

  {"what": NAME, "text": STRING, "allow": [PATH...]}
  {"what": NAME, "token": JWT, "allow": [...]}
  {"what": NAME, "key": PEM_FILE, "password_file": PATH, "allow": [...]}
  {"what": NAME, "jwk": JWK_FILE, "allow": [...]}

A text secret is looked for as it is.  A token (a compact JWS) is looked
for whole and by its signature, the part that makes it usable and that
no other token shares (its header and claims are public, and alike
between tokens).  A key (EC, or Ed25519/Ed448) is
looked for as its private scalar: the raw bytes, hex (any case, plain and
with colons as `openssl pkey -text` prints it, and that output's first
line), base64 and base64url, and each line of its PEM encodings (PKCS#8
and the traditional one) that carries a byte of the scalar.  A file named
in a secret's "allow" is where the user put that secret, and is not
searched for it.

Prints one line per finding, "NAME (FORM) in PATH", and exits 1 if there
is any, 0 if none, 2 if the spec is wrong (a secret that cannot be read
or is too short to be looked for without false alarms).
"""

import base64
import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, ed448

MIN_NEEDLE = 8


def die(msg):
    print("leakscan: " + msg, file=sys.stderr)
    sys.exit(2)


def b64(raw, url=False):
    s = base64.urlsafe_b64encode(raw) if url else base64.b64encode(raw)
    return s.rstrip(b"=")


def pem_lines(key, fmt, raw):
    """The base64 lines of key's PEM in format fmt that encode a byte of
    raw (the scalar): each line is 48 bytes of the DER."""
    der = key.private_bytes(serialization.Encoding.DER, fmt,
                            serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, fmt,
                            serialization.NoEncryption())
    at = der.find(raw)
    if at < 0:
        die("the scalar is not in the key's DER")
    lines = [ln for ln in pem.splitlines() if not ln.startswith(b"-----")]
    out = []
    for i, ln in enumerate(lines):
        lo, hi = 48 * i, 48 * (i + 1)
        if lo < at + len(raw) and at < hi:
            out.append((i + 1, ln))
    return out


def key_forms(key):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        n = (key.curve.key_size + 7) // 8
        raw = key.private_numbers().private_value.to_bytes(n, "big")
    elif isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        raw = key.private_bytes(serialization.Encoding.Raw,
                                serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    else:
        die("only EC and EdDSA keys are looked for")
    hx = raw.hex().encode()
    colons = b":".join(hx[i:i + 2] for i in range(0, len(hx), 2))
    forms = [
        ("raw scalar", raw, False),
        ("scalar in hex", hx, True),
        ("scalar in hex with colons", colons, True),
        ("first line of openssl's text form", colons[:44], True),
    ]
    # Without a '+' or '/' the two are the same bytes: one finding, the
    # JWK's name for it.
    if b64(raw) != b64(raw, True):
        forms.append(("scalar in base64", b64(raw), False))
    forms.append(("scalar in base64url (JWK d)", b64(raw, True), False))
    fmts = [("PKCS#8", serialization.PrivateFormat.PKCS8)]
    if isinstance(key, ec.EllipticCurvePrivateKey):
        fmts.append(("SEC1", serialization.PrivateFormat.TraditionalOpenSSL))
    for name, fmt in fmts:
        for i, ln in pem_lines(key, fmt, raw):
            forms.append(("%s PEM line %d" % (name, i), ln, False))
    return forms


def forms_of(s):
    if "text" in s:
        return [("text", s["text"].encode(), False)]
    if "token" in s:
        t = s["token"].strip().encode()
        if t.count(b".") != 2:
            die("%s: not a compact JWS" % s["what"])
        return [("whole token", t, False),
                ("token signature", t.rsplit(b".", 1)[1], False)]
    if "key" in s:
        pw = None
        if s.get("password_file"):
            with open(s["password_file"], "rb") as f:
                pw = f.read().split(b"\n")[0]
        with open(s["key"], "rb") as f:
            key = serialization.load_pem_private_key(f.read(), pw)
        return key_forms(key)
    if "jwk" in s:
        with open(s["jwk"]) as f:
            j = json.load(f)
        d = base64.urlsafe_b64decode(j["d"] + "=" * (-len(j["d"]) % 4))
        curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(),
                  "P-521": ec.SECP521R1()}
        if j.get("kty") != "EC" or j.get("crv") not in curves:
            die("%s: only EC JWKs are looked for" % s["jwk"])
        key = ec.derive_private_key(int.from_bytes(d, "big"), curves[j["crv"]])
        return key_forms(key)
    die("a secret needs text, token, key or jwk: %r" % s)
    return []


def main():
    if len(sys.argv) != 2:
        die("usage: leakscan.py SPEC.json")
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    secrets = []
    for s in spec["secrets"]:
        forms = forms_of(s)
        for name, needle, _ in forms:
            if len(needle) < MIN_NEEDLE:
                die("%s (%s): shorter than %d bytes" % (s["what"], name,
                                                        MIN_NEEDLE))
        secrets.append((s["what"], forms, set(s.get("allow", []))))
    if not spec["files"]:
        die("no files to search")
    found = 0
    for path in spec["files"]:
        with open(path, "rb") as f:
            data = f.read()
        lower = data.lower()
        for what, forms, allow in secrets:
            if path in allow:
                continue
            for name, needle, nocase in forms:
                if (lower if nocase else data).find(needle) >= 0:
                    print("%s (%s) in %s" % (what, name, path))
                    found = 1
    return found


if __name__ == "__main__":
    sys.exit(main())
