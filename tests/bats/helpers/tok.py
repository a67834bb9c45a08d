"""Craft one-time tokens for the bats suites, good and hostile.

Run with /usr/bin/python3 (python3-jwcrypto).  Subcommands:

  key CA_JSON PASSWORD_FILE [NAME]
      Decrypt the JWK provisioner's encryptedKey (the first JWK one, or
      NAME) and print its private JWK.

  verify CA_JSON|KEY TOKEN
      Verify TOKEN with jwcrypto against the provisioner named by its iss
      and kid (or against a public or private key, PEM or JWK); print the
      header and the claims, one compact JSON line each.

  provisioner NAME PASSWORD_FILE
      Print a new JWK provisioner for ca.json: a fresh P-256 key, its
      encryptedKey made by jwcrypto (PBES2, 8192 iterations: cheap).

  mint KEY_JWK CA_JSON [options]
      Print a token (one per line with -n).  Defaults: header
      {"alg":"ES256","kid":<RFC 7638 thumbprint>,"typ":"JWT"}; claims iss
      (the name of the provisioner with this key, else the first), sub,
      sans [sub], aud https://<dnsNames[0]>[:port]/1.0/<path>,
      nbf = iat = now, exp = now+300, jti (64 random hex).  Options:
        --sub S           subject (default foo.example.com)
        --path P          sign (default) or revoke (no sans, for revoke)
        --set K=JSON      set a claim; a value "now", "now+N" or "now-N" is
                          a time relative to now
        --unset K         drop a claim
        --hset K=JSON, --hunset K   the same for the header
        --hraw TEXT, --craw TEXT    append raw members (",TEXT") to the
                          header / claims JSON text (duplicate members)
        --alg none|HS256  the signature: empty, or HMAC-SHA256 keyed with
                          the public key spelled as --hs-key pem|der|jwk|
                          point|x (the header alg follows, unless --hset)
        --pad             keep '=' padding on the header and payload
        --jwcrypto        let jwcrypto build and sign the token instead
        -n N              N tokens (N rounds of the variants below),
                          each with its own jti
      Variants, one token each (in order), saving a start-up per token:
        --vary K=JSON, --hvary K=JSON   one more claim / header setting
        --hs-key A,B,...  one HS256 token per spelling of the key
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import time

from jwtparts import assign

# jwcrypto is imported only where it is used, and mint signs with the
# P-256 arithmetic below: importing either package costs a tenth of a
# second, more than the signature, and the suites mint hundreds of tokens.
# The programs under test verify every signature made here, and jwcrypto
# verifies them in token.bats (tok.py verify).

# NIST P-256 (FIPS 186-4, D.1.2.3): field prime, order, generator.
P = 2**256 - 2**224 + 2**192 + 2**96 - 1
N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
G = (0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
     0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5, 1)


def ec_double(p):
    """2p in Jacobian coordinates (a = -3)."""
    x, y, z = p
    if y == 0 or z == 0:
        return (0, 1, 0)
    delta, gamma = z * z % P, y * y % P
    beta = x * gamma % P
    alpha = 3 * (x - delta) * (x + delta) % P
    x3 = (alpha * alpha - 8 * beta) % P
    z3 = ((y + z) ** 2 - gamma - delta) % P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % P
    return (x3, y3, z3)


def ec_add(p, q):
    """p + q in Jacobian coordinates."""
    if p[2] == 0:
        return q
    if q[2] == 0:
        return p
    x1, y1, z1 = p
    x2, y2, z2 = q
    z1z1, z2z2 = z1 * z1 % P, z2 * z2 % P
    u1, u2 = x1 * z2z2 % P, x2 * z1z1 % P
    s1, s2 = y1 * z2 * z2z2 % P, y2 * z1 * z1z1 % P
    if u1 == u2:
        return ec_double(p) if s1 == s2 else (0, 1, 0)
    h = u2 - u1
    i = 4 * h * h % P
    j = h * i % P
    r = 2 * (s2 - s1) % P
    v = u1 * i % P
    x3 = (r * r - j - 2 * v) % P
    y3 = (r * (v - x3) - 2 * s1 * j) % P
    z3 = ((z1 + z2) ** 2 - z1z1 - z2z2) * h % P
    return (x3, y3, z3)


def ec_base_x(k):
    """The affine x of k times the generator."""
    acc = (0, 1, 0)
    for bit in bin(k)[2:]:
        acc = ec_double(acc)
        if bit == "1":
            acc = ec_add(acc, G)
    zi = pow(acc[2], -1, P)
    return acc[0] * zi * zi % P


def b64(data, pad=False):
    s = base64.urlsafe_b64encode(data).decode()
    return s if pad else s.rstrip("=")


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class P256Key:
    """An EC P-256 private JWK, just enough of it to sign."""

    def __init__(self, text):
        j = json.loads(text)
        self.x, self.y = j["x"], j["y"]
        self.d = int.from_bytes(unb64(j["d"]), "big")
        if not 0 < self.d < N:
            raise SystemExit("tok.py: not a P-256 private key")

    def public_jwk(self):
        return {"crv": "P-256", "kty": "EC", "x": self.x, "y": self.y}

    def thumbprint(self):
        canon = json.dumps(self.public_jwk(), separators=(",", ":"),
                           sort_keys=True)
        return b64(hashlib.sha256(canon.encode()).digest())


def provisioner(conf, name=None, kid=None):
    for p in conf["authority"]["provisioners"]:
        if p.get("type", "").upper() != "JWK":
            continue
        if name is not None and p["name"] != name:
            continue
        if kid is not None and p["key"].get("kid") != kid:
            continue
        return p
    raise SystemExit("tok.py: no such JWK provisioner")


def audience(conf, path):
    host = conf["dnsNames"][0]
    if ":" in host:
        host = "[%s]" % host
    addr = conf.get("address", "")
    port = addr.rsplit(":", 1)[1] if ":" in addr else ""
    return "https://%s%s/1.0/%s" % (host, ":" + port if port else "", path)


def hs_key(key, how):
    """The provisioner's public key in the spellings a confused verifier
    might use as an HMAC secret."""
    point = b"\x04" + unb64(key.x) + unb64(key.y)
    # SubjectPublicKeyInfo: id-ecPublicKey, prime256v1, the point.
    der = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107"
                        "034200") + point
    if how == "pem":
        b = base64.b64encode(der).decode()
        return ("-----BEGIN PUBLIC KEY-----\n" +
                "".join(b[i:i + 64] + "\n" for i in range(0, len(b), 64)) +
                "-----END PUBLIC KEY-----\n").encode()
    if how == "der":
        return der
    if how == "jwk":
        return json.dumps(key.public_jwk()).encode()
    if how == "point":
        return point
    if how == "x":
        return key.x.encode()
    raise SystemExit("tok.py: --hs-key pem|der|jwk|point|x")


def es256(key, data):
    """ECDSA P-256 with SHA-256 (FIPS 186-4, 6.4), a random nonce; r || s."""
    e = int.from_bytes(hashlib.sha256(data).digest(), "big")
    while True:
        k = secrets.randbelow(N - 1) + 1
        r = ec_base_x(k) % N
        s = pow(k, -1, N) * (e + r * key.d) % N
        if r and s:
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def mint_one(a, key, conf, now, hs):
    try:
        prov = provisioner(conf, kid=key.thumbprint())
    except SystemExit:
        prov = provisioner(conf)
    header = {"alg": "ES256", "kid": key.thumbprint(), "typ": "JWT"}
    claims = {"iss": prov["name"], "sub": a.sub, "aud": audience(conf, a.path),
              "nbf": now, "iat": now, "exp": now + 300,
              "jti": os.urandom(32).hex()}
    if a.path == "sign":
        claims["sans"] = [a.sub]
    if a.alg is not None:
        header["alg"] = a.alg
    assign(header, a.hset, a.hunset, now)
    assign(claims, a.set, a.unset, now)
    if a.jwcrypto:
        from jwcrypto import jwk, jwt
        t = jwt.JWT(header=header, claims=claims)
        t.make_signed_token(jwk.JWK.from_json(a.keytext))
        return t.serialize()
    htext, ctext = json.dumps(header), json.dumps(claims)
    if a.hraw:
        htext = htext[:-1] + "," + a.hraw + "}"
    if a.craw:
        ctext = ctext[:-1] + "," + a.craw + "}"
    signing_input = (b64(htext.encode(), a.pad) + "." +
                     b64(ctext.encode(), a.pad)).encode()
    if a.alg == "none":
        sig = b""
    elif a.alg == "HS256":
        sig = hmac.new(hs_key(key, hs), signing_input,
                       hashlib.sha256).digest()
    else:
        sig = es256(key, signing_input)
    return signing_input.decode() + "." + b64(sig)


def cmd_key(args):
    from jwcrypto import jwe, jwk
    conf = json.load(open(args[0]))
    with open(args[1], "rb") as f:
        pw = f.read().split(b"\n")[0].decode()
    prov = provisioner(conf, args[2] if len(args) > 2 else None)
    e = jwe.JWE()
    e.deserialize(prov["encryptedKey"], key=jwk.JWK.from_password(pw))
    print(jwk.JWK.from_json(e.payload).export_private())


def cmd_verify(args):
    from jwcrypto import jwk, jws
    with open(args[0], "rb") as f:
        data = f.read()
    s = jws.JWS()
    s.deserialize(args[1].strip())
    header = s.jose_header
    claims = json.loads(s.objects["payload"])
    if data.lstrip().startswith(b"{"):
        j = json.loads(data)
        if "authority" in j:
            j = provisioner(j, claims["iss"], header["kid"])["key"]
        key = jwk.JWK(**j)
    else:
        key = jwk.JWK.from_pem(data)
    s.verify(key, alg=header["alg"])
    print(json.dumps(header, separators=(",", ":")))
    print(s.payload.decode())


def cmd_mint(args):
    p = argparse.ArgumentParser(prog="tok.py mint")
    p.add_argument("key")
    p.add_argument("conf")
    p.add_argument("--sub", default="foo.example.com")
    p.add_argument("--path", default="sign")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--unset", action="append", default=[])
    p.add_argument("--hset", action="append", default=[])
    p.add_argument("--hunset", action="append", default=[])
    p.add_argument("--hraw")
    p.add_argument("--craw")
    p.add_argument("--alg", choices=["none", "HS256"])
    p.add_argument("--hs-key", default="pem")
    p.add_argument("--pad", action="store_true")
    p.add_argument("--jwcrypto", action="store_true")
    p.add_argument("--vary", action="append", default=[])
    p.add_argument("--hvary", action="append", default=[])
    p.add_argument("-n", type=int, default=1)
    a = p.parse_args(args)
    a.keytext = open(a.key).read()
    key = P256Key(a.keytext)
    conf = json.load(open(a.conf))
    now = int(time.time())
    base_set, base_hset = a.set, a.hset
    variants = ([(v, None, None) for v in a.vary] +
                [(None, v, None) for v in a.hvary] +
                [(None, None, h) for h in a.hs_key.split(",")
                 if "," in a.hs_key]) or [(None, None, None)]
    for _ in range(a.n):
        for v, hv, hs in variants:
            a.set = base_set + ([v] if v else [])
            a.hset = base_hset + ([hv] if hv else [])
            print(mint_one(a, key, conf, now, hs or a.hs_key))


def cmd_provisioner(args):
    from jwcrypto import jwe, jwk
    with open(args[1], "rb") as f:
        pw = f.read().split(b"\n")[0].decode()
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    e = jwe.JWE(key.export_private().encode(), json.dumps(
        {"alg": "PBES2-HS256+A128KW", "enc": "A256GCM", "cty": "jwk+json"}))
    e.add_recipient(jwk.JWK.from_password(pw))
    pub = json.loads(key.export_public())
    pub.update({"use": "sig", "kid": key.thumbprint(), "alg": "ES256"})
    print(json.dumps({"type": "JWK", "name": args[0], "key": pub,
                      "encryptedKey": e.serialize(compact=True)}))


def main():
    cmds = {"key": cmd_key, "verify": cmd_verify, "mint": cmd_mint,
            "provisioner": cmd_provisioner}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    cmds[sys.argv[1]](sys.argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
