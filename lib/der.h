/*
 * der: strict DER (X.690 section 10) for the certificates, requests and
 * CRLs the CA reads.
 *
 * OpenSSL's decoders accept BER: indefinite and non-minimal lengths, a
 * BOOLEAN true of any non-zero octet, padded INTEGERs, constructed
 * strings.  What they accept they also keep (the encoding of a signed
 * part is cached and re-emitted as read), so re-encoding a parsed object
 * does not show what was inside it.  These checks walk the bytes instead:
 * every element of the input, every extension value, and an RSA public
 * key's inner structure must be DER; then the object, re-encoded from its
 * fields, must give the input again (DEFAULT values written out, SET OF
 * in the wrong order).
 *
 * Each returns CA_OK, or CA_INPUT with the message "not DER (<why> at
 * byte N)" (N counted from the start of the element checked; the caller
 * prefixes what it read).  Out of memory reads as "not DER (does not
 * encode again)", which fails closed.  The object is not modified.
 */
#ifndef INCA_DER_H
#define INCA_DER_H

#include <stddef.h>

#include <openssl/x509.h>

/* Nested elements deeper than this are refused (bounds the recursion). */
#define DER_MAX_DEPTH 32

/* The len bytes at der are exactly one DER element. */
int der_strict(const unsigned char *der, size_t len);

/* x, req or crl was decoded from exactly the len bytes at der. */
int der_check_cert(const X509 *x, const unsigned char *der, size_t len);
/*
 * req is re-encoded in place to compare: when the answer is not CA_OK its
 * cached encoding may no longer be the input's, so a refused request is
 * good only for display (ca-inspect shows it flagged "not DER").
 */
int der_check_csr(X509_REQ *req, const unsigned char *der, size_t len);
int der_check_crl(const X509_CRL *crl, const unsigned char *der, size_t len);

#endif
