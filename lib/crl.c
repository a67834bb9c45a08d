/*
 * crl: the CRL the CA publishes, made from the revocations table and kept
 * in the crl table (db.h).
 *
 * A stored CRL is current while all of these hold: it was made from as
 * many revocations as are stored now (revocations are never deleted, so a
 * revocation committed after it was made changes the count whatever any
 * clock said), its thisUpdate is not in the future, renewPeriod has not
 * passed since it, and its nextUpdate has not come.  Otherwise, or when
 * forced, a new one is made inside one write transaction: the latest
 * number and the revocations are read, the CRL is built and signed, and
 * stored under the next number, so what it lists and the count it records
 * come from the same snapshot.  The number is the table's primary key: a
 * writer that loses a race for it (a backend without SQLite's single
 * writer) rolls back and starts again from a fresh read.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "authority.h"
#include "crl.h"
#include "db.h"
#include "ca_limits.h"
#include "err.h"
#include "key.h"
#include "pem.h"
#include "timeutil.h"
#include "x509.h"

static int
conf_duration(const json_t *o, const char *name, int64_t *v)
{
	const json_t *j = json_object_get(o, name);

	if (j == NULL)
		return CA_OK;
	if (!json_is_string(j) ||
	    time_parse_duration(json_string_value(j), v) != CA_OK || *v <= 0)
		return err_set(CA_FAIL, "ca.json: crl.%s: a positive duration "
		    "like \"24h\"", name);
	return CA_OK;
}

static int
conf_bool(const json_t *o, const char *name, int def)
{
	const json_t *j = json_object_get(o, name);

	return json_is_boolean(j) ? json_is_true(j) : def;
}

int
crl_conf_read(const json_t *conf, struct crl_conf *c)
{
	const json_t *o = json_object_get(conf, "crl");
	int rc;

	memset(c, 0, sizeof(*c));
	c->cache = CRL_CACHE_DEFAULT;
	c->renew = -1;
	c->idp_url = json_string_value(json_object_get(o, "idpURL"));
	c->enabled = conf_bool(o, "enabled", 1);
	c->on_revoke = conf_bool(o, "generateOnRevoke", 1);
	c->add_dp = conf_bool(o, "addDistributionPoint", c->idp_url != NULL);
	if ((rc = conf_duration(o, "cacheDuration", &c->cache)) != CA_OK ||
	    (rc = conf_duration(o, "renewPeriod", &c->renew)) != CA_OK)
		return rc;
	if (c->renew == -1)
		c->renew = c->cache / 3 * 2 + (c->cache % 3) * 2 / 3;
	if (c->renew <= 0)
		c->renew = 1;
	if (c->renew > c->cache)
		return err_set(CA_FAIL, "ca.json: crl.renewPeriod is longer "
		    "than crl.cacheDuration");
	if (c->add_dp && c->idp_url == NULL)
		return err_set(CA_FAIL, "ca.json: crl.addDistributionPoint "
		    "needs crl.idpURL");
	return CA_OK;
}

const char *
crl_leaf_url(const struct crl_conf *c)
{
	return c->enabled && c->add_dp ? c->idp_url : NULL;
}

void
crl_after_revoke(struct authority *a)
{
	const struct crl_conf *c = authority_crl_conf(a);
	struct authority_result r;

	if (c->enabled && c->on_revoke) {
		r = authority_crl(a, 1, NULL, NULL);
		if (r.code != CA_OK)
			warnx_("CRL not regenerated after the revocation "
			    "(the revocation stands): %s", err_msg());
	}
}

int
crl_times(const unsigned char *der, size_t len, int64_t *this_update,
    int64_t *next_update)
{
	X509_CRL *crl;
	const ASN1_TIME *nu;

	if ((crl = pem_d2i_crl(der, len)) == NULL)
		return err_set(CA_INPUT, "CRL does not parse");
	if ((nu = X509_CRL_get0_nextUpdate(crl)) == NULL) {
		X509_CRL_free(crl);
		return err_set(CA_INPUT, "CRL has no nextUpdate");
	}
	if (this_update != NULL)
		*this_update = x509_time(X509_CRL_get0_lastUpdate(crl));
	if (next_update != NULL)
		*next_update = x509_time(nu);
	X509_CRL_free(crl);
	return CA_OK;
}

/* Is the stored CRL cur still the one to serve at now? */
static int
is_current(const struct db_crl *cur, int64_t revocations, int64_t now,
    const struct crl_conf *c)
{
	return cur != NULL && cur->revocations == revocations &&
	    cur->this_update <= now && now - cur->this_update < c->renew &&
	    now < cur->next_update;
}

