#!/usr/bin/python3
"""A small ACME client for the refusal tests: it sends what real clients
never send (a spent nonce, another URL, alg none, HS256, another
account's kid, a CSR naming other names) and prints what came back, one
line per request: "STATUS TYPE" (TYPE the problem document's type without
urn:ietf:params:acme:error:, or "-" for a success).

    acmecli.py DIRECTORY_URL ROOT_PEM HTTP01_PORT SCENARIO

Scenarios: replay, badurl, algnone, hs256, otherkid, early, csrnames,
Scenarios: replay, badurl, algnone, hs256, otherkid, early, csrnames,
revoke, keychange, contacts, onlyexisting, identifiers, rejected,
deactivate, authzdeact, slow, revokedkey, retryafter, challtypes, ip;
and with an external account binding key in the environment (EAB_KID,
EAB_HMAC; OTHER_DIR another provisioner's directory): eab, eabbind,
eabnone, eabrace, eabrefusals, eabkid.
http-01 is answered by a server of its own on 127.0.0.1:HTTP01_PORT
(after 2 seconds in "slow").
"""
import base64
import http.server
import json
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwcrypto import jwk, jws
from jwcrypto.common import json_encode

DIRURL, ROOT, HTTP01, SCENARIO = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
CTX = ssl.create_default_context(cafile=ROOT)
P = "urn:ietf:params:acme:error:"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def request(method, url, body=None):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/jose+json")
    try:
        with urllib.request.urlopen(req, context=CTX) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


DIR = json.loads(request("GET", DIRURL)[2])


def nonce():
    return request("HEAD", DIR["newNonce"])[1]["Replay-Nonce"]


class Account:
    def __init__(self):
        self.key = jwk.JWK.generate(kty="EC", crv="P-256")
        self.kid = None

    def signed(self, url, payload, n=None, use_jwk=False, alg="ES256"):
        prot = {"alg": alg, "nonce": n or nonce(), "url": url}
        if use_jwk or self.kid is None:
            prot["jwk"] = json.loads(self.key.export_public())
        else:
            prot["kid"] = self.kid
        text = "" if payload is None else json.dumps(payload)
        s = jws.JWS(text.encode())
        s.add_signature(self.key, None, json_encode(prot))
        return json.loads(s.serialize())

    def post(self, url, payload, **kw):
        return post(url, self.signed(url, payload, **kw))

    def register(self):
        st, h, b = self.post(DIR["newAccount"], {"termsOfServiceAgreed": True})
        self.kid = h["Location"]
        return st, h, b

    def thumb(self):
        return self.key.thumbprint()


def post(url, body):
    return request("POST", url, json.dumps(body).encode())


def say(res):
    st, h, b = res
    t = "-"
    if h.get("Content-Type") == "application/problem+json":
        t = json.loads(b)["type"].replace(P, "")
    print(st, t, flush=True)
    return res


