"""ACME requests signed by jwcrypto, an independent JOSE implementation,
for the checks of lib/acmejws in tests/unit/test_acmejws.c.

Run by bin/test_acmejws as: /usr/bin/python3 tests/unit/acmejws_interop.py DIR

DIR holds what the C test made with OpenSSL:
  <name>.pem     private keys: es256, es384, es512 (P-521), rs256 (RSA 2048),
                 rsa1024, eddsa (Ed25519), other (another P-256)
  hmac.key       the EAB MAC key (raw bytes)
  token          a challenge token

This script writes DIR/cases.json, one object:
  "jws":   name -> a flattened JWS object (members protected, payload,
           signature), each signed by jwcrypto as its name says
  "thumb": key name -> jwcrypto's RFC 7638 thumbprint of the key
  "authz": key name -> {"keyAuthorization", "dns01", "digest"} for the
           token (digest: SHA-256 of the key authorization in hex)
and prints "ok - what" or "not ok - what: why" per step; exits 1 if any
step failed.
"""

import hashlib
import json
import os
import sys

from jwcrypto import jwk, jws
from jwcrypto.common import base64url_encode

URL = "https://ca.test/acme/acme/new-account"
NONCE = "bm9uY2Utb25l"
KID = "https://ca.test/acme/acme/account/abc"
EAB_KID = "eab-kid-1"

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


def sign(key, alg, header, payload, algs=None):
    """A flattened JWS; header is the protected header as JSON text (so
    that member order and duplicates are exactly as written), payload
    bytes."""
    core = jws.JWSCore(alg, key, header, payload,
                       algs=algs if algs else [alg])
    out = core.sign()
    return {"protected": out["protected"],
            "payload": out["payload"].decode("ascii"),
            "signature": out["signature"]}


def hdr(**members):
    return json.dumps(members)


