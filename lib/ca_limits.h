/*
 * Named size and count limits.  Every one is checked before parsing and
 * tested at its boundary (tests/bats/limits.bats).
 */
#ifndef INCA_CA_LIMITS_H
#define INCA_CA_LIMITS_H

#define CA_MAX_PEM        (64 * 1024)   /* one PEM/DER input: cert, chain, CSR, CRL, key */
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

#endif