/* What db_list_crl_entries() fills. */
struct entries {
	X509_CRL	*crl;
	int64_t		 listed;
};

static int
set_time(ASN1_TIME **t, int64_t when)
{
	ASN1_TIME *n = ASN1_TIME_set(NULL, (time_t)when);

	if (n == NULL)
		return 0;
	ASN1_TIME_free(*t);
	*t = n;
	return 1;
}

/* One revoked certificate into the CRL. */
static int
add_entry(const struct db_crl_entry *e, void *arg)
{
	struct entries *en = arg;
	X509_REVOKED *r = NULL;
	ASN1_TIME *when = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_ENUMERATED *reason = NULL;
	BIGNUM *bn = NULL;
	int ok;

	ok = (r = X509_REVOKED_new()) != NULL &&
	    BN_dec2bn(&bn, e->serial) > 0 &&
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	    X509_REVOKED_set_serialNumber(r, serial) &&
	    set_time(&when, e->revoked_at) &&
	    X509_REVOKED_set_revocationDate(r, when);
	/* reasonCode 0, unspecified, SHOULD be absent (RFC 5280 5.3.1). */
	if (ok && e->reason_code != 0)
		ok = (reason = ASN1_ENUMERATED_new()) != NULL &&
		    ASN1_ENUMERATED_set(reason, e->reason_code) &&
		    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0,
		    X509V3_ADD_DEFAULT) == 1;
	if (ok && !X509_CRL_add0_revoked(en->crl, r))
		ok = 0;
	else if (ok)
		r = NULL;       /* the CRL's now */
	ASN1_ENUMERATED_free(reason);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	BN_free(bn);
	X509_REVOKED_free(r);
	if (!ok)
		return err_ssl(CA_FAIL, "CRL entry for certificate %s",
		    e->serial);
	en->listed++;
	return CA_OK;
}

/* AKI: the issuer's subject key identifier (its key's SHA-1 if it has none). */
static int
add_aki(X509_CRL *crl, X509 *issuer)
{
	const ASN1_OCTET_STRING *iski = X509_get0_subject_key_id(issuer);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;
	AUTHORITY_KEYID *aki;
	int ok;

	if ((aki = AUTHORITY_KEYID_new()) == NULL)
		return 0;
	if (iski != NULL)
		ok = (aki->keyid = ASN1_OCTET_STRING_dup(iski)) != NULL;
	else
		ok = X509_pubkey_digest(issuer, EVP_sha1(), md, &n) &&
		    (aki->keyid = ASN1_OCTET_STRING_new()) != NULL &&
		    ASN1_OCTET_STRING_set(aki->keyid, md, (int)n);
	ok = ok && X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier,
	    aki, 0, X509V3_ADD_DEFAULT) == 1;
	AUTHORITY_KEYID_free(aki);
	return ok;
}

/*
 * Issuing Distribution Point, critical (RFC 5280 5.2.5): this CRL covers
 * end-entity certificates only (the intermediate signs no CA), and, when
 * idpURL is set, is the one published there.
 */
