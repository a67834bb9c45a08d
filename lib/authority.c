#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "authority.h"
#include "ca_limits.h"
#include "confcheck.h"
#include "config.h"
#include "crl.h"
#include "csr.h"
#include "db.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "key.h"
#include "pem.h"
#include "policy.h"
#include "san.h"
#include "timeutil.h"
#include "token.h"
#include "x509.h"

struct claims {
	int64_t min, max, def;
	int64_t nb_delay;           /* how far ahead notBefore may be asked for */
};

/* The default of the maxNotBeforeDelay claim. */
#define CLAIM_NOT_BEFORE_DELAY (24 * 3600)

struct authority {
	char *home;
	json_t *conf;               /* ca.json */
	const json_t *auth;         /* conf.authority (borrowed) */
	const json_t *policy;       /* conf.authority.policy.x509 (borrowed) */
	STACK_OF(X509) *chain;      /* intermediate first */
	EVP_PKEY *key;              /* the intermediate's key, once loaded */
	const json_t *provs;        /* conf.authority.provisioners (borrowed) */
	EVP_PKEY **prov_keys;       /* each one's public key, once imported */
	char *key_path, *password_file;
	struct db *db;
	int64_t backdate, max_token_life;
	struct claims claims;       /* global, before provisioner overrides */
};

/* A verified token: what the authority decided it says. */
struct token {
	json_t *claims;             /* owned */
	const json_t *prov;         /* borrowed from conf */
	const char *prov_name, *sub, *jti;
	int64_t exp, iat;
};

/* Token times are unix seconds up to the year 9999. */
#define TOKEN_MAX_TIME 253402300799LL

/*
 * Each decision records its message and puts the HTTP status it means in
 * *st, the status slot of the call being answered.
 */
