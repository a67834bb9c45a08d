"""ID tokens and X5C tokens for oidc.bats and x5c.bats, good and hostile.

Run with /usr/bin/python3 (python3-jwcrypto).  Subcommands:

  newkey OUT KID [--kty RSA|EC]
      A private JWK (RSA 2048 / EC P-256) with kid KID, alg and use "sig".

  jwks OUT KEY...
      The public key set {"keys": [...]} of the private JWKs KEY...

  mint KEY [options]
      An ID token shaped like GitHub Actions' (header {"typ","alg","x5t",
      "kid"}; claims jti, sub, aud, ref, sha, repository, repository_owner,
      run_id, ..., workflow, environment, iss, nbf, exp, iat), signed with
      KEY.  --iss, --aud, --repo, --ref, --workflow, --env (empty: none)
      set the claims (sub follows them as GitHub builds it);
      --set K=JSON / --unset K for any claim ("now", "now+N", "now-N"
      are times), --hset/--hunset for the header; --alg none|HS256 for an
      unsigned token or one MACed with the public key's PEM.

  x5c LEAF_KEY CHAIN [options]
      A token with header {"alg","typ","x5c": CHAIN's certificates} signed
      with LEAF_KEY (PEM); claims iss (--iss), sub (--sub), sans (--san,
      repeatable), aud (--aud), nbf/iat now, exp now+300, jti; --set and
      --unset as above.
"""

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jws

from jwtparts import assign, b64url as b64


def sign(key, header, claims, alg=None):
    payload = json.dumps(claims, separators=(",", ":"))
    if alg == "none":
        header["alg"] = "none"
        h = b64(json.dumps(header, separators=(",", ":")).encode())
        return "%s.%s.%s" % (h, b64(payload.encode()), b64(b"\0"))
    if alg == "HS256":
        header["alg"] = "HS256"
        secret = key.export_to_pem().rstrip(b"\n") + b"\n"
        h = b64(json.dumps(header, separators=(",", ":")).encode())
        si = "%s.%s" % (h, b64(payload.encode()))
        mac = hmac.new(secret, si.encode(), hashlib.sha256).digest()
        return "%s.%s" % (si, b64(mac))
    t = jws.JWS(payload.encode())
    t.add_signature(key, None, json.dumps(header))
    return t.serialize(compact=True)


def cmd_newkey(a):
    if a.kty == "RSA":
        k = jwk.JWK.generate(kty="RSA", size=2048, kid=a.kid, alg="RS256",
                             use="sig")
    else:
        k = jwk.JWK.generate(kty="EC", crv="P-256", kid=a.kid, alg="ES256",
                             use="sig")
    with open(a.out, "w") as f:
        f.write(k.export_private())


def cmd_jwks(a):
    keys = []
    for p in a.keys:
        with open(p) as f:
            keys.append(json.loads(jwk.JWK.from_json(f.read()).export_public()))
    with open(a.out + ".tmp", "w") as f:
        json.dump({"keys": keys}, f)
    import os
    os.rename(a.out + ".tmp", a.out)


def cmd_mint(a):
    with open(a.key) as f:
        key = jwk.JWK.from_json(f.read())
    now = int(time.time())
    owner = a.repo.split("/")[0]
    sub = "repo:%s:" % a.repo + ("environment:%s" % a.env if a.env else
                                 "ref:%s" % a.ref)
    claims = {
        "jti": str(uuid.uuid4()),
        "sub": sub,
        "aud": a.aud,
        "ref": a.ref,
        "sha": "example-sha-0123456789abcdef0123456789abcdef01234567"[:40],
        "repository": a.repo,
        "repository_owner": owner,
        "repository_owner_id": "4711",
        "repository_id": "815",
        "run_id": "7000000001",
        "run_number": "12",
        "run_attempt": "1",
        "repository_visibility": "private",
        "actor_id": "1234",
        "actor": "octocat",
        "workflow": a.workflow,
        "head_ref": "",
        "base_ref": "",
        "event_name": "push",
        "ref_type": "branch",
        "workflow_ref": "%s/.github/workflows/ci.yml@%s" % (a.repo, a.ref),
        "job_workflow_ref": "%s/.github/workflows/ci.yml@%s" % (a.repo, a.ref),
        "runner_environment": "github-hosted",
        "iss": a.iss,
        "nbf": now,
        "exp": now + 300,
        "iat": now,
    }
    if a.env:
        claims["environment"] = a.env
    assign(claims, a.set, a.unset, now)
    thumb = hashlib.sha1(key.thumbprint().encode()).digest()
    header = {"typ": "JWT", "alg": key.get("alg", "RS256"), "x5t": b64(thumb),
              "kid": key.get("kid")}
    assign(header, a.hset, a.hunset, now)
    print(sign(key, header, claims, a.alg))


def cmd_x5c(a):
    with open(a.leaf_key, "rb") as f:
        pem = f.read()
    key = jwk.JWK.from_pem(pem)
    with open(a.chain, "rb") as f:
        text = f.read()
    end = b"-----END CERTIFICATE-----"
    certs = [x509.load_pem_x509_certificate(block + end)
             for block in text.split(end) if b"-----BEGIN" in block]
    x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
           for c in certs]
    now = int(time.time())
    claims = {"iss": a.iss, "sub": a.sub, "sans": a.san or [a.sub],
              "aud": a.aud, "nbf": now, "iat": now, "exp": now + 300,
              "jti": uuid.uuid4().hex}
    assign(claims, a.set, a.unset, now)
    alg = "ES256" if key.get("kty") == "EC" else "RS256"
    header = {"alg": alg, "typ": "JWT", "x5c": x5c}
    print(sign(key, header, claims))


def main():
    p = argparse.ArgumentParser(prog="idtok.py")
    sp = p.add_subparsers(dest="cmd", required=True)
    k = sp.add_parser("newkey")
    k.add_argument("out")
    k.add_argument("kid")
    k.add_argument("--kty", default="RSA")
    j = sp.add_parser("jwks")
    j.add_argument("out")
    j.add_argument("keys", nargs="+")
    m = sp.add_parser("mint")
    m.add_argument("key")
    m.add_argument("--iss", default="https://token.actions.githubusercontent.com")
    m.add_argument("--aud", default="https://ca.example.com")
    m.add_argument("--repo", default="acme/api")
    m.add_argument("--ref", default="refs/heads/main")
    m.add_argument("--workflow", default="deploy")
    m.add_argument("--env", default="")
    m.add_argument("--alg")
    x = sp.add_parser("x5c")
    x.add_argument("leaf_key")
    x.add_argument("chain")
    x.add_argument("--iss", default="devices")
    x.add_argument("--sub", default="dev1.devices.example.com")
    x.add_argument("--san", action="append")
    x.add_argument("--aud", default="https://ca.example.com:9443/1.0/sign")
    for q in (m, x):
        q.add_argument("--set", action="append", default=[])
        q.add_argument("--unset", action="append", default=[])
    m.add_argument("--hset", action="append", default=[])
    m.add_argument("--hunset", action="append", default=[])
    a = p.parse_args()
    {"newkey": cmd_newkey, "jwks": cmd_jwks, "mint": cmd_mint,
     "x5c": cmd_x5c}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
