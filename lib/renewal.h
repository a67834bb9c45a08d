/*
 * renewal: the client side of renewing a certificate online.
 *
 * When a certificate is due (renewal_due), the renewal token that
 * authenticates it where mTLS cannot (renewal_token: step-ca's format),
 * the request to the CA (renewal_online: POST /1.0/renew over mTLS or
 * with the token as a bearer, /1.0/rekey for a new key), and what is done
 * with the answer (renewal_chain_pem, renewal_exec).  Nothing here exits.
 */
#ifndef INCA_RENEWAL_H
#define INCA_RENEWAL_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define RENEWAL_TOKEN_LIFE  300   /* seconds a renewal token is valid */
#define RENEWAL_TOKEN_ISS   "step-ca-client/1.0"
/* --if-due: the jitter moves the due point up to lifetime/N earlier. */
#define RENEWAL_JITTER_DIV  20

/*
 * The audience of a request to route ("renew", "rekey", "revoke") of
 * the CA at ca_url: https://<host>[:<port>]/1.0/<route>, the host and
 * port as the URL gives them (any path of the URL is left out, as
 * step-ca's clients do).  CA_USAGE for a URL that does not parse.
 * *out is malloc'd.
 */
int renewal_audience(const char *ca_url, const char *route, char **out);

/*
 * A renewal token for the certificate chain[0] (then its intermediates;
 * self-signed certificates in chain are left out) whose private key is
 * key: a compact JWS signed by key with header {"alg","kid","typ":"JWT",
 * "x5c":[standard base64 DER, leaf first]} and claims iss
 * RENEWAL_TOKEN_ISS, sub the leaf's common name (its first subject
 * alternative name when it has none), aud renewal_audience(ca_url,
 * "renew"), nbf = iat = now, exp = now + RENEWAL_TOKEN_LIFE and a fresh
 * 256-bit jti.  CA_INPUT when key is not the leaf's.  *out is malloc'd;
 * wipe it (io_wipe_str) once sent.
 */
int renewal_token(EVP_PKEY *key, STACK_OF(X509) *chain, const char *ca_url,
    int64_t now, char **out);

enum renewal_when {
	RENEW_ALWAYS,           /* no condition given */
	RENEW_IF_DUE,           /* --if-due */
	RENEW_EXPIRES_IN        /* --expires-in D */
};

/*
 * Whether leaf is due for renewal at now.  RENEW_IF_DUE: from notBefore
 * + 2/3 of the lifetime (notAfter - notBefore) - j, where the jitter j,
 * 0 <= j <= lifetime / RENEWAL_JITTER_DIV, comes from the certificate's
 * SHA-256 fingerprint: the same certificate is always due at the same
 * moment, and certificates issued together spread out.
 * RENEW_EXPIRES_IN: from notAfter - within.  RENEW_ALWAYS: always.  An
 * expired certificate is always due.  *at (may be NULL) is the moment it
 * is due (now for RENEW_ALWAYS).
 */
int renewal_due(X509 *leaf, enum renewal_when when, int64_t within,
    int64_t now, int *due, int64_t *at);

struct renewal_request {
	const char *dir, *ca_url, *root;   /* as client_discover() takes them */
	STACK_OF(X509) *chain;  /* the certificate (leaf first) being renewed */
	EVP_PKEY *key;          /* its private key */
	int token_auth;         /* authenticate with a renewal token, not mTLS */
	EVP_PKEY *new_key;      /* rekey: the new key (NULL: renew) */
};

/*
 * Renew online.  The CA is found with client_discover() and trusted by
 * its root alone.  Renew: POST /1.0/renew with an empty JSON object over
 * mTLS (chain and key as the client certificate), or, with token_auth,
 * without a client certificate and with a renewal token as
 * "Authorization: Bearer".  Rekey (new_key): POST /1.0/rekey
 * {"csr": a request signed by new_key} over mTLS.  The answer's
 * certChain must hold the new certificate first, for the key asked for
 * (CA_FAIL otherwise).  Errors follow client_post() (a refusal is
 * CA_REFUSED with the CA's message).  *out (leaf first) is the caller's
 * (sk_X509_pop_free).
 */
int renewal_online(const struct renewal_request *r, int64_t now,
    STACK_OF(X509) **out);

/*
 * The chain as PEM: chain[0] and every certificate after it that is not
 * self-signed (a root is never handed out): what ca-renew writes, and the
 * chain client_use_identity() presents.  malloc'd, NULL on failure.
 */
char *renewal_chain_pem(STACK_OF(X509) *chain);

/*
 * Run cmd with /bin/sh -c and wait for it.  CA_OK when it exits 0;
 * otherwise CA_FAIL "--exec: CMD: exited N" (or "killed by signal N",
 * or why it could not start).
 */
int renewal_exec(const char *cmd);

#endif