static int
add_idp(X509_CRL *crl, const char *url)
{
	ISSUING_DIST_POINT *idp;
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *uri = NULL;
	int ok;

	if ((idp = ISSUING_DIST_POINT_new()) == NULL)
		return 0;
	/* DER: TRUE is 0xff; OpenSSL writes the byte it is given. */
	idp->onlyuser = 0xff;
	ok = 1;
	if (url != NULL) {
		ok = (idp->distpoint = DIST_POINT_NAME_new()) != NULL &&
		    (idp->distpoint->name.fullname = GENERAL_NAMES_new()) !=
		    NULL && (gn = GENERAL_NAME_new()) != NULL &&
		    (uri = ASN1_IA5STRING_new()) != NULL &&
		    ASN1_STRING_set(uri, url, (int)strlen(url));
		if (ok) {
			idp->distpoint->type = 0;       /* fullName */
			GENERAL_NAME_set0_value(gn, GEN_URI, uri);
			uri = NULL;
			ok = sk_GENERAL_NAME_push(
			    idp->distpoint->name.fullname, gn) > 0;
			if (ok)
				gn = NULL;
		}
	}
	ok = ok && X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point,
	    idp, 1, X509V3_ADD_DEFAULT) == 1;
	ASN1_IA5STRING_free(uri);
	GENERAL_NAME_free(gn);
	ISSUING_DIST_POINT_free(idp);
	return ok;
}

/*
 * Build and sign CRL number at now from the revocations in the open
 * transaction; *der (OPENSSL_malloc'd) and *len the caller's.
 */
static int
crl_make(struct authority *a, EVP_PKEY *key, const struct crl_conf *c,
    int64_t number, int64_t now, unsigned char **der, int *len)
{
	X509 *issuer = sk_X509_value(authority_chain(a), 0);
	struct entries en;
	ASN1_TIME *tu = NULL, *nu = NULL;
	ASN1_INTEGER *num = NULL;
	X509_CRL *crl;
	int rc = CA_FAIL;

	*der = NULL;
	*len = 0;
	if ((crl = X509_CRL_new()) == NULL)
		return err_ssl(CA_FAIL, "building the CRL");
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) ||
	    !set_time(&tu, now) || !X509_CRL_set1_lastUpdate(crl, tu) ||
	    !set_time(&nu, now + c->cache) ||
	    !X509_CRL_set1_nextUpdate(crl, nu))
		goto sslfail;
	memset(&en, 0, sizeof(en));
	en.crl = crl;
	/* Listed until CRL_EXPIRY_GRACE after their notAfter. */
	if ((rc = db_list_crl_entries(authority_db(a), now - CRL_EXPIRY_GRACE,
	    add_entry, &en)) != CA_OK)
		goto out;
	rc = CA_FAIL;
	/* By serial, whatever order the database gave. */
	if (!X509_CRL_sort(crl))
		goto sslfail;
	if ((num = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_int64(num, number) ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0,
	    X509V3_ADD_DEFAULT) != 1 || !add_aki(crl, issuer) ||
	    !add_idp(crl, c->idp_url))
		goto sslfail;
	if (X509_CRL_sign(crl, key, key_digest(key)) <= 0)
		goto sslfail;
	/* Our own signature is checked before the CRL is stored. */
	if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
		rc = err_ssl(CA_FAIL, "the CRL does not verify with the "
		    "intermediate's key");
		goto out;
	}
	if ((*len = i2d_X509_CRL(crl, der)) <= 0) {
		*der = NULL;
		*len = 0;
		goto sslfail;
	}
	if (*len > CA_MAX_CRL) {
		rc = err_set(CA_FAIL, "the CRL of %d entries would be %d bytes, "
		    "over the limit of %d (CA_MAX_CRL)",
		    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), *len,
		    CA_MAX_CRL);
		OPENSSL_free(*der);
		*der = NULL;
		*len = 0;
		goto out;
	}
	rc = CA_OK;
	goto out;
sslfail:
	rc = err_ssl(CA_FAIL, "building the CRL");
out:
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	X509_CRL_free(crl);
	return rc;
}

/* A copy of the stored CRL's DER for the caller. */
static int
give(const unsigned char *src, size_t n, unsigned char **der, size_t *len)
{
	if (der != NULL) {
		if ((*der = malloc(n)) == NULL)
			return err_set(CA_FAIL, "out of memory");
		memcpy(*der, src, n);
	}
	if (len != NULL)
		*len = n;
	return CA_OK;
}

