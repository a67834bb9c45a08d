/*
 * authority: the one implementation of the CA's decisions.
 *
 * Offline programs call it in-process; ca-serve reaches it by running the
 * same programs in --api mode.  It knows nothing of HTTP: a refusal
 * carries the HTTP status an API response should use (authority_status).
 *
 * Issuance is one database transaction: spend the token's jti, sign,
 * record the certificate, COMMIT; the certificate is returned only after
 * the commit succeeded.  Every check that does not need the database runs
 * before it, so a token that fails them is never marked used.
 */
#ifndef INCA_AUTHORITY_H
#define INCA_AUTHORITY_H

#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

struct authority;

/*
 * Load ca.json and the intermediate chain, and open the database of the
 * CA home dir (NULL: $CA_DIR, else $HOME/.inca; see config_home).  The
 * signing key is decrypted only when first needed.  CA_FAIL for
 * configuration problems, CA_UNAVAIL if the database is busy.  *out is
 * the caller's (authority_close).
 */
int authority_open(const char *dir, struct authority **out);
void authority_close(struct authority *a);

/* What a client asks for; strings may be NULL. */
struct sign_request {
	const char *ott;            /* the one-time token */
	X509_REQ *csr;
	const char *not_before;     /* RFC 3339 or duration; NULL: now - backdate */
	const char *not_after;      /* RFC 3339 or duration; NULL: the default */
};

/*
 * Verify the token and the request, and issue.  *crt is the caller's.
 * CA_REFUSED (token, names, policy, duration), CA_INPUT (malformed
 * token/CSR), CA_FAIL, CA_UNAVAIL; the message is recorded.
 */
int authority_sign(struct authority *a, const struct sign_request *r, X509 **crt);

/*
 * Passive revocation of serial (decimal or 0x-hex).  With ott, the token
 * must be a revoke token whose sub is the serial; without (offline), the
 * caller is the operator.  CA_REFUSED "already revoked" / "not found".
 */
int authority_revoke(struct authority *a, const char *serial, int reason_code,
    const char *reason, const char *ott);

/* The intermediates to send after a leaf (borrowed). */
STACK_OF(X509) *authority_chain(struct authority *a);
/* The database (borrowed), for inventory queries. */
struct db *authority_db(struct authority *a);
/* The HTTP status for the last error (401, 403, 400, 500, 503). */
int authority_status(void);

/* Serial text (decimal or 0x-hex) to canonical decimal; malloc'd or NULL. */
char *authority_serial(const char *s);

#endif