static int
fail(int *st, int status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(int *st, int status, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(code, fmt, ap);
	va_end(ap);
	*st = status;
	return code;
}

/* The status for a lib error already recorded. */
static int
status_of(int *st, int code)
{
	*st = code == CA_OK ? 200 : code == CA_REFUSED ? 403 :
	    code == CA_INPUT ? 400 : code == CA_UNAVAIL ? 503 : 500;
	return code;
}

static struct authority_result
result(int code, int status)
{
	struct authority_result r;

	r.code = code;
	r.status = code == CA_OK ? 200 : status;
	return r;
}

static int
duration_field(const json_t *obj, const char *name, int64_t *v)
{
	const json_t *j = json_object_get(obj, name);

	if (j == NULL)
		return CA_OK;
	if (!json_is_string(j) ||
	    time_parse_duration(json_string_value(j), v) != CA_OK || *v < 0)
		return err_set(CA_FAIL, "ca.json: %s: a duration like \"24h\"", name);
	return CA_OK;
}

/* A boolean member, checked (renewal's claims have no effect yet). */
static int
bool_field(const json_t *obj, const char *name)
{
	const json_t *j = json_object_get(obj, name);

	if (j != NULL && !json_is_boolean(j))
		return err_set(CA_FAIL, "ca.json: %s: true or false", name);
	return CA_OK;
}

/* Apply a "claims" object over c. */
static int
claims_apply(const json_t *obj, struct claims *c)
{
	if (obj == NULL)
		return CA_OK;
	if (!json_is_object(obj))
		return err_set(CA_FAIL, "ca.json: claims must be an object");
	if (duration_field(obj, "minTLSCertDuration", &c->min) != CA_OK ||
	    duration_field(obj, "maxTLSCertDuration", &c->max) != CA_OK ||
	    duration_field(obj, "defaultTLSCertDuration", &c->def) != CA_OK ||
	    duration_field(obj, "maxNotBeforeDelay", &c->nb_delay) != CA_OK ||
	    bool_field(obj, "disableRenewal") != CA_OK ||
	    bool_field(obj, "allowRenewalAfterExpiry") != CA_OK)
		return CA_FAIL;
	if (c->min <= 0 || c->min > c->def || c->def > c->max)
		return err_set(CA_FAIL,
		    "ca.json: claims need 0 < minTLSCertDuration <= defaultTLSCertDuration <= maxTLSCertDuration");
	return CA_OK;
}

static const char *
conf_str(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

int
authority_open(const char *dir, enum db_mode mode, struct authority **out)
{
	struct authority *a;
	const json_t *pol, *provs, *pv;
	struct claims pc;
	char *p = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if (mode != DB_READ && mode != DB_WRITE)
		return err_set(CA_FAIL, "authority: only ca-init creates a database");
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if ((rc = config_ca(dir, &a->home, &a->conf)) != CA_OK)
		goto fail;
	if ((rc = confcheck_ca(a->conf, 0)) != CA_OK)
		goto fail;
	/* From here on the members read are there and of their types. */
	a->auth = json_object_get(a->conf, "authority");
	pol = json_object_get(a->auth, "policy");
	a->policy = json_object_get(pol, "x509");
	if ((rc = policy_validate(a->policy)) != CA_OK)
		goto fail;
	a->claims.min = 5 * 60;
	a->claims.max = a->claims.def = 24 * 3600;
	a->claims.nb_delay = CLAIM_NOT_BEFORE_DELAY;
	a->backdate = CA_BACKDATE;
	if ((rc = claims_apply(json_object_get(a->auth, "claims"), &a->claims)) != CA_OK ||
	    (rc = duration_field(a->auth, "backdate", &a->backdate)) != CA_OK ||
	    (rc = token_max_lifetime(a->conf, &a->max_token_life)) != CA_OK)
		goto fail;
	/* Every provisioner's claims, now rather than at its first use. */
	provs = a->provs = json_object_get(a->auth, "provisioners");
	if ((a->prov_keys = calloc(json_array_size(provs) + 1,
	    sizeof(*a->prov_keys))) == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto fail;
	}
	json_array_foreach(provs, i, pv) {
		pc = a->claims;
		if ((rc = claims_apply(json_object_get(pv, "claims"), &pc)) != CA_OK) {
			err_prefix("provisioner %s",
			    conf_str(pv, "name") ? conf_str(pv, "name") : "?");
			goto fail;
		}
	}
	/* The root is not needed to issue: it is not read here. */
	p = config_resolve(a->home, conf_str(a->conf, "crt"));
	if ((rc = pem_load_certs_file(p, &a->chain)) != CA_OK)
		goto cfgfail;
	a->key_path = config_resolve(a->home, conf_str(a->conf, "key"));
	if (conf_str(a->conf, "passwordFile") != NULL)
		a->password_file = config_resolve(a->home, conf_str(a->conf, "passwordFile"));
	if ((rc = db_open(a->home, json_object_get(a->conf, "db"), mode,
	    &a->db)) != CA_OK)
		goto fail;
	free(p);
	*out = a;
	return CA_OK;
cfgfail:
	/* A missing or malformed CA file is a configuration failure. */
	if (rc == CA_INPUT)
		rc = CA_FAIL;
	err_set(rc, "%s", err_msg());
fail:
	free(p);
	authority_close(a);
	return rc;
}

void
authority_close(struct authority *a)
{
	size_t i;

	if (a == NULL)
		return;
	db_close(a->db);
	EVP_PKEY_free(a->key);
	if (a->prov_keys != NULL)
		for (i = 0; i < json_array_size(a->provs); i++)
			EVP_PKEY_free(a->prov_keys[i]);
	free(a->prov_keys);
	sk_X509_pop_free(a->chain, X509_free);
	json_decref(a->conf);
	free(a->key_path);
	free(a->password_file);
	free(a->home);
	free(a);
}

STACK_OF(X509) *
authority_chain(struct authority *a)
{
	return a->chain;
}

struct db *
authority_db(struct authority *a)
{
	return a->db;
}

/*
 * Decrypt the signing key on first use.  A password that does not open
 * it is CA_REFUSED, as everywhere a key is decrypted (inca(7)); as an API
 * answer it is the server's failure (500), not the client's.
 */
static int
load_key(struct authority *a, int *st)
{
	char *password = NULL;
	int rc;

	*st = 500;
	if (a->key != NULL)
		return CA_OK;
	{
		/* The home's secrets directory, where ca-init keeps them. */
		char *sd = io_join(a->home, "secrets");

		rc = sd == NULL ? err_set(CA_FAIL, "out of memory") :
		    io_exists(sd) ? io_check_secret_dir(sd) : CA_OK;
		free(sd);
		if (rc != CA_OK)
			return CA_FAIL;
	}
	if (a->password_file != NULL &&
	    (rc = io_read_password(a->password_file, &password)) != CA_OK)
		return err_set(CA_FAIL, "%s", err_msg());
	rc = pem_load_key_file(a->key_path, password, &a->key);
	io_wipe_str(password);
	if (rc != CA_OK) {
		err_prefix("signing key");
		return err_set(rc == CA_REFUSED ? CA_REFUSED : CA_FAIL, "%s",
		    err_msg());
	}
	if (X509_check_private_key(sk_X509_value(a->chain, 0), a->key) != 1) {
		EVP_PKEY_free(a->key);
		a->key = NULL;
		return fail(st, 500, CA_FAIL, "signing key does not match the intermediate certificate");
	}
	return CA_OK;
}

static int
int_claim(const json_t *claims, const char *name, int required, int64_t *v,
    int *st)
{
	const json_t *j = json_object_get(claims, name);

	if (j == NULL) {
		if (required)
			return fail(st, 401, CA_REFUSED, "token rejected: no %s claim", name);
		return CA_OK;
	}
	if (!json_is_integer(j))
		return fail(st, 401, CA_REFUSED, "token rejected: %s is not an integer", name);
	*v = (int64_t)json_integer_value(j);
	/* Bounded, so that no arithmetic on times can overflow. */
	if (*v < 0 || *v > TOKEN_MAX_TIME)
		return fail(st, 401, CA_REFUSED, "token rejected: %s out of range", name);
	return CA_OK;
}

/*
 * The public key of prov, a member of a->provs: imported at its first
 * use and kept with the authority (borrowed).  A key ca.json holds that
 * does not import is a configuration failure.
 */
static int
prov_key(struct authority *a, const json_t *prov, EVP_PKEY **pub)
{
	size_t i;
	int rc;

	*pub = NULL;
	for (i = 0; i < json_array_size(a->provs); i++)
		if (json_array_get(a->provs, i) == prov)
			break;
	if (i == json_array_size(a->provs))
		return err_set(CA_FAIL, "provisioner not in ca.json");
	if (a->prov_keys[i] == NULL &&
	    (rc = jwk_import(json_object_get(prov, "key"), JWK_PUBLIC,
	    &a->prov_keys[i])) != CA_OK)
		return rc;
	*pub = a->prov_keys[i];
	return CA_OK;
}

/*
 * aud is one accepted audience, or an array of strings one of which is;
 * an array with any member that is not a string is refused whole.
 */
static int
aud_ok(const json_t *aud, const json_t *accepted)
{
	const json_t *x, *y;
	size_t i, j;
	int any = 0;

	if (json_is_string(aud)) {
		json_array_foreach(accepted, j, y)
			if (strcmp(json_string_value(aud), json_string_value(y)) == 0)
				return 1;
		return 0;
	}
	if (!json_is_array(aud))
		return 0;
	json_array_foreach(aud, i, x) {
		if (!json_is_string(x))
			return 0;
		any |= aud_ok(x, accepted);
	}
	return any;
}

/*
 * Verify a token for path ("sign" or "revoke") in the order of the design:
 * parse strictly → provisioner by (iss, kid) → alg bound to that key →
 * signature → aud, iss, sub → times → jti.  Nothing is recorded here.
 */
static int
token_verify(struct authority *a, const char *ott, const char *path,
    int64_t now, struct token *t, int *st)
{
	struct jws jws;
	const char *iss;
	EVP_PKEY *pub = NULL;
	json_t *accepted;
	int64_t exp = 0, nbf = 0, iat = 0;
	int rc, have_nbf;

	memset(t, 0, sizeof(*t));
	if (ott == NULL || ott[0] == '\0')
		return fail(st, 401, CA_REFUSED, "token rejected: no token");
	if (strlen(ott) > CA_MAX_JWT)
		return fail(st, 401, CA_INPUT, "token rejected: longer than %d bytes", CA_MAX_JWT);
	if ((rc = jws_parse(ott, strlen(ott), &jws)) != CA_OK) {
		err_prefix("token rejected");
		*st = 401;
		return rc;
	}
	iss = json_string_value(json_object_get(jws.claims, "iss"));
	if (iss == NULL) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: no issuer (iss)");
		goto out;
	}
	if (jws.kid == NULL) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: no key id (kid)");
		goto out;
	}
	if ((t->prov = token_provisioner(a->conf, iss, jws.kid)) == NULL) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: %s", err_msg());
		goto out;
	}
	if ((rc = prov_key(a, t->prov, &pub)) != CA_OK) {
		/* ca.json's key: a configuration failure, whatever is wrong. */
		err_prefix("ca.json: provisioner %s", iss);
		rc = status_of(st, err_set(CA_FAIL, "%s", err_msg()));
		goto out;
	}
	if ((rc = jws_verify(&jws, pub)) != CA_OK) {
		err_prefix("token rejected");
		*st = 401;
		rc = CA_REFUSED;
		goto out;
	}
	/* From here on the claims are the provisioner's words. */
	accepted = token_audiences(a->conf, path);
	rc = aud_ok(json_object_get(jws.claims, "aud"), accepted);
	json_decref(accepted);
	if (!rc) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: audience mismatch (not a %s token for this CA)", path);
		goto out;
	}
	t->sub = json_string_value(json_object_get(jws.claims, "sub"));
	if (t->sub == NULL || t->sub[0] == '\0') {
		rc = fail(st, 401, CA_REFUSED, "token rejected: no subject (sub)");
		goto out;
	}
	if ((rc = int_claim(jws.claims, "exp", 1, &exp, st)) != CA_OK ||
	    (rc = int_claim(jws.claims, "iat", 1, &iat, st)) != CA_OK ||
	    (rc = int_claim(jws.claims, "nbf", 0, &nbf, st)) != CA_OK)
		goto out;
	have_nbf = json_object_get(jws.claims, "nbf") != NULL;
	if (now > exp + TOKEN_LEEWAY) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: expired");
		goto out;
	}
	if ((have_nbf && now < nbf - TOKEN_LEEWAY) || now < iat - TOKEN_LEEWAY) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: not yet valid");
		goto out;
	}
	if (exp <= iat || (have_nbf && exp <= nbf)) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: expires before it is valid");
		goto out;
	}
	if (exp - iat > a->max_token_life) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: lifetime %llds exceeds the maximum %llds",
		    (long long)(exp - iat), (long long)a->max_token_life);
		goto out;
	}
	t->jti = json_string_value(json_object_get(jws.claims, "jti"));
	if (t->jti == NULL || t->jti[0] == '\0' || strlen(t->jti) > TOKEN_MAX_JTI) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: missing or oversized jti");
		goto out;
	}
	t->claims = json_incref(jws.claims);
	t->prov_name = json_string_value(json_object_get(t->prov, "name"));
	t->exp = exp;
	t->iat = iat;
	rc = CA_OK;