static struct authority_result
res(int code)
{
	struct authority_result r;

	r.code = code;
	r.status = code == CA_OK ? 200 : code == CA_UNAVAIL ? 503 :
	    code == CA_REFUSED ? 404 : 500;
	return r;
}

/*
 * One attempt inside one transaction.  *again is set when another writer
 * took the number first: the caller tries again from a fresh read.
 */
static int
regenerate(struct authority *a, EVP_PKEY *key, const struct crl_conf *c,
    int force, unsigned char **der, size_t *len, int *again)
{
	struct db *db = authority_db(a);
	struct db_crl *cur = NULL, row;
	enum db_refusal why;
	unsigned char *out = NULL;
	int64_t now, count;
	int n = 0, rc;

	*again = 0;
	if ((rc = db_begin(db)) != CA_OK)
		return rc;
	/* The clock is read with the lock held: no CRL is made after it. */
	now = (int64_t)time(NULL);
	if ((rc = db_latest_crl(db, &cur)) != CA_OK ||
	    (rc = db_count_revocations(db, &count)) != CA_OK)
		goto fail;
	if (!force && is_current(cur, count, now, c)) {
		/* Another process made it while this one waited. */
		db_rollback(db);
		rc = give(cur->der, cur->der_len, der, len);
		db_crl_free(cur);
		return rc;
	}
	if (cur != NULL && cur->number == INT64_MAX) {
		rc = err_set(CA_FAIL, "CRL number space exhausted");
		goto fail;
	}
	if ((rc = crl_make(a, key, c, cur != NULL ? cur->number + 1 : 1, now,
	    &out, &n)) != CA_OK)
		goto fail;
	memset(&row, 0, sizeof(row));
	row.number = cur != NULL ? cur->number + 1 : 1;
	row.this_update = now;
	row.next_update = now + c->cache;
	row.revocations = count;
	row.der = out;
	row.der_len = (size_t)n;
	if ((rc = db_put_crl(db, &row, &why)) != CA_OK) {
		if (why == DB_REFUSED_EXISTS)
			*again = 1;
		goto fail;
	}
	if ((rc = db_commit(db)) != CA_OK)
		goto out;
	rc = give(out, (size_t)n, der, len);
	goto out;
fail:
	db_rollback(db);
out:
	db_crl_free(cur);
	OPENSSL_free(out);
	return rc;
}

struct authority_result
authority_crl(struct authority *a, int force, unsigned char **der,
    size_t *len)
{
	const struct crl_conf *c = authority_crl_conf(a);
	struct db_crl *cur = NULL;
	EVP_PKEY *key;
	int64_t count, now;
	int rc, again, i;

	if (der != NULL)
		*der = NULL;
	if (len != NULL)
		*len = 0;
	if (!c->enabled) {
		err_set(CA_REFUSED, "CRL disabled (ca.json crl.enabled is "
		    "false)");
		return res(CA_REFUSED);
	}
	/* Without the write lock first: the usual answer is the stored one. */
	if (!force) {
		now = (int64_t)time(NULL);
		if ((rc = db_latest_crl(authority_db(a), &cur)) != CA_OK ||
		    (rc = db_count_revocations(authority_db(a), &count)) !=
		    CA_OK) {
			db_crl_free(cur);
			return res(rc);
		}
		if (is_current(cur, count, now, c)) {
			rc = give(cur->der, cur->der_len, der, len);
			db_crl_free(cur);
			return res(rc);
		}
		db_crl_free(cur);
	}
	/* The key is decrypted before the lock is taken. */
	if ((rc = authority_signing_key(a, &key)) != CA_OK)
		return res(rc == CA_REFUSED ? CA_FAIL : rc);
	for (i = 0; i < CRL_ATTEMPTS; i++) {
		rc = regenerate(a, key, c, force, der, len, &again);
		if (!again)
			return res(rc);
	}
	err_set(CA_UNAVAIL, "CRL: another writer took the next CRL number "
	    "%d times; try again", CRL_ATTEMPTS);
	return res(CA_UNAVAIL);
}