def main():
    if len(sys.argv) != 2:
        print("usage: acmejws_interop.py DIR", file=sys.stderr)
        return 2
    d = sys.argv[1]
    keys = {}
    for name in ("es256", "es384", "es512", "rs256", "rsa1024", "eddsa",
                 "other"):
        try:
            keys[name] = jwk.JWK.from_pem(read(d, name + ".pem", "rb"))
            report(True, "jwcrypto loads the C %s key" % name)
        except Exception as e:  # any failure is a failed step
            report(False, "jwcrypto loads the C %s key" % name, repr(e))
            return 1
    algs = {"es256": "ES256", "es384": "ES384", "es512": "ES512",
            "rs256": "RS256", "rsa1024": "RS256", "eddsa": "EdDSA",
            "other": "ES256"}
    pub = {n: json.loads(k.export_public()) for n, k in keys.items()}
    hmac_key = read(d, "hmac.key", "rb")
    mac = jwk.JWK(kty="oct", k=base64url_encode(hmac_key))
    token = read(d, "token").strip()
    newacct = json.dumps({"termsOfServiceAgreed": True,
                          "contact": ["mailto:a@ca.test"]}).encode()
    c = {}

    # Accepted requests: jwk (new-account) and kid, every alg, and
    # POST-as-GET.
    for n in ("es256", "es384", "rs256", "eddsa"):
        c["jwk_" + n] = sign(keys[n], algs[n],
                             hdr(alg=algs[n], nonce=NONCE, url=URL,
                                 jwk=pub[n]), newacct)
        c["kid_" + n] = sign(keys[n], algs[n],
                             hdr(alg=algs[n], kid=KID, nonce=NONCE, url=URL),
                             b'{"status":"deactivated"}')
    c["postasget"] = sign(keys["es256"], "ES256",
                          hdr(alg="ES256", kid=KID, nonce=NONCE, url=URL), b"")
    # Unknown header members are ignored.
    c["extra_member"] = sign(keys["es256"], "ES256",
                             hdr(alg="ES256", kid=KID, nonce=NONCE, url=URL,
                                 typ="x"), b"{}")

    # Algorithms outside the allow-list, correctly signed.
    c["alg_es512"] = sign(keys["es512"], "ES512",
                          hdr(alg="ES512", nonce=NONCE, url=URL,
                              jwk=pub["es512"]), newacct)
    c["alg_ps256"] = sign(keys["rs256"], "PS256",
                          hdr(alg="PS256", kid=KID, nonce=NONCE, url=URL),
                          b"{}")
    c["alg_hs256"] = sign(mac, "HS256",
                          hdr(alg="HS256", kid=KID, nonce=NONCE, url=URL),
                          b"{}")
    # A key the allow-list does not take, with an allowed alg.
    c["jwk_rsa1024"] = sign(keys["rsa1024"], "RS256",
                            hdr(alg="RS256", nonce=NONCE, url=URL,
                                jwk=pub["rsa1024"]), newacct)

    # Header rules, each correctly signed.
    def es(h, payload=b"{}"):
        return sign(keys["es256"], "ES256", h, payload)
    c["jwk_and_kid"] = es(hdr(alg="ES256", nonce=NONCE, url=URL,
                              jwk=pub["es256"], kid=KID))
    c["jwk_p521"] = es(hdr(alg="ES256", nonce=NONCE, url=URL,
                           jwk=pub["es512"]))
    c["neither"] = es(hdr(alg="ES256", nonce=NONCE, url=URL))
    c["no_nonce"] = es(hdr(alg="ES256", kid=KID, url=URL))
    c["empty_nonce"] = es(hdr(alg="ES256", kid=KID, nonce="", url=URL))
    c["nonce_not_b64"] = es(hdr(alg="ES256", kid=KID, nonce="a+b/", url=URL))
    c["nonce_number"] = es(hdr(alg="ES256", kid=KID, nonce=7, url=URL))
    c["no_url"] = es(hdr(alg="ES256", kid=KID, nonce=NONCE))
    c["url_number"] = es(hdr(alg="ES256", kid=KID, nonce=NONCE, url=1))
    c["kid_number"] = es(hdr(alg="ES256", kid=1, nonce=NONCE, url=URL))
    c["kid_empty"] = es(hdr(alg="ES256", kid="", nonce=NONCE, url=URL))
    c["jwk_string"] = es(hdr(alg="ES256", jwk="x", nonce=NONCE, url=URL))
    c["crit"] = es(hdr(alg="ES256", kid=KID, nonce=NONCE, url=URL,
                       crit=["exp"], exp=1))
    c["dup_header"] = es('{"alg":"ES256","kid":"%s","nonce":"%s",'
                         '"url":"%s","url":"https://evil.test/"}'
                         % (KID, NONCE, URL))
    c["payload_array"] = es(hdr(alg="ES256", kid=KID, nonce=NONCE, url=URL),
                            b"[]")
    c["payload_dup"] = es(hdr(alg="ES256", kid=KID, nonce=NONCE, url=URL),
                          b'{"a":1,"a":2}')
    c["payload_json_text"] = es(hdr(alg="ES256", kid=KID, nonce=NONCE,
                                    url=URL), b'"x"')

    # Key change (RFC 8555 7.3.5): the inner JWS, signed by the new key.
    inner_payload = json.dumps({"account": KID,
                                "oldKey": pub["es256"]}).encode()
    c["inner"] = sign(keys["eddsa"], "EdDSA",
                      hdr(alg="EdDSA", jwk=pub["eddsa"], url=URL),
                      inner_payload)
    c["inner_nonce"] = sign(keys["eddsa"], "EdDSA",
                            hdr(alg="EdDSA", jwk=pub["eddsa"], url=URL,
                                nonce=NONCE), inner_payload)
    c["inner_kid"] = sign(keys["eddsa"], "EdDSA",
                          hdr(alg="EdDSA", kid=KID, url=URL), inner_payload)

    # External account binding (RFC 8555 7.3.4) for the es256 key.
    def eab(h, payload=None, key=mac, alg="HS256"):
        if payload is None:
            payload = json.dumps(pub["es256"]).encode()
        return sign(key, alg, h, payload)
    c["eab"] = eab(hdr(alg="HS256", kid=EAB_KID, url=URL))
    # The same key as JSON with other member order, spacing and an extra
    # member: the same thumbprint.
    p = pub["es256"]
    c["eab_reordered"] = eab(hdr(alg="HS256", kid=EAB_KID, url=URL),
                             ('{ "y":"%s", "x":"%s", "crv":"P-256", '
                              '"kty":"EC", "use":"sig" }'
                              % (p["y"], p["x"])).encode())
    c["eab_other_key"] = eab(hdr(alg="HS256", kid=EAB_KID, url=URL),
                             json.dumps(pub["other"]).encode())
    c["eab_hs384"] = eab(hdr(alg="HS384", kid=EAB_KID, url=URL),
                         alg="HS384")
    c["eab_hs512"] = eab(hdr(alg="HS512", kid=EAB_KID, url=URL),
                         alg="HS512")
    c["eab_es256"] = eab(hdr(alg="ES256", kid=EAB_KID, url=URL),
                         key=keys["es256"], alg="ES256")
    c["eab_nonce"] = eab(hdr(alg="HS256", kid=EAB_KID, url=URL, nonce=NONCE))
    c["eab_jwk"] = eab(hdr(alg="HS256", kid=EAB_KID, url=URL,
                           jwk=pub["es256"]))
    c["eab_no_kid"] = eab(hdr(alg="HS256", url=URL))
    c["eab_private"] = eab(hdr(alg="HS256", kid=EAB_KID, url=URL),
                           keys["es256"].export_private().encode())
    c["eab_empty_payload"] = eab(hdr(alg="HS256", kid=EAB_KID, url=URL), b"")
    report(True, "jwcrypto signs %d requests" % len(c))

    out = {"jws": c,
           "thumb": {n: k.thumbprint() for n, k in keys.items()},
           "authz": {}}
    for n in ("es256", "rs256", "eddsa"):
        ka = token + "." + keys[n].thumbprint()
        dg = hashlib.sha256(ka.encode()).digest()
        out["authz"][n] = {"keyAuthorization": ka,
                           "dns01": base64url_encode(dg),
                           "digest": dg.hex()}
    with open(os.path.join(d, "cases.json"), "w") as f:
        json.dump(out, f)
    report(True, "cases written")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
