/*
 * oidc: what an OIDC provisioner needs besides the JWS code: its issuer's
 * keys (a JWKS fetched over HTTPS, or read from a file) kept in the
 * process for a bounded time, and the rules that turn an ID token's
 * claims into the names a job may ask for.
 *
 * Trust: the JWKS and discovery documents are fetched with libcurl over
 * HTTPS only, no redirects, verifying the server against the system's
 * CA bundle or the provisioner's "caFile", never the CA's own root.  A
 * fetch that fails fails the request (CA_UNAVAIL: 503, exit 5); no key
 * older than OIDC_JWKS_MAX_AGE is used.
 */
#ifndef INCA_OIDC_H
#define INCA_OIDC_H

#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "san.h"

#define OIDC_JWKS_MAX_AGE   3600    /* seconds a fetched JWKS is used */
#define OIDC_REFETCH_MIN    60      /* an unknown kid re-fetches at most this often */
#define OIDC_MAX_DOC        (256 * 1024)  /* a discovery document or JWKS */
#define OIDC_FETCH_TIMEOUT  10      /* seconds for one HTTPS fetch */
#define OIDC_MAX_TOKEN_AGE  600     /* default of maxTokenAge: now - iat */
#define OIDC_MAX_TOKEN_LIFE (24 * 3600) /* exp - iat of any ID token */

/* The claims a rule may match. */
#define OIDC_RULE_CLAIMS { "repository", "ref", "workflow", "environment", "sub", NULL }

/* One OIDC provisioner's state in a process. */
struct oidc {
	const json_t *prov;         /* its ca.json object (borrowed) */
	char *issuer;               /* configured, or from discovery */
	char *jwks_uri;             /* configured, or from discovery */
	char *jwks_file;            /* resolved against the home, or NULL */
	char *ca_file;              /* resolved, or NULL: the system bundle */
	json_t *jwks;               /* the key set in use, or NULL */
	int64_t fetched;            /* when jwks was fetched */
	int64_t tried;              /* the last fetch attempt */
	int64_t failed;             /* when a fetch last failed, or 0 */
	char *why;                  /* and why (malloc'd) */
};

/* Set o up for prov (paths resolved against home).  CA_FAIL: out of memory. */
int oidc_init(struct oidc *o, const char *home, const json_t *prov);
void oidc_free(struct oidc *o);

/*
 * The issuer o trusts: the configured "issuer", else the discovery
 * document's (fetched once).  CA_UNAVAIL when it cannot be fetched,
 * CA_FAIL when the document is malformed or names another issuer than
 * the configured one.  *iss borrowed from o.
 */
int oidc_issuer(struct oidc *o, const char **iss);

/*
 * The verifying key of kid, at time now: from the cached key set while it
 * is younger than OIDC_JWKS_MAX_AGE; fetched (or read) when there is
 * none or it is older; fetched again when kid is unknown, unless the last
 * fetch was less than OIDC_REFETCH_MIN ago.  A failed fetch (discovery
 * or key set) is not tried again for OIDC_REFETCH_MIN: requests in
 * between fail with its message, so tokens cannot make the CA hammer an
 * issuer that is down.  Only RSA (RS256, at least
 * 2048 bits) and EC P-256 (ES256) keys are used.  *key is the caller's
 * (EVP_PKEY_free).  CA_REFUSED: no key kid (or two); CA_UNAVAIL: the
 * fetch failed; CA_FAIL: a malformed key set.
 */
int oidc_key(struct oidc *o, const char *kid, int64_t now, EVP_PKEY **key);

/*
 * The names the verified claims may ask for under prov's "rules": the
 * union of the sans of every rule whose match holds (each named claim
 * a string equal to the pattern, or matching it as a glob: '*' any run
 * of characters, '?' one).  CA_REFUSED "no rule matches ..." when none
 * holds.  The caller frees *allowed with sans_free().
 */
int oidc_rules(const json_t *prov, const json_t *claims, struct sans *allowed);

/*
 * GET url over HTTPS (ca_file NULL: the system bundle), at most
 * OIDC_MAX_DOC bytes, status 200, a JSON object: *out (json_decref).
 * CA_UNAVAIL for any transport or status failure, CA_FAIL for a body
 * that is not a JSON object.
 */
int oidc_fetch_json(const char *url, const char *ca_file, json_t **out);

#endif
