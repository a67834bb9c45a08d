/*
 * x509: the certificate profiles, issuance, the pre-signature lint, and
 * small read helpers shared by the programs.
 */
#ifndef INCA_X509_H
#define INCA_X509_H

#include <stdint.h>

#include <openssl/x509.h>

#include "san.h"

enum x509_profile { X509_LEAF, X509_INTERMEDIATE, X509_ROOT };

#define CA_BACKDATE 60          /* seconds: notBefore = now - backdate */
#define CA_SERIAL_OCTETS 20     /* 158 random bits, positive, 20 octets */

/* What to issue.  Nothing here is taken from a CSR except what the caller put in. */
struct x509_template {
	enum x509_profile profile;
	EVP_PKEY *pubkey;           /* the subject's public key */
	const X509_PUBKEY *spki;    /* optional: pubkey's own encoding (from the
	                             * CSR it came from), copied as is */
	const char *cn;             /* subject CN; NULL for none (leaf with SANs) */
	const char *org;            /* subject O for CA certificates, or NULL */
	const struct sans *sans;    /* leaf SANs */
	int64_t not_before;         /* unix seconds */
	int64_t not_after;          /* clamped to the issuer's notAfter */
	X509 *issuer;               /* NULL: self-signed (root) */
	STACK_OF(X509) *chain;      /* optional: issuer first, then its own
	                             * issuers (up to the root or not): the
	                             * path whose constraints the lint checks */
	EVP_PKEY *issuer_key;       /* signs; for a root, the key pair itself */
	int pathlen;                /* CA profiles: pathLenConstraint */
	const char *crl_url;        /* leaf: CRL Distribution Points URL
	                             * (ca.json crl.idpURL), or NULL */
};

/*
 * Build, lint and sign a certificate; the signature is checked against
 * the issuer's public key before the certificate is returned.  *out is
 * the caller's (X509_free).  CA_INPUT for a template the lint refuses,
 * CA_REFUSED when the issuer path forbids the certificate (an issuer not
 * CA:TRUE, without keyCertSign, whose path length leaves no room, or
 * that expires first; a chain that does not chain), CA_FAIL for a crypto
 * failure; nothing is returned on failure.
 */
int x509_issue(const struct x509_template *t, X509 **out);

/* Lowercase hex SHA-256 of the DER (65 bytes with NUL). */
int x509_fingerprint(X509 *x, char hex[65]);
/*
 * A fingerprint as a user gives it (any case, ':' separators allowed)
 * into 64 lowercase hex digits.  0 if it is not a SHA-256 fingerprint.
 */
int x509_fingerprint_parse(const char *s, char hex[65]);
/* The serial as decimal; malloc'd, OPENSSL_free. */
char *x509_serial_dec(X509 *x);
/*
 * A serial number as a person gives it, to canonical decimal (malloc'd):
 * decimal digits; or hexadecimal as 0xHEX, as colon-separated octets
 * (HH:HH:...), as openssl x509 -serial prints it (serial=HEX), or as
 * digits that contain a letter a-f.  Digits alone are decimal: hex
 * without a letter needs one of the marked forms.  1..20 octets, not zero.
 * NULL with CA_INPUT recorded, naming the forms, otherwise.
 */
char *x509_serial_parse(const char *s);
/* notBefore/notAfter as unix seconds. */
int64_t x509_time(const ASN1_TIME *t);
/* The subject CN into buf ("" if none); CA_INPUT if more than one or too long. */
int x509_subject_cn(const X509_NAME *name, char *buf, size_t len);

#endif
