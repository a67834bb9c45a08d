/*
 * chain: an issued certificate and its intermediates as the programs
 * hand them out, as PEM or as the API's JSON.  A self-signed issuer (a
 * root) is never included: a relying party must have it already, and
 * one sent along proves nothing.
 */
#ifndef INCA_CHAIN_H
#define INCA_CHAIN_H

#include <jansson.h>
#include <openssl/x509.h>

/* leaf then issuers as concatenated PEM; malloc'd, NULL on failure. */
char *chain_pem(X509 *leaf, STACK_OF(X509) *issuers);

/*
 * {"crt": leaf PEM, "ca": first intermediate PEM (absent under a root),
 * "certChain": [leaf, intermediates...]}; a new reference, NULL on
 * failure (message recorded).
 */
json_t *chain_json(X509 *leaf, STACK_OF(X509) *issuers);

#endif
