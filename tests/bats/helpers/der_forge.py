#!/usr/bin/env python3
"""Forge BER and other not-quite-DER encodings of a signed X.509 object.

    der_forge.py IN.der OUT.der [--key KEY.pem] [EDIT...]

IN is a DER certificate, CSR or CRL.  Each EDIT changes how one element is
encoded (or what it holds) without changing what it means to a lenient
decoder; the element is named by a path of child indices from the outer
SEQUENCE, e.g. 0.1 is the subject of a CSR (tbs, then its second child).

    indef:PATH      indefinite length (constructed elements)
    longlen:PATH    a length in more octets than needed
    padint:PATH     an INTEGER with a redundant leading 00 octet
    bool01:PATH     a BOOLEAN true written as 01 instead of FF
    false:PATH      insert an explicit BOOLEAN FALSE (critical, a DEFAULT)
                    as the second child of the extension at PATH
    swap:PATH       swap the first two children (a SET OF out of order)
    hex:PATH:HEX    replace the content of a primitive element (an
                    extension's OCTET STRING value) with these octets
    drop:PATH       remove the element (with --key, a field left out of
                    a validly signed object: a CRL's nextUpdate is 0.4)
    trailing        one 00 octet after the outer element

With --key, the to-be-signed part (child 0) is signed again with KEY
(EC P-256 with SHA-256, or Ed25519) over its new encoding, so that the
forgery carries a valid signature and only its encoding is wrong.
"""
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519


class Node:
    def __init__(self, ident, cons, content=b"", children=None):
        self.ident = ident          # identifier octets
        self.cons = cons
        self.content = content      # primitive content
        self.children = children or []
        self.indef = False
        self.longlen = False


def parse(data, pos=0):
    start = pos
    b = data[pos]
    pos += 1
    if b & 0x1F == 0x1F:
        while data[pos] & 0x80:
            pos += 1
        pos += 1
    ident = data[start:pos]
    n = data[pos]
    pos += 1
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    end = pos + n
    cons = bool(b & 0x20)
    node = Node(ident, cons)
    if cons:
        while pos < end:
            child, pos = parse(data, pos)
            node.children.append(child)
    else:
        node.content = data[pos:end]
    return node, end


def length(n, longlen):
    if n < 0x80 and not longlen:
        return bytes([n])
    body = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    if longlen and n >= 0x80:
        body = b"\x00" + body
    return bytes([0x80 | len(body)]) + body


def ser(node):
    body = b"".join(ser(c) for c in node.children) if node.cons else node.content
    if node.indef:
        return node.ident + b"\x80" + body + b"\x00\x00"
    return node.ident + length(len(body), node.longlen) + body


def at(root, path):
    node = root
    for i in path:
        node = node.children[i]
    return node


def resign(root, keyfile):
    with open(keyfile, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    tbs = ser(root.children[0])
    if isinstance(key, ec.EllipticCurvePrivateKey):
        sig = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        sig = key.sign(tbs)
    else:
        sys.exit("der_forge: unsupported key type")
    root.children[2].content = b"\x00" + sig


def main(argv):
    args = argv[1:]
    key = None
    if "--key" in args:
        i = args.index("--key")
        key = args[i + 1]
        del args[i:i + 2]
    if len(args) < 2:
        sys.exit(__doc__)
    with open(args[0], "rb") as f:
        data = f.read()
    root, end = parse(data)
    if end != len(data):
        sys.exit("der_forge: trailing bytes in the input")
    trailing = False
    for edit in args[2:]:
        op, _, spec = edit.partition(":")
        spec, _, arg = spec.partition(":")
        path = [int(x) for x in spec.split(".")] if spec else []
        if op == "trailing":
            trailing = True
            continue
        node = at(root, path)
        if op == "indef":
            assert node.cons, "indef: not a constructed element"
            node.indef = True
        elif op == "longlen":
            node.longlen = True
        elif op == "padint":
            assert node.ident == b"\x02" and node.content[0] < 0x80
            node.content = b"\x00" + node.content
        elif op == "bool01":
            assert node.ident == b"\x01" and node.content == b"\xff"
            node.content = b"\x01"
        elif op == "false":
            assert node.children[0].ident == b"\x06" and len(node.children) == 2
            node.children.insert(1, Node(b"\x01", False, b"\x00"))
        elif op == "swap":
            assert len(node.children) >= 2
            node.children[0], node.children[1] = node.children[1], node.children[0]
        elif op == "hex":
            assert not node.cons
            node.content = bytes.fromhex(arg)
        elif op == "drop":
            assert path, "drop: not the outer element"
            at(root, path[:-1]).children.pop(path[-1])
        else:
            sys.exit("der_forge: unknown edit " + op)
    if key is not None:
        resign(root, key)
    out = ser(root) + (b"\x00" if trailing else b"")
    with open(args[1], "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main(sys.argv)