out:
	jws_free(&jws);
	if (rc != CA_OK)
		memset(t, 0, sizeof(*t));
	return rc;
}

/* The claims that apply to a provisioner. */
static int
prov_claims(struct authority *a, const json_t *prov, struct claims *c, int *st)
{
	*c = a->claims;
	if (claims_apply(json_object_get(prov, "claims"), c) != CA_OK)
		return status_of(st, CA_FAIL);
	return CA_OK;
}

/* The token's sans (default [sub]) as a typed set. */
static int
token_sans(const struct token *t, struct sans *out, int *st)
{
	const json_t *sans = json_object_get(t->claims, "sans"), *s;
	size_t i;
	int rc;

	if (sans == NULL) {
		/* The subject is the certificate's CN: a bare name, no prefix. */
		struct san n;

		if (san_parse_name(t->sub, &n) != CA_OK)
			return fail(st, 403, CA_REFUSED, "token rejected: subject is not a name: %s", err_msg());
		rc = sans_add_san(out, &n);
		free(n.value);
		return rc == CA_OK ? CA_OK : status_of(st, rc);
	}
	if (!json_is_array(sans) || json_array_size(sans) == 0)
		return fail(st, 401, CA_REFUSED, "token rejected: sans must be a non-empty list");
	json_array_foreach(sans, i, s) {
		if (!json_is_string(s))
			return fail(st, 401, CA_REFUSED, "token rejected: sans must be strings");
		if (sans_add(out, json_string_value(s)) != CA_OK)
			return fail(st, 403, CA_REFUSED, "token rejected: %s", err_msg());
	}
	return CA_OK;
}