TOKENS = {}
DELAY = 2 if SCENARIO == "slow" else 0


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(DELAY)
        tok = self.path.rsplit("/", 1)[-1]
        body = TOKENS.get(tok, "").encode()
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def ready_order(acct, name):
    """An order for name whose http-01 challenge is answered: ready."""
    st, h, b = acct.post(DIR["newOrder"], {"identifiers": [{"type": "dns", "value": name}]})
    order, url = json.loads(b), h["Location"]
    srv = http.server.HTTPServer(("127.0.0.1", HTTP01), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    for az in order["authorizations"]:
        a = json.loads(acct.post(az, None)[2])
        ch = [c for c in a["challenges"] if c["type"] == "http-01"][0]
        TOKENS[ch["token"]] = ch["token"] + "." + acct.thumb()
        acct.post(ch["url"], {})
    srv.shutdown()
    return json.loads(acct.post(url, None)[2]), url


def csr_der(names, key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    b = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
    b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


a = Account()
if SCENARIO == "replay":
    n = nonce()
    res = say(post(DIR["newAccount"], a.signed(DIR["newAccount"], {"termsOfServiceAgreed": True}, n=n)))
    res = say(post(DIR["newAccount"], a.signed(DIR["newAccount"], {"termsOfServiceAgreed": True}, n=n)))
    # badNonce carries a fresh nonce, which works.
    fresh = res[1]["Replay-Nonce"]
    say(post(DIR["newAccount"], a.signed(DIR["newAccount"], {"termsOfServiceAgreed": True}, n=fresh)))
    # A nonce this server never gave.
    say(post(DIR["newAccount"], a.signed(DIR["newAccount"], {}, n=b64(b"x" * 16))))
elif SCENARIO == "badurl":
    say(post(DIR["newAccount"], a.signed(DIR["newOrder"], {"termsOfServiceAgreed": True})))
    say(post(DIR["newAccount"], a.signed(DIR["newAccount"].replace("https://127.0.0.1", "https://localhost"), {})))
elif SCENARIO in ("algnone", "hs256"):
    alg = "none" if SCENARIO == "algnone" else "HS256"
    prot = {"alg": alg, "nonce": nonce(), "url": DIR["newAccount"],
            "jwk": json.loads(a.key.export_public())}
    pr = b64(json.dumps(prot).encode())
    pl = b64(json.dumps({"termsOfServiceAgreed": True}).encode())
    say(post(DIR["newAccount"], {"protected": pr, "payload": pl, "signature": b64(b"\0" * 32)}))
elif SCENARIO == "otherkid":
    say(a.register())
    b = Account()
    say(b.register())
    # b signs with its own key but names a's account.
    b_kid, b.kid = b.kid, a.kid
    say(b.post(DIR["newOrder"], {"identifiers": [{"type": "dns", "value": "web.acme.test"}]}))
    b.kid = b_kid
    # a's order is not b's to read.
    st, h, _ = say(a.post(DIR["newOrder"], {"identifiers": [{"type": "dns", "value": "web.acme.test"}]}))
    say(b.post(h["Location"], None))
elif SCENARIO == "early":
    say(a.register())
    st, h, body = say(a.post(DIR["newOrder"], {"identifiers": [{"type": "dns", "value": "web.acme.test"}]}))
    say(a.post(json.loads(body)["finalize"], {"csr": b64(csr_der(["web.acme.test"]))}))
elif SCENARIO == "csrnames":
    say(a.register())
    order, url = ready_order(a, "web.acme.test")
    print(order["status"])
    say(a.post(order["finalize"], {"csr": b64(csr_der(["web.acme.test", "api.acme.test"]))}))
    say(a.post(order["finalize"], {"csr": b64(csr_der(["api.acme.test"]))}))
    # The account's own key as the certificate's.
    say(a.post(order["finalize"], {"csr": b64(csr_der(["web.acme.test"], a.key.get_op_key("sign")))}))
    say(a.post(order["finalize"], {"csr": b64(csr_der(["web.acme.test"]))}))
elif SCENARIO == "revoke":
    say(a.register())
    order, url = ready_order(a, "web.acme.test")
    certkey = ec.generate_private_key(ec.SECP256R1())
    st, h, body = say(a.post(order["finalize"], {"csr": b64(csr_der(["web.acme.test"], certkey))}))
    pem = a.post(json.loads(body)["certificate"], None)[2]
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    # Another account may not revoke it.
    c = Account()
    say(c.register())
    say(c.post(DIR["revokeCert"], {"certificate": b64(der)}))
    # Signed by the certificate's own key (a jwk request), reason keyCompromise.
    k = Account()
    k.key = jwk.JWK.from_pyca(certkey)
    say(k.post(DIR["revokeCert"], {"certificate": b64(der), "reason": 1}, use_jwk=True))
    say(a.post(DIR["revokeCert"], {"certificate": b64(der)}))
    print(x509.load_der_x509_certificate(der).serial_number)
elif SCENARIO == "keychange":
    say(a.register())
    def inner(new, acct):
        prot = {"alg": "ES384", "url": DIR["keyChange"], "jwk": json.loads(new.export_public())}
        s = jws.JWS(json.dumps({"account": acct.kid,
                                "oldKey": json.loads(acct.key.export_public())}).encode())
        s.add_signature(new, None, json_encode(prot))
        return json.loads(s.serialize())
    new = jwk.JWK.generate(kty="EC", crv="P-384")
    old = a.key
    say(a.post(DIR["keyChange"], inner(new, a)))
    # The old key no longer speaks for the account; the new one does.
    say(a.post(DIR["newOrder"], {"identifiers": [{"type": "dns", "value": "web.acme.test"}]}))
    a.key = new
    a.key_alg = "ES384"
    say(a.post(DIR["newOrder"], {"identifiers": [{"type": "dns", "value": "web.acme.test"}]}, alg="ES384"))
    # Another account may not take that key.
    b = Account()
    say(b.register())
    say(b.post(DIR["keyChange"], inner(new, b)))
elif SCENARIO.startswith("eab"):
    # External account binding (RFC 8555 7.3.4): the key ID and MAC key
    # ca-acme --eab-add gave, in EAB_KID and EAB_HMAC.
    import hashlib
    import hmac
    import os
    KID, MAC = os.environ["EAB_KID"], os.environ["EAB_HMAC"]

    def eab(acct, kid=KID, mac=MAC, url=None, alg="HS256", jwk_of=None, extra=None):
        """The externalAccountBinding object for acct's key."""
        prot = {"alg": alg, "kid": kid, "url": url or DIR["newAccount"]}
        prot.update(extra or {})
        pr = b64(json.dumps(prot).encode())
        pl = b64((jwk_of or acct).key.export_public().encode())
        key = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        sig = hmac.new(key, (pr + "." + pl).encode(), hashlib.sha256).digest()
        return {"protected": pr, "payload": pl, "signature": b64(sig)}

    def new_account(acct, binding):
        pay = {"termsOfServiceAgreed": True}
        if binding is not None:
            pay["externalAccountBinding"] = binding
        res = say(acct.post(DIR["newAccount"], pay, use_jwk=True))
        if res[0] in (200, 201):
            acct.kid = res[1]["Location"]
        return res

    other = Account()
    if SCENARIO == "eab":
        # Bound, then used; a second account key may not use the key again.
        new_account(a, eab(a))
        print(a.kid.rsplit("/", 1)[-1])
        say(a.post(DIR["newOrder"], {"identifiers": [{"type": "dns", "value": "web.acme.test"}]}))
        new_account(other, eab(other))
        # The bound account's key again: its account, not a second binding.
        new_account(a, eab(a))
    elif SCENARIO == "eabbind":
        new_account(a, eab(a))
    elif SCENARIO == "eabrace":
        # Eight account keys sent at once with one binding, each request
        # signed beforehand: one status a line, sorted.
        accts = [Account() for _ in range(8)]
        bodies = []
        for x in accts:
            pay = {"termsOfServiceAgreed": True, "externalAccountBinding": eab(x)}
            bodies.append(x.signed(DIR["newAccount"], pay, use_jwk=True))
        out = []
        gate = threading.Barrier(len(bodies))

        def send(b):
            gate.wait()
            st, h, body = post(DIR["newAccount"], b)
            t = json.loads(body)["type"].replace(P, "") if st >= 400 else "-"
            out.append("%d %s" % (st, t))
        ts = [threading.Thread(target=send, args=(b,)) for b in bodies]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print("\n".join(sorted(out)))
    elif SCENARIO == "eabnone":
        new_account(a, None)
    elif SCENARIO == "eabrefusals":
        new_account(a, None)                                      # missing
        new_account(a, eab(a, kid="AAAAAAAAAAAAAAAAAAAAAA"))     # unknown kid
        new_account(a, eab(a, mac=b64(b"\x01" * 32)))             # wrong MAC key
        new_account(a, eab(a, url=DIR["newOrder"]))              # wrong url
        new_account(a, eab(a, jwk_of=other))                     # another key
        new_account(a, eab(a, alg="none"))                       # alg none
        new_account(a, eab(a, alg="HS512"))                      # another MAC
        new_account(a, eab(a, extra={"nonce": nonce()}))         # a nonce
        new_account(a, "not a JWS")                              # malformed
        # After all of that the key is still unbound: it binds now.
        new_account(a, eab(a))
    elif SCENARIO == "eabkid":
        # An account of the open provisioner (OTHER_DIR) is no account of
        # this one: neither by its kid nor by its key.
        d = json.loads(request("GET", os.environ["OTHER_DIR"])[2])
        res = say(post(d["newAccount"], a.signed(d["newAccount"], {"termsOfServiceAgreed": True})))
        a.kid = res[1]["Location"].replace(d["newAccount"].rsplit("/", 1)[0],
                                           DIR["newAccount"].rsplit("/", 1)[0])
        say(a.post(DIR["newOrder"], {"identifiers": [{"type": "dns", "value": "web.acme.test"}]}))
        new_account(a, None)
        new_account(a, eab(a))
    else:
        sys.exit("unknown scenario " + SCENARIO)
elif SCENARIO == "contacts":
    ok8 = ["mailto:ops%d@acme.test" % i for i in range(8)]
    for c in (ok8 + ["mailto:ops8@acme.test"], "mailto:ops@acme.test", ["tel:+15550100"],
              ["https://acme.test/ops"], ["mailto:ops"], ["mailto:ops@acme.test?subject=x"],
              ["ops@acme.test"], [7]):
        say(a.post(DIR["newAccount"], {"termsOfServiceAgreed": True, "contact": c}))
    st, h, b = say(a.post(DIR["newAccount"], {"termsOfServiceAgreed": True, "contact": ok8}))
    a.kid = h["Location"]
    print(len(json.loads(b)["contact"]))
    # The same rules when the contacts are replaced; the old ones stay.
    say(a.post(a.kid, {"contact": ok8 + ["mailto:ops8@acme.test"]}))
    say(a.post(a.kid, {"contact": ["tel:+15550100"]}))
    print(json.loads(say(a.post(a.kid, None))[2])["contact"] == ok8)
elif SCENARIO == "onlyexisting":
    say(a.post(DIR["newAccount"], {"onlyReturnExisting": True}))
    st, h, b = say(a.register())
    st, h2, b = say(a.post(DIR["newAccount"], {"onlyReturnExisting": True}, use_jwk=True))
    print(h2["Location"] == h["Location"])
elif SCENARIO == "identifiers":
    say(a.register())
    names = [{"type": "dns", "value": "n%d.acme.test" % i} for i in range(101)]
    say(a.post(DIR["newOrder"], {"identifiers": names}))
    say(a.post(DIR["newOrder"], {"identifiers": []}))
    st, h, b = say(a.post(DIR["newOrder"], {"identifiers": names[:100]}))
    print(len(json.loads(b)["authorizations"]))
elif SCENARIO == "rejected":
    say(a.register())
    for ids in ([("dns", "web.acme.test")], [("dns", "api.acme.test")],
                [("dns", "web.acme.test"), ("dns", "api.acme.test")],
                [("dns", "WEB.acme.test")], [("dns", "bad..acme.test")],
                [("email", "ops@acme.test")]):
        say(a.post(DIR["newOrder"], {"identifiers": [{"type": t, "value": v} for t, v in ids]}))
elif SCENARIO == "deactivate":
    say(a.register())
    say(a.post(a.kid, {"status": "valid"}))
    st, h, b = say(a.post(a.kid, {"status": "deactivated"}))
    print(json.loads(b)["status"])
    # Nothing more is done in its name.
    say(a.post(DIR["newOrder"], {"identifiers": [{"type": "dns", "value": "web.acme.test"}]}))
    say(a.post(a.kid, None))
    say(a.post(a.kid, {"contact": ["mailto:ops@acme.test"]}))
    print(a.kid.rsplit("/", 1)[-1])
elif SCENARIO == "authzdeact":
    say(a.register())
    web = {"identifiers": [{"type": "dns", "value": "web.acme.test"}]}
    st, h, b = say(a.post(DIR["newOrder"], web))
    order_url, az = h["Location"], json.loads(b)["authorizations"][0]
    say(a.post(az, {"status": "valid"}))
    st, h, b = say(a.post(az, {"status": "deactivated"}))
    print(json.loads(b)["status"])
    # Its order is invalid; the next order for the name gets a new one.
    print(json.loads(a.post(order_url, None)[2])["status"])
    st, h, b = say(a.post(DIR["newOrder"], web))
    print(json.loads(b)["authorizations"][0] != az)
    print(az.rsplit("/", 1)[-1])
elif SCENARIO == "slow":
    say(a.register())
    st, h, b = say(a.post(DIR["newOrder"], {"identifiers": [{"type": "dns", "value": "web.acme.test"}]}))
    authz = json.loads(a.post(json.loads(b)["authorizations"][0], None)[2])
    ch = [c for c in authz["challenges"] if c["type"] == "http-01"][0]
    TOKENS[ch["token"]] = ch["token"] + "." + a.thumb()
    srv = http.server.HTTPServer(("127.0.0.1", HTTP01), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    st, h, b = say(a.post(ch["url"], {}))
    srv.shutdown()
    print(json.loads(b).get("status", json.loads(b).get("detail")))
elif SCENARIO == "revokedkey":
    # A certificate of a's, revoked by its own key.
    say(a.register())
    order, url = ready_order(a, "web.acme.test")
    certkey = ec.generate_private_key(ec.SECP256R1())
    st, h, body = say(a.post(order["finalize"], {"csr": b64(csr_der(["web.acme.test"], certkey))}))
    der = x509.load_pem_x509_certificate(a.post(json.loads(body)["certificate"], None)[2]).public_bytes(
        serialization.Encoding.DER)
    k = Account()
    k.key = jwk.JWK.from_pyca(certkey)
    say(k.post(DIR["revokeCert"], {"certificate": b64(der), "reason": 1}, use_jwk=True))
    # That key revokes nothing again, and is no account's.
    say(k.post(DIR["revokeCert"], {"certificate": b64(der)}, use_jwk=True))
    say(k.post(DIR["newAccount"], {"termsOfServiceAgreed": True}))
    # Another account: not in a certificate request, nor as its new key.
    b = Account()
    say(b.register())
    order, url = ready_order(b, "web.acme.test")
    say(b.post(order["finalize"], {"csr": b64(csr_der(["web.acme.test"], certkey))}))
    prot = {"alg": "ES256", "url": DIR["keyChange"], "jwk": json.loads(k.key.export_public())}
    s = jws.JWS(json.dumps({"account": b.kid, "oldKey": json.loads(b.key.export_public())}).encode())
    s.add_signature(k.key, None, json_encode(prot))
    say(b.post(DIR["keyChange"], json.loads(s.serialize())))
    # The account that ordered it, in an order of its own.
    order, url = ready_order(a, "web.acme.test")
    say(a.post(order["finalize"], {"csr": b64(csr_der(["web.acme.test"], certkey))}))
    # Any other key is issued.
    order, url = ready_order(b, "web.acme.test")
    say(b.post(order["finalize"], {"csr": b64(csr_der(["web.acme.test"]))}))
elif SCENARIO == "retryafter":
    # "STATUS RETRY-AFTER" of a pending authorization, of the order, and of
    # the authorization once valid.
    a.register()
    st, h, b = a.post(DIR["newOrder"], {"identifiers": [{"type": "dns", "value": "web.acme.test"}]})
    order, url = json.loads(b), h["Location"]
    st, h, b = a.post(order["authorizations"][0], None)
    print(json.loads(b)["status"], h.get("Retry-After", "-"))
    st, h, b = a.post(url, None)
    print(json.loads(b)["status"], h.get("Retry-After", "-"))
    order, url = ready_order(a, "web.acme.test")
    st, h, b = a.post(order["authorizations"][0], None)
    print(json.loads(b)["status"], h.get("Retry-After", "-"))
elif SCENARIO == "challtypes":
    # The challenge types offered for an address, a wildcard and a name.
    a.register()
    for t, v in (("ip", "127.0.0.1"), ("dns", "*.acme.test"), ("dns", "web.acme.test")):
        st, h, b = a.post(DIR["newOrder"], {"identifiers": [{"type": t, "value": v}]})
        az = json.loads(a.post(json.loads(b)["authorizations"][0], None)[2])
        print(v, " ".join(sorted(c["type"] for c in az["challenges"])))
elif SCENARIO == "ip":
    # An order for 127.0.0.1, http-01 answered, finalized; the SAN printed.
    import ipaddress
    say(a.register())
    st, h, b = say(a.post(DIR["newOrder"], {"identifiers": [{"type": "ip", "value": "127.0.0.1"}]}))
    order, url = json.loads(b), h["Location"]
    srv = http.server.HTTPServer(("127.0.0.1", HTTP01), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    az = json.loads(a.post(order["authorizations"][0], None)[2])
    ch = [c for c in az["challenges"] if c["type"] == "http-01"][0]
    TOKENS[ch["token"]] = ch["token"] + "." + a.thumb()
    a.post(ch["url"], {})
    srv.shutdown()
    order = json.loads(a.post(url, None)[2])
    print(order["status"])
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).add_extension(
        x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False).sign(
        key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    st, h, b = say(a.post(order["finalize"], {"csr": b64(csr)}))
    crt = x509.load_pem_x509_certificate(a.post(json.loads(b)["certificate"], None)[2])
    san = crt.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    print(",".join("IP:%s" % v for v in san.get_values_for_type(x509.IPAddress)) +
          "".join(",DNS:" + v for v in san.get_values_for_type(x509.DNSName)))
else:
    sys.exit("unknown scenario " + SCENARIO)
