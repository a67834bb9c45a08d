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

/* The longest free-text reason a revocation records, in bytes. */
#define REVOKE_MAX_REASON 1024

/* How a revocation is authorised; recorded as its method. */
enum revoke_method {
	REVOKE_OFFLINE,     /* "offline": the operator, on the CA host */
	REVOKE_TOKEN,       /* "token": a revoke token from a provisioner */
	REVOKE_MTLS,        /* "mtls": the certificate itself, over mTLS */
	REVOKE_ACME         /* "acme": an ACME revokeCert the handler
			       authenticated (the ordering account, or the
			       certificate's key) */
};

/* A revocation as asked for; strings may be NULL where not needed. */
struct revoke_request {
	enum revoke_method method;
	const char *serial;         /* any form x509_serial_parse() takes */
	int reason_code;            /* RFC 5280 CRLReason: 0..10, not 7 */
	const char *reason;         /* free text (UTF-8, no control
				       characters, at most REVOKE_MAX_REASON
				       bytes) or NULL */
	const char *ott;            /* REVOKE_TOKEN: the revoke token */
	STACK_OF(X509) *peer;       /* REVOKE_MTLS: the client's chain as
				       the TLS server verified it, leaf
				       first (borrowed) */
	X509 *cert;                 /* REVOKE_ACME: the certificate sent
				       (borrowed) */
	const char *provisioner;    /* REVOKE_ACME: the ACME provisioner */
};

/*
 * Renewal: a new certificate for one this CA issued, with the same
 * subject, SANs and (unless rekeyed) key, a fresh serial, and
 * renewed_from recording the old one.  How the holder is authenticated:
 *   RENEW_OFFLINE  the operator on the CA host presents cert;
 *   RENEW_MTLS     peer, the client chain (leaf first) ca-serve verified
 *                  in the TLS handshake: verified again to the root, now,
 *                  with clientAuth;
 *   RENEW_TOKEN    token, a renewal token: a JWS signed by the leaf's key
 *                  with the chain in its x5c (or x5cInsecure) header,
 *                  verified to the root at the leaf's last second (an
 *                  expired leaf still proves who holds it), clientAuth,
 *                  aud .../renew, sub the leaf's CN, at most
 *                  AUTHORITY_RENEW_TOKEN_LIFE (+ leeway) long, its jti
 *                  spent once (under the row's provisioner).
 * Then one set of rules for every path: the certificate's DER must be
 * byte for byte a stored row (else 401); not revoked (checked again
 * inside the write transaction, so a revocation committed first always
 * wins); the row's provisioner still in ca.json, without disableRenewal;
 * not before its notBefore; not after its notAfter, unless the
 * allowRenewalAfterExpiry claim is on, the path is RENEW_TOKEN and it
 * expired at most maxRenewalAfterExpiry ago; today's policy allows its
 * names.  The lifetime is the old one (notAfter - notBefore), at most
 * today's maxTLSCertDuration plus the backdate, from now - backdate,
 * clamped to the intermediate's notAfter.
 * csr (RENEW_MTLS only) rekeys: its signature is checked and only its
 * public key is used; the names stay the old certificate's.
 * Statuses: 400 malformed, 401 not authenticated (token, chain, not
 * issued here), 403 refused by a rule, 500, 503.
 */
#define AUTHORITY_RENEW_TOKEN_LIFE	300
/* The default of the maxRenewalAfterExpiry claim. */
#define AUTHORITY_RENEW_AFTER_EXPIRY	(7 * 24 * 3600)

enum renew_method { RENEW_OFFLINE, RENEW_MTLS, RENEW_TOKEN };

struct renew_request {
	enum renew_method method;
	X509 *cert;                 /* RENEW_OFFLINE */
	STACK_OF(X509) *peer;       /* RENEW_MTLS: leaf first */
	const char *token;          /* RENEW_TOKEN */
	X509_REQ *csr;              /* rekey (RENEW_MTLS); NULL: same key */
};

/* One renewal; *crt (the caller's) only on success. */
struct authority_result authority_renew(struct authority *a,
    const struct renew_request *r, X509 **crt);

/* Group commit of renewals, as authority_sign_batch() does for issuance. */
struct authority_renewal {
	const struct renew_request *req;    /* in */
	X509 *crt;                          /* out */
	struct authority_result res;        /* out */
	char *msg;                          /* out */
};
void authority_renew_batch(struct authority *a, struct authority_renewal *s,
    size_t n);