static char *
sans_json(const struct sans *s)
{
	json_t *a = json_array();
	char buf[CA_MAX_SAN_LEN + 16], *out;
	size_t i;

	for (i = 0; i < s->n; i++) {
		snprintf(buf, sizeof(buf), "%s:%s", san_type_name(s->v[i].type),
		    s->v[i].value);
		json_array_append_new(a, json_string(buf));
	}
	out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return out;
}

/*
 * Check the request's CSR against the verified token.  The certificate's
 * CN is the token's subject, so the subject must be one of the token's
 * sans (as a typed, normalised name): no CN that names nothing the
 * certificate carries is signed, whatever the policy.  The request's
 * own CN, when it has one, must be one of them too.  names gets the
 * token's sans; cn the subject's normalised spelling.
 */
static int
check_csr(const struct token *t, X509_REQ *csr, struct sans *names, char *cn,
    size_t cnlen, int *st)
{
	const json_t *cnf = json_object_get(t->claims, "cnf");
	struct sans csrsans = { NULL, 0 };
	const struct san *c, *sub;
	int rc;

	if ((rc = csr_check(csr)) != CA_OK)
		return status_of(st, rc);
	if (cnf != NULL) {
		const char *want = json_string_value(json_object_get(cnf, "x5rt#S256"));
		char got[44];

		if (want == NULL)
			return fail(st, 401, CA_REFUSED, "token rejected: cnf without x5rt#S256");
		if ((rc = csr_thumbprint(csr, got)) != CA_OK)
			return status_of(st, rc);
		if (strlen(want) != strlen(got) ||
		    CRYPTO_memcmp(want, got, strlen(got)) != 0)
			return fail(st, 403, CA_REFUSED, "token rejected: the token is bound (cnf) to another certificate request");
	}
	if ((rc = token_sans(t, names, st)) != CA_OK)
		return rc;
	if ((rc = sans_find_cn(names, t->sub, &sub)) == CA_REFUSED)
		return fail(st, 403, CA_REFUSED, "token rejected: subject %s is not one of its sans", t->sub);
	if (rc == CA_INPUT)
		return fail(st, 403, CA_REFUSED, "token rejected: subject is not a name: %s", err_msg());
	if (rc != CA_OK)
		return status_of(st, rc);
	if ((rc = csr_requested_names(csr, cn, cnlen, &csrsans)) != CA_OK) {
		sans_free(&csrsans);
		return status_of(st, rc);
	}
	if (!sans_equal(&csrsans, names)) {
		/* Name the names: those the token lacks, those the request lacks. */
		char *extra = sans_missing(&csrsans, names);
		char *lack = sans_missing(names, &csrsans);

		sans_free(&csrsans);
		if (extra == NULL || lack == NULL)
			rc = fail(st, 500, CA_FAIL, "out of memory");
		else
			rc = fail(st, 403, CA_REFUSED,
			    "certificate request names differ from the token's sans:%s%s%s%s%s",
			    *extra ? " not in the token: " : "", extra,
			    *extra && *lack ? ";" : "",
			    *lack ? " not in the request: " : "", lack);
		free(extra);
		free(lack);
		return rc;
	}
	sans_free(&csrsans);
	if (cn[0] != '\0' && sans_find_cn(names, cn, &c) != CA_OK)
		return fail(st, 403, CA_REFUSED,
		    "certificate request common name %s is not one of the token's sans", cn);
	if (strlen(sub->value) >= cnlen)
		return fail(st, 403, CA_REFUSED, "token rejected: subject longer than %zu bytes", cnlen - 1);
	memcpy(cn, sub->value, strlen(sub->value) + 1);
	return CA_OK;
}

