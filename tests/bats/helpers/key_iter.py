"""Rewrite the PBKDF2 iteration count of the fuzz corpus's encrypted seed key.

    key_iter.py SEED.pem OUT.pem COUNT

SEED is fuzz/corpus/pem/key-ec-encrypted.pem (PKCS#8, PBES2, 16
iterations as INTEGER 02 01 10 at offset 43).  OUT is the same key with
COUNT in its place, the five enclosing lengths grown to match: a key file
that asks for COUNT iterations, which the programs must refuse before
deriving anything when COUNT is over their limit.
"""
import base64
import sys

seed, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
pem = open(seed).read().split("\n")
der = bytearray(base64.b64decode(
    "".join(l for l in pem if l and not l.startswith("-----"))))
assert der[43:46] == b"\x02\x01\x10", der[43:46]
value = count.to_bytes(count.bit_length() // 8 + 1, "big")  # a sign bit's room
grow = len(value) - 1
der[43:46] = b"\x02" + bytes([len(value)]) + value
for off in (2, 4, 17, 19, 32):
    der[off] += grow
b = base64.b64encode(bytes(der)).decode()
open(out, "w").write("-----BEGIN ENCRYPTED PRIVATE KEY-----\n" +
                     "".join(b[i:i + 64] + "\n" for i in range(0, len(b), 64)) +
                     "-----END ENCRYPTED PRIVATE KEY-----\n")
