/*
 * Named size and count limits.  Every one is checked before parsing and
 * tested at its boundary (tests/bats/limits.bats; the HTTP ones in
 * tests/unit/test_http.c).
 */
#ifndef INCA_CA_LIMITS_H
#define INCA_CA_LIMITS_H

#define CA_MAX_PEM        (64 * 1024)   /* one PEM/DER input: cert, chain, CSR, key */
/*
 * One CRL as DER: about 90,000 entries of a 20-octet serial with a reason.
 * As PEM, or as PEM inside a JSON answer, it takes at most CA_MAX_CRL_TEXT
 * bytes (base64 is 4/3 of it; a line break, escaped or not, per 48 bytes).
 */
#define CA_MAX_CRL        (4 * 1024 * 1024)
#define CA_MAX_CRL_TEXT   (CA_MAX_CRL / 2 * 3)
#define CA_MAX_JWT        (16 * 1024)   /* one compact JWS/JWE */
#define CA_MAX_JSON       (64 * 1024)   /* one API request or response JSON */
#define CA_MAX_CONFIG     (1024 * 1024) /* ca.json */
#define CA_MAX_PASSWORD   1024          /* first line of a password file */
#define CA_MAX_SANS       100           /* SANs in one certificate or token */
#define CA_MAX_NAME       253           /* one DNS name (RFC 1035) */
#define CA_MAX_SAN_LEN    1024          /* one SAN of any type (URI, email) */
#define CA_MAX_CHAIN      8             /* certificates in one chain */
#define CA_MAX_KEY_ITER   10000000      /* PBKDF2 iterations of a key file */
#define CA_MAX_HTTP_HEAD  (16 * 1024)   /* HTTP request line + headers + empty line */
#define CA_MAX_HTTP_HEADERS 100         /* header lines in one HTTP request */
/*
 * Address rules (allow and deny together) of an ACME provisioner's
 * validation: what the validator's argument vector holds.  More are
 * refused when ca.json is checked, never cut short: a deny rule left out
 * would let the validator connect where the operator forbade it.
 */
#define CA_MAX_ADDR_RULES 24

#endif