/* notBefore/notAfter from the request and the claims. */
static int
validity(struct authority *a, const struct claims *c, const struct sign_request *r,
    int64_t now, int64_t *nb, int64_t *na, int *st)
{
	/* An empty string is "not given", as step clients send it. */
	int nb_given = r->not_before != NULL && r->not_before[0] != '\0';
	int na_given = r->not_after != NULL && r->not_after[0] != '\0';
	int64_t ca_end = x509_time(X509_get0_notAfter(sk_X509_value(a->chain, 0)));
	char lo[32], hi[32];

	*nb = now - a->backdate;
	*na = now + c->def;
	if (nb_given) {
		if (time_parse(r->not_before, now, nb) != CA_OK)
			return fail(st, 400, CA_INPUT, "notBefore: %s", err_msg());
		if (*nb < now - a->backdate)
			return fail(st, 403, CA_REFUSED, "notBefore is in the past");
		/* A short-lived token must not authorise a far-off start. */
		if (*nb > now + c->nb_delay) {
			time_fmt_duration(c->nb_delay, hi, sizeof(hi));
			return fail(st, 403, CA_REFUSED,
			    "notBefore is more than %s ahead (maxNotBeforeDelay)", hi);
		}
		*na = *nb + c->def;
	}
	if (na_given && time_parse(r->not_after, now, na) != CA_OK)
		return fail(st, 400, CA_INPUT, "notAfter: %s", err_msg());
	if (*na <= *nb)
		return fail(st, 403, CA_REFUSED, "notAfter is not after notBefore");
	if (*nb >= ca_end)
		return fail(st, 403, CA_REFUSED, "notBefore is after the intermediate CA expires");
	time_fmt_duration(c->min, lo, sizeof(lo));
	time_fmt_duration(c->max, hi, sizeof(hi));
	if (*na - *nb < c->min)
		return fail(st, 403, CA_REFUSED, "requested duration is below the minimum %s", lo);
	/* The backdate is not counted against the maximum. */
	if (*na - *nb > c->max + (nb_given ? 0 : a->backdate))
		return fail(st, 403, CA_REFUSED, "requested duration exceeds the maximum %s", hi);
	return CA_OK;
}

