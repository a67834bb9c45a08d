/*
 * token: the JWK provisioner's one-time tokens (step-ca's format):
 * finding a provisioner in ca.json, the audiences a CA accepts, and
 * minting a token.  Verification lives in authority.c.
 */
#ifndef INCA_TOKEN_H
#define INCA_TOKEN_H

#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#define TOKEN_LEEWAY        60          /* seconds of clock skew accepted */
#define TOKEN_DEFAULT_LIFE  300         /* ca-token default: 5m */
#define TOKEN_MAX_LIFE      3600        /* default server-side maximum: 1h */
#define TOKEN_MAX_JTI       128         /* bytes */

/*
 * The JWK provisioner in ca.json named name (NULL: the first JWK one) and,
 * when kid is non-NULL, with that key id.  Borrowed from conf; NULL if
 * none (message recorded: CA_REFUSED "unknown provisioner ...").
 */
const json_t *token_provisioner(const json_t *conf, const char *name,
    const char *kid);

/*
 * The longest token lifetime (exp - iat) the CA of conf accepts:
 * authority.maxTokenLifetime, a duration above zero (default
 * TOKEN_MAX_LIFE).  CA_FAIL for a malformed value.  The one reading of it,
 * for the authority and for ca-token.
 */
int token_max_lifetime(const json_t *conf, int64_t *out);

/*
 * Every audience the CA accepts for path ("sign", "revoke", "renew"):
 * for each dnsNames entry H, with and without the address's port,
 * https://H/1.0/<path> and https://H/<path>.  New array (json_decref).
 */
json_t *token_audiences(const json_t *conf, const char *path);
/* The audience ca-token uses: https://<dnsNames[0]>[:port]/1.0/<path>; malloc'd. */
char *token_audience(const json_t *conf, const char *path);

struct token_claims {
	const char *iss, *sub, *aud, *sha;   /* sha: root fingerprint or NULL */
	const json_t *sans;     /* array of strings, or NULL for none */
	int64_t nbf, exp;       /* iat = nbf */
	const char *cnf;        /* cnf.x5rt#S256 or NULL */
};

/* Mint: a fresh 256-bit jti, signed with key (kid in the header).  *out malloc'd. */
int token_mint(EVP_PKEY *key, const char *kid, const struct token_claims *c,
    char **out);

/*
 * The provisioner's private key: decrypt its encryptedKey with password.
 * CA_REFUSED for a wrong password, CA_INPUT for a malformed key.  *out
 * is the caller's (EVP_PKEY_free).
 */
int token_provisioner_key(const json_t *prov, const char *password,
    EVP_PKEY **out);

#endif
