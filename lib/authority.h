/*
 * authority: the one implementation of the CA's decisions.
 *
 * Offline programs call it in-process; ca-serve reaches it by running the
 * same programs in --api mode.  It knows nothing of HTTP framing: each
 * call returns its outcome as a value, the exit code together with the
 * HTTP status an API response should carry.
 *
 * Issuance: every check, and the signing itself, runs before the
 * database is touched; then one transaction spends the token's jti,
 * records the certificate and commits.  The certificate is returned only
 * after the commit succeeded; one signed for a token that turns out to be
 * spent is discarded.  A token that fails a check is never marked used.
 */
#ifndef INCA_AUTHORITY_H
#define INCA_AUTHORITY_H

#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "db.h"

struct authority;

/*
 * How a call ended.  code is CA_OK or the exit code, with the message
 * recorded (err_msg()); status is the HTTP status for an API answer:
 * 200 on success, else 400 (malformed), 401 (token rejected or spent),
 * 403 (refused: names, policy, validity), 404 (no such certificate),
 * 500 (failure), 503 (database busy).
 */
struct authority_result {
	int code;
	int status;
};

/*
 * Load ca.json and the intermediate chain, and open the database of the
 * CA home dir (NULL: $CA_DIR, else $HOME/.inca; see config_ca) in mode:
 * DB_WRITE to issue and revoke, DB_READ for the inventory (read-only, no
 * migration; the configuration is checked all the same).  DB_CREATE is
 * ca-init's alone and refused here.  The signing key is decrypted only
 * when first needed.  CA_FAIL for configuration and database problems (a
 * database without the schema included), CA_UNAVAIL if the database is
 * busy.  *out is the caller's (authority_close).
 */
int authority_open(const char *dir, enum db_mode mode, struct authority **out);
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
 * CA_REFUSED (token, names, policy, validity), CA_INPUT (malformed
 * token/CSR/times), CA_FAIL, CA_UNAVAIL.
 */
struct authority_result authority_sign(struct authority *a,
    const struct sign_request *r, X509 **crt);

/*
 * Group commit: n requests decided and signed one by one as
 * authority_sign() does (outside the write lock), then recorded in one
 * transaction, each under a savepoint of its own, so that one refused
 * there (a spent token) undoes only itself.  Each outcome is known after
 * the COMMIT: s[i].res, and s[i].crt (the caller's) on success or s[i].msg
 * (malloc'd, the caller's) on failure.  A failed BEGIN or COMMIT fails
 * every request that was to be recorded, with its message.
 */
struct authority_signing {
	const struct sign_request *req;     /* in */
	X509 *crt;                          /* out */
	struct authority_result res;        /* out */
	char *msg;                          /* out */
};
void authority_sign_batch(struct authority *a, struct authority_signing *s,
    size_t n);

/*
 * Passive revocation of serial (any form x509_serial_parse() takes).
 * With ott, the token must be a revoke token whose sub is the serial;
 * without (offline), the caller is the operator.  CA_REFUSED "already
 * revoked" (403) or "not found" (404).
 */
struct authority_result authority_revoke(struct authority *a,
    const char *serial, int reason_code, const char *reason,
    const char *ott);

/*
 * Sign with key, already in hand, instead of decrypting the home's key
 * file on first use (ca-init, which has just made it and may have read
 * its password from a pipe that cannot be read twice).  It must match
 * the intermediate certificate (CA_FAIL).  A reference is taken.
 */
int authority_use_key(struct authority *a, EVP_PKEY *key);

/*
 * The CA's current CRL (lib/crl.c), signed by the intermediate.  A stored
 * CRL is returned as long as it is current: made from every revocation
 * stored now, renewPeriod (ca.json crl.renewPeriod, default 2/3 of
 * crl.cacheDuration) not yet passed since its thisUpdate, before its
 * nextUpdate.  Otherwise, or with force, a new one is made and stored in
 * one write transaction: CRL number one more than the last, thisUpdate
 * now, nextUpdate now + cacheDuration (default 24h), every revoked
 * certificate until CRL_EXPIRY_GRACE (1h) after its notAfter.  On success
 * *der (malloc'd, the caller's to free()) and *len hold its DER; either
 * may be NULL ("make sure it is current").  CA_REFUSED with status 404
 * "CRL disabled" when ca.json says crl.enabled false; CA_UNAVAIL (503)
 * when the database is busy; CA_FAIL (500) otherwise, the message
 * recorded.  A read-only (DB_READ) authority can only return a current
 * CRL: making one is CA_FAIL.
 */
struct authority_result authority_crl(struct authority *a, int force,
    unsigned char **der, size_t *len);

/* For lib/crl.c: ca.json as checked (borrowed). */
const json_t *authority_conf(struct authority *a);
/*
 * For lib/crl.c: the intermediate's key, decrypted on first use
 * (borrowed; lives as long as a).  CA_FAIL or CA_REFUSED (password).
 */
int authority_signing_key(struct authority *a, EVP_PKEY **key);

/* The intermediates to send after a leaf (borrowed). */
STACK_OF(X509) *authority_chain(struct authority *a);
/* The database (borrowed), for inventory queries. */
struct db *authority_db(struct authority *a);

#endif
