#!/usr/bin/env python3
"""A current CRL of an exact size in DER, signed by an issuer.

    big_crl.py ISSUER.crt ISSUER.key SIZE OUT.der

The CRL lists nothing; a non-critical extension of an unassigned OID holds
an OCTET STRING whose length is adjusted until the signed CRL is SIZE
bytes (an ECDSA signature varies in length, so it is made again until it
fits).  Exit 1 when no signature gives that size.
"""
import datetime
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ObjectIdentifier


def octets(n):
    """An OCTET STRING of n bytes, DER."""
    if n < 128:
        length = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
        length = bytes([0x80 | len(b)]) + b
    return b'\x04' + length + b'A' * n


def main():
    crt, keyfile, size, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with open(keyfile, 'rb') as f:
        key = serialization.load_pem_private_key(f.read(), None)
    with open(crt, 'rb') as f:
        issuer = x509.load_pem_x509_certificate(f.read())
    now = datetime.datetime.now(datetime.timezone.utc)
    pad = max(size - 400, 0)
    for _ in range(100):
        b = (x509.CertificateRevocationListBuilder()
             .issuer_name(issuer.subject)
             .last_update(now - datetime.timedelta(minutes=5))
             .next_update(now + datetime.timedelta(days=1))
             .add_extension(x509.UnrecognizedExtension(
                 ObjectIdentifier('1.3.6.1.4.1.57264.99'), octets(pad)),
                 critical=False))
        der = b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        if len(der) == size:
            with open(out, 'wb') as f:
                f.write(der)
            return 0
        pad += size - len(der)
    print('no CRL of %d bytes' % size, file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