/*
 * Spend the token inside the open transaction.  Its row lives as long as
 * any verifier could accept it: until exp plus the leeway.
 */
static int
spend(struct authority *a, const struct token *t, int64_t now, int *st)
{
	struct db_token dt;
	int rc;

	memset(&dt, 0, sizeof(dt));
	dt.provisioner = t->prov_name;
	dt.jti = t->jti;
	dt.issued_at = t->iat;
	dt.expires_at = t->exp + TOKEN_LEEWAY;
	dt.now = now;
	if ((rc = db_use_token(a->db, &dt)) == CA_REFUSED)
		*st = 401;
	else
		status_of(st, rc);
	return rc;
}

/* One issuance between its decision and its record. */
struct issue {
	struct token t;
	struct sans names;
	char cn[CA_MAX_SAN_LEN + 1];
	char *serial, *sj;
	unsigned char *der;
	X509 *x;
	struct db_cert row;
	int64_t now;
};

static void
issue_free(struct issue *p)
{
	X509_free(p->x);        /* signed for a spent token: discarded */
	OPENSSL_free(p->der);
	OPENSSL_free(p->serial);
	free(p->sj);
	sans_free(&p->names);
	json_decref(p->t.claims);
	memset(p, 0, sizeof(*p));
}

/*
 * Every check, and the signing, before the database is touched: on
 * success p holds the certificate and the row to record.
 */
static int
issue_prepare(struct authority *a, const struct sign_request *r,
    struct issue *p, int *st)
{
	struct claims c;
	struct x509_template tpl;
	int64_t nb, na;
	int rc, n;

	memset(p, 0, sizeof(*p));
	p->now = (int64_t)time(NULL);
	if ((rc = token_verify(a, r->ott, "sign", p->now, &p->t, st)) != CA_OK)
		return rc;
	if ((rc = prov_claims(a, p->t.prov, &c, st)) != CA_OK)
		return rc;
	if ((rc = check_csr(&p->t, r->csr, &p->names, p->cn, sizeof(p->cn),
	    st)) != CA_OK)
		return rc;
	if ((rc = policy_check(a->policy, &p->names, p->t.sub)) != CA_OK)
		return status_of(st, rc);
	if ((rc = validity(a, &c, r, p->now, &nb, &na, st)) != CA_OK)
		return rc;
	if ((rc = load_key(a, st)) != CA_OK)
		return rc;