/*
 * Passive revocation: the serial is recorded as revoked, with the reason
 * and the method, in one transaction; nothing else changes.  Who may:
 *   REVOKE_OFFLINE  anyone who can write the database (the operator).
 *   REVOKE_TOKEN    a revoke token whose sub is the serial, from the
 *                   provisioner that issued the certificate (its row's
 *                   provisioner) or from one marked "admin": true in
 *                   ca.json (else 403 "provisioner P did not issue
 *                   certificate N"); the token is spent with the
 *                   revocation, and only then.
 *   REVOKE_MTLS     the certificate itself: the peer chain is verified
 *                   again, now, to the CA's root (else 401), the leaf's
 *                   serial must be the one revoked (else 403) and its DER
 *                   the row's (else 401).
 *   REVOKE_ACME     ca-acme, which authenticated the request (by the
 *                   account that ordered the certificate, or a JWS signed
 *                   by its key): the row's provisioner must be
 *                   provisioner (else 403) and cert's DER the row's
 *                   (else 401).
 * CA_INPUT (400) for a malformed serial, reason code or reason;
 * CA_REFUSED "certificate N already revoked" (403, the first record
 * kept) or "certificate N not found" (404); CA_FAIL, CA_UNAVAIL.
 */
struct authority_result authority_revoke(struct authority *a,
    const struct revoke_request *r);

/*
 * A CRLReason as a user gives it: its number (0..10, not 7) or its RFC
 * 5280 name in any case ("keyCompromise", "superseded", ...), into
 * *code.  CA_INPUT otherwise.
 */
int authority_reason_code(const char *s, int *code);
/* The RFC 5280 name of a reason code, or NULL if it is not one. */
const char *authority_reason_name(int code);

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

/* For lib/crl.c: ca.json's "crl", read once at authority_open (borrowed). */
struct crl_conf;
const struct crl_conf *authority_crl_conf(struct authority *a);
/*
 * For lib/crl.c: the intermediate's key, decrypted on first use
 * (borrowed; lives as long as a).  CA_FAIL or CA_REFUSED (password).
 */
int authority_signing_key(struct authority *a, EVP_PKEY **key);

/*
 * ACME (ca-acme).  The ACME provisioner named name in ca.json (borrowed
 * from the configuration: its forceCN, challenges, requireEAB,
 * validation...), or NULL when there is none of that name and type.
 */
const json_t *authority_acme_provisioner(struct authority *a,
    const char *name);

/*
 * Whether today's policy allows an order's identifiers (names, typed):
 * CA_OK (200), CA_REFUSED "policy: ..." (403: the identifier is
 * rejected), CA_INPUT for none (400), CA_FAIL.
 */
struct sans;
struct authority_result authority_acme_names(struct authority *a,
    const struct sans *names);

/*
 * An ACME order's certificate (finalize).  The handler has checked the
 * account, the order and that each of its authorizations is valid; here
 * the rules every issuance has: the provisioner is an ACME one of
 * ca.json; the CSR's signature and key (never the account's key); its
 * names (SANs, else its CN as a name) exactly the order's identifiers;
 * its CN, if any, one of them, else with forceCN the first; today's
 * policy; the provisioner's claims for the lifetime (notBefore and
 * notAfter as the order asked, or the defaults).  Signed before the
 * database is written, then recorded in one transaction with record()
 * called in it after the certificate's row (the order's row updated
 * there: a failure undoes both).  *crt (the caller's) only after the
 * COMMIT.  Statuses: 400 malformed CSR or the account's key, 403
 * refused (names, policy, validity), 404 no such provisioner, 500, 503.
 */
struct acme_issue_request {
	const char *provisioner;            /* its name */
	X509_REQ *csr;
	const struct sans *names;           /* the order's identifiers */
	EVP_PKEY *account_key;              /* refused as the CSR's key */
	const char *not_before, *not_after; /* RFC 3339, or NULL */
	int (*record)(struct db *db, X509 *crt, const char *serial, void *arg);
	void *arg;
};
struct authority_result authority_acme_issue(struct authority *a,
    const struct acme_issue_request *r, X509 **crt);

/*
 * The type of the provisioner named name in ca.json ("JWK", "OIDC",
 * "X5C", "ACME": the canonical spelling), or NULL when there is none of that
 * name.  Rows record the name only: the type is today's configuration's.
 */
const char *authority_provisioner_type(struct authority *a, const char *name);

/* The intermediates to send after a leaf (borrowed). */
STACK_OF(X509) *authority_chain(struct authority *a);
/* The database (borrowed), for inventory queries. */
struct db *authority_db(struct authority *a);

#endif