	/* Build, lint and sign before the write lock is taken. */
	memset(&tpl, 0, sizeof(tpl));
	tpl.profile = X509_LEAF;
	tpl.pubkey = X509_REQ_get0_pubkey(r->csr);
	tpl.spki = X509_REQ_get_X509_PUBKEY(r->csr);
	tpl.cn = p->cn;
	tpl.sans = &p->names;
	tpl.not_before = nb;
	tpl.not_after = na;
	tpl.issuer = sk_X509_value(a->chain, 0);
	tpl.chain = a->chain;
	tpl.issuer_key = a->key;
	tpl.crl_url = crl_leaf_url(a->conf);
	if ((rc = x509_issue(&tpl, &p->x)) != CA_OK) {
		if (rc == CA_INPUT)
			rc = CA_REFUSED;        /* a request the profile cannot take */
		return status_of(st, rc);
	}
	if ((p->serial = x509_serial_dec(p->x)) == NULL ||
	    (p->sj = sans_json(&p->names)) == NULL ||
	    (n = i2d_X509(p->x, &p->der)) <= 0)
		return fail(st, 500, CA_FAIL, "encoding the certificate failed");
	p->row.serial = p->serial;
	p->row.issued_at = p->now;
	p->row.not_before = x509_time(X509_get0_notBefore(p->x));
	p->row.not_after = x509_time(X509_get0_notAfter(p->x));
	p->row.subject = p->cn;
	p->row.sans_json = p->sj;
	p->row.provisioner = p->t.prov_name;
	p->row.der = p->der;
	p->row.der_len = (size_t)n;
	return CA_OK;
}

/*
 * Inside the open transaction, under a savepoint of its own: spend the
 * token and record the certificate, or undo both.
 */
static int
issue_record(struct authority *a, struct issue *p, int *st)
{
	int rc;

	if ((rc = db_savepoint(a->db)) != CA_OK)
		return status_of(st, rc);
	if ((rc = spend(a, &p->t, p->now, st)) != CA_OK)
		goto undo;
	if ((rc = db_put_cert(a->db, &p->row)) != CA_OK) {
		status_of(st, rc == CA_REFUSED ? CA_FAIL : rc);
		goto undo;
	}
	if ((rc = db_release(a->db)) != CA_OK) {
		status_of(st, rc);
		goto undo;
	}
	return CA_OK;
undo:
	db_rollback_to(a->db);
	return rc;
}

static void
signing_fail(struct authority_signing *s, int code, int status)
{
	s->res = result(code, status);
	free(s->msg);
	s->msg = strdup(err_msg());
}

void
authority_sign_batch(struct authority *a, struct authority_signing *s,
    size_t n)
{
	struct issue *p;
	size_t i, recorded = 0, ready = 0;
	int rc, st;

	for (i = 0; i < n; i++) {
		s[i].crt = NULL;
		s[i].msg = NULL;
		s[i].res = result(CA_FAIL, 500);
	}
	if ((p = calloc(n > 0 ? n : 1, sizeof(*p))) == NULL) {
		err_set(CA_FAIL, "out of memory");
		for (i = 0; i < n; i++)
			signing_fail(&s[i], CA_FAIL, 500);
		return;
	}
	/* Decide and sign each, outside the write lock. */
	for (i = 0; i < n; i++) {
		st = 500;
		if ((rc = issue_prepare(a, s[i].req, &p[i], &st)) != CA_OK) {
			signing_fail(&s[i], rc, st);
			issue_free(&p[i]);
		} else {
			s[i].res = result(CA_OK, 200);
			ready++;
		}
	}
	if (ready == 0)
		goto out;
	/* The one transaction: a savepoint per request, one commit. */
	if ((rc = db_begin(a->db)) != CA_OK) {
		status_of(&st, rc);
		for (i = 0; i < n; i++)
			if (s[i].res.code == CA_OK)
				signing_fail(&s[i], rc, st);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (s[i].res.code != CA_OK)
			continue;
		st = 500;
		if ((rc = issue_record(a, &p[i], &st)) != CA_OK)
			signing_fail(&s[i], rc, st);
		else
			recorded++;
	}
	if (recorded == 0) {
		db_rollback(a->db);
		goto out;
	}
	if ((rc = db_commit(a->db)) != CA_OK) {
		/* Nothing of it stays: every certificate of it is discarded. */
		status_of(&st, rc);
		for (i = 0; i < n; i++)
			if (s[i].res.code == CA_OK)
				signing_fail(&s[i], rc, st);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (s[i].res.code == CA_OK) {
			s[i].crt = p[i].x;
			p[i].x = NULL;
		}
out:
	for (i = 0; i < n; i++)
		issue_free(&p[i]);
	free(p);
}

struct authority_result
authority_sign(struct authority *a, const struct sign_request *r, X509 **crt)
{
	struct authority_signing s;

	memset(&s, 0, sizeof(s));
	s.req = r;
	authority_sign_batch(a, &s, 1);
	*crt = s.crt;
	/* The message of a failure is the recorded one again. */
	if (s.res.code != CA_OK)
		err_set(s.res.code, "%s", s.msg != NULL ? s.msg : "out of memory");
	free(s.msg);
	return s.res;
}

struct authority_result
authority_revoke(struct authority *a, const char *serial_text, int reason_code,
    const char *reason, const char *ott)
{
	struct db_revocation rev;
	enum db_refusal why;
	struct token t;
	char *serial;
	int64_t now = (int64_t)time(NULL);
	int rc, st = 500;

	memset(&t, 0, sizeof(t));
	if ((serial = x509_serial_parse(serial_text)) == NULL) {
		rc = fail(&st, 400, CA_INPUT, "%s", err_msg());
		return result(rc, st);
	}
	if (reason_code < 0 || reason_code > 10 || reason_code == 7) {
		free(serial);
		rc = fail(&st, 400, CA_INPUT, "reason code %d: 0..10, not 7", reason_code);
		return result(rc, st);
	}
	if (ott != NULL) {
		if ((rc = token_verify(a, ott, "revoke", now, &t, &st)) != CA_OK)
			goto out;
		if (strcmp(t.sub, serial) != 0) {
			rc = fail(&st, 401, CA_REFUSED, "token rejected: token is for serial %s, not %s",
			    t.sub, serial);
			goto out;
		}
	}
	memset(&rev, 0, sizeof(rev));
	rev.serial = serial;
	rev.revoked_at = now;
	rev.reason_code = reason_code;
	rev.reason = reason;
	rev.method = ott ? "token" : "offline";
	if ((rc = db_begin(a->db)) != CA_OK) {
		status_of(&st, rc);
		goto out;
	}
	if (ott != NULL && (rc = spend(a, &t, now, &st)) != CA_OK) {
		db_rollback(a->db);
		goto out;
	}
	if ((rc = db_revoke(a->db, &rev, &why)) != CA_OK) {
		status_of(&st, rc);
		if (why == DB_REFUSED_NOT_FOUND)
			st = 404;
		db_rollback(a->db);
		goto out;
	}
	if ((rc = db_commit(a->db)) != CA_OK)
		status_of(&st, rc);
	else
		crl_after_revoke(a);
out:
	json_decref(t.claims);
	free(serial);
	return result(rc, st);
}

int
authority_use_key(struct authority *a, EVP_PKEY *key)
{
	if (X509_check_private_key(sk_X509_value(a->chain, 0), key) != 1)
		return err_set(CA_FAIL, "signing key does not match the intermediate certificate");
	if (EVP_PKEY_up_ref(key) != 1)
		return err_set(CA_FAIL, "out of memory");
	EVP_PKEY_free(a->key);
	a->key = key;
	return CA_OK;
}

const json_t *
authority_conf(struct authority *a)
{
	return a->conf;
}

int
authority_signing_key(struct authority *a, EVP_PKEY **key)
{
	int rc, st;

	*key = NULL;
	if ((rc = load_key(a, &st)) != CA_OK)
		return rc;
	*key = a->key;
	return CA_OK;
}
