#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "authority.h"
#include "b64.h"
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
#include "oidc.h"
#include "pem.h"
#include "policy.h"
#include "san.h"
#include "timeutil.h"
#include "token.h"
#include "x509.h"

struct claims {
	int64_t min, max, def;
	int64_t nb_delay;           /* how far ahead notBefore may be asked for */
	int disable_renewal;        /* disableRenewal */
	int renew_expired;          /* allowRenewalAfterExpiry */
	int64_t renew_expired_max;  /* maxRenewalAfterExpiry */
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
	X509 *root;                 /* the root, once a client chain is verified */
	const json_t *provs;        /* conf.authority.provisioners (borrowed) */
	EVP_PKEY **prov_keys;       /* each one's public key, once imported */
	struct oidc *oidc;          /* each OIDC one's issuer state, by index */
	STACK_OF(X509) **x5c_roots; /* each X5C one's roots, by index */
	char *key_path, *password_file;
	struct db *db;
	int64_t backdate, max_token_life;
	struct claims claims;       /* global, before provisioner overrides */
	struct crl_conf crl;        /* conf.crl, with its defaults */
};

/* The provisioner types that issue. */
enum prov_type { PROV_JWK, PROV_OIDC, PROV_X5C, PROV_ACME, PROV_OTHER };

/* A verified token: what the authority decided it says. */
struct token {
	json_t *claims;             /* owned */
	const json_t *prov;         /* borrowed from conf */
	const char *prov_name, *sub, *jti;
	int64_t exp, iat;
	enum prov_type type;
	int64_t cap;                /* X5C: the leaf's notAfter; 0: none */
	int admin;                  /* OIDC: an admin's token, any names */
	char jti_buf[80];           /* OIDC: the jti made when there is none */
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

static int
bool_field(const json_t *obj, const char *name, int *v)
{
	const json_t *j = json_object_get(obj, name);

	if (j == NULL)
		return CA_OK;
	if (!json_is_boolean(j))
		return err_set(CA_FAIL, "ca.json: %s: true or false", name);
	*v = json_is_true(j);
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
	    duration_field(obj, "maxRenewalAfterExpiry",
	    &c->renew_expired_max) != CA_OK ||
	    bool_field(obj, "disableRenewal", &c->disable_renewal) != CA_OK ||
	    bool_field(obj, "allowRenewalAfterExpiry", &c->renew_expired) != CA_OK)
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

static enum prov_type
prov_type(const json_t *prov)
{
	const char *t = conf_str(prov, "type");

	if (t == NULL)
		return PROV_OTHER;
	return strcasecmp(t, "JWK") == 0 ? PROV_JWK :
	    strcasecmp(t, "OIDC") == 0 ? PROV_OIDC :
	    strcasecmp(t, "X5C") == 0 ? PROV_X5C :
	    strcasecmp(t, "ACME") == 0 ? PROV_ACME : PROV_OTHER;
}

/* The provisioner named name, of any type that issues, and its index. */
static const json_t *
prov_by_name(const struct authority *a, const char *name, size_t *idx)
{
	const json_t *pv;
	const char *n;
	size_t i;

	json_array_foreach(a->provs, i, pv) {
		if ((n = conf_str(pv, "name")) == NULL || strcmp(n, name) != 0 ||
		    prov_type(pv) == PROV_OTHER)
			continue;
		if (idx != NULL)
			*idx = i;
		return pv;
	}
	return NULL;
}

/*
 * An X5C provisioner's roots: "roots", inline (a PEM bundle, or its
 * base64 as step-ca writes it), or "rootsFile", a PEM bundle file.
 * Every certificate a self-signed CA certificate.
 */
static int
x5c_roots_load(const char *home, const json_t *prov, STACK_OF(X509) **out)
{
	const char *in = conf_str(prov, "roots"), *f = conf_str(prov, "rootsFile");
	struct buf b;
	char *p;
	int i, rc;

	*out = NULL;
	if (in != NULL) {
		if (strncmp(in, "-----BEGIN", 10) == 0)
			rc = pem_load_certs((const unsigned char *)in, strlen(in), out);
		else if ((rc = b64_decode(in, strlen(in), &b)) == CA_OK) {
			rc = pem_load_certs(b.data, b.len, out);
			buf_free(&b);
		}
	} else if (f != NULL) {
		if ((p = config_resolve(home, f)) == NULL)
			return err_set(CA_FAIL, "out of memory");
		rc = pem_load_certs_file(p, out);
		free(p);
	} else
		rc = err_set(CA_FAIL, "no roots");
	if (rc != CA_OK)
		return err_set(CA_FAIL, "roots: %s", err_msg());
	for (i = 0; i < sk_X509_num(*out); i++) {
		X509 *x = sk_X509_value(*out, i);

		if (X509_check_ca(x) < 1 ||
		    X509_check_issued(x, x) != X509_V_OK) {
			sk_X509_pop_free(*out, X509_free);
			*out = NULL;
			return err_set(CA_FAIL, "roots: certificate %d is not a self-signed CA certificate",
			    i + 1);
		}
	}
	return CA_OK;
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
	a->claims.renew_expired_max = AUTHORITY_RENEW_AFTER_EXPIRY;
	a->backdate = CA_BACKDATE;
	if ((rc = claims_apply(json_object_get(a->auth, "claims"), &a->claims)) != CA_OK ||
	    (rc = duration_field(a->auth, "backdate", &a->backdate)) != CA_OK ||
	    (rc = token_max_lifetime(a->conf, &a->max_token_life)) != CA_OK ||
	    (rc = crl_conf_read(a->conf, &a->crl)) != CA_OK)
		goto fail;
	/* Every provisioner's claims, now rather than at its first use. */
	provs = a->provs = json_object_get(a->auth, "provisioners");
	if ((a->prov_keys = calloc(json_array_size(provs) + 1,
	    sizeof(*a->prov_keys))) == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto fail;
	}
	if ((a->oidc = calloc(json_array_size(provs) + 1,
	    sizeof(*a->oidc))) == NULL ||
	    (a->x5c_roots = calloc(json_array_size(provs) + 1,
	    sizeof(*a->x5c_roots))) == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto fail;
	}
	json_array_foreach(provs, i, pv) {
		pc = a->claims;
		rc = claims_apply(json_object_get(pv, "claims"), &pc);
		if (rc == CA_OK && prov_type(pv) == PROV_OIDC)
			rc = oidc_init(&a->oidc[i], a->home, pv);
		if (rc == CA_OK && prov_type(pv) == PROV_X5C)
			rc = x5c_roots_load(a->home, pv, &a->x5c_roots[i]);
		if (rc != CA_OK) {
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
	X509_free(a->root);
	if (a->prov_keys != NULL)
		for (i = 0; i < json_array_size(a->provs); i++)
			EVP_PKEY_free(a->prov_keys[i]);
	free(a->prov_keys);
	if (a->oidc != NULL)
		for (i = 0; i < json_array_size(a->provs); i++)
			oidc_free(&a->oidc[i]);
	free(a->oidc);
	if (a->x5c_roots != NULL)
		for (i = 0; i < json_array_size(a->provs); i++)
			sk_X509_pop_free(a->x5c_roots[i], X509_free);
	free(a->x5c_roots);
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

const char *
authority_provisioner_type(struct authority *a, const char *name)
{
	static const char *names[] = { "JWK", "OIDC", "X5C", "ACME" };
	const json_t *pv = name != NULL ? prov_by_name(a, name, NULL) : NULL;

	return pv == NULL ? NULL : names[prov_type(pv)];
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
 * The times of a verified token's claims, as of now: exp and iat
 * required, nbf optional, each within TOKEN_LEEWAY; exp - iat at most
 * max.  t->exp and t->iat are set.
 */
static int
token_times(const json_t *claims, int64_t now, int64_t max, struct token *t,
    int *st)
{
	int64_t exp = 0, nbf = 0, iat = 0;
	int rc, have_nbf;

	if ((rc = int_claim(claims, "exp", 1, &exp, st)) != CA_OK ||
	    (rc = int_claim(claims, "iat", 1, &iat, st)) != CA_OK ||
	    (rc = int_claim(claims, "nbf", 0, &nbf, st)) != CA_OK)
		return rc;
	have_nbf = json_object_get(claims, "nbf") != NULL;
	if (now > exp + TOKEN_LEEWAY)
		return fail(st, 401, CA_REFUSED, "token rejected: expired");
	if ((have_nbf && now < nbf - TOKEN_LEEWAY) || now < iat - TOKEN_LEEWAY)
		return fail(st, 401, CA_REFUSED, "token rejected: not yet valid");
	if (exp <= iat || (have_nbf && exp <= nbf))
		return fail(st, 401, CA_REFUSED, "token rejected: expires before it is valid");
	if (exp - iat > max)
		return fail(st, 401, CA_REFUSED, "token rejected: lifetime %llds exceeds the maximum %llds",
		    (long long)(exp - iat), (long long)max);
	t->exp = exp;
	t->iat = iat;
	return CA_OK;
}

/*
 * chain (leaf first, at most CA_MAX_CHAIN) verified at time at (0: now)
 * to roots alone, the intermediates taken from chain itself and from more
 * (may be NULL); purpose 0 checks none.  what names the chain in the
 * messages.  401 when it does not verify.
 */
static int
chain_verify(STACK_OF(X509) *roots, STACK_OF(X509) *more,
    STACK_OF(X509) *chain, int64_t at, int purpose, const char *what, int *st)
{
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_STORE *store = NULL;
	int i, rc;

	rc = fail(st, 500, CA_FAIL, "verifying the %s: out of memory", what);
	if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL ||
	    (untrusted = sk_X509_new_null()) == NULL)
		goto out;
	for (i = 0; i < sk_X509_num(roots); i++)
		if (X509_STORE_add_cert(store, sk_X509_value(roots, i)) != 1)
			goto out;
	for (i = 1; i < sk_X509_num(chain); i++)
		if (sk_X509_push(untrusted, sk_X509_value(chain, i)) <= 0)
			goto out;
	for (i = 0; i < sk_X509_num(more); i++)
		if (sk_X509_push(untrusted, sk_X509_value(more, i)) <= 0)
			goto out;
	if (X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), untrusted) != 1 ||
	    (purpose != 0 && X509_STORE_CTX_set_purpose(ctx, purpose) != 1))
		goto out;
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	if (at != 0)
		X509_STORE_CTX_set_time(ctx, 0, (time_t)at);
	if (X509_verify_cert(ctx) != 1) {
		rc = fail(st, 401, CA_REFUSED, "%s not valid: %s", what,
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	rc = CA_OK;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	return rc;
}

/*
 * The certificates of a token's x5c header (or, when insecure_too, of
 * x5cInsecure: a renewal token), leaf first, decoded but not verified,
 * into *x5c (the caller's).  401 for a missing or malformed chain.
 */
static int
x5c_header(const struct jws *jws, int insecure_too, STACK_OF(X509) **x5c,
    int *st)
{
	const json_t *hx, *v;
	struct buf der;
	const char *s;
	X509 *x;
	size_t i;

	*x5c = NULL;
	hx = json_object_get(jws->header, "x5c");
	if (insecure_too && hx == NULL)
		hx = json_object_get(jws->header, "x5cInsecure");
	else if (insecure_too && json_object_get(jws->header, "x5cInsecure") != NULL)
		return fail(st, 401, CA_REFUSED, "token rejected: both x5c and x5cInsecure");
	if (!json_is_array(hx) || json_array_size(hx) == 0 ||
	    json_array_size(hx) > CA_MAX_CHAIN)
		return fail(st, 401, CA_REFUSED, "token rejected: no x5c chain of 1 to %d certificates",
		    CA_MAX_CHAIN);
	if ((*x5c = sk_X509_new_null()) == NULL)
		return fail(st, 500, CA_FAIL, "out of memory");
	json_array_foreach(hx, i, v) {
		if ((s = json_string_value(v)) == NULL ||
		    b64_decode(s, strlen(s), &der) != CA_OK) {
			sk_X509_pop_free(*x5c, X509_free);
			*x5c = NULL;
			return fail(st, 401, CA_REFUSED, "token rejected: x5c[%zu]: not base64", i);
		}
		x = pem_d2i_cert(der.data, der.len);
		buf_free(&der);
		if (x == NULL || !sk_X509_push(*x5c, x)) {
			X509_free(x);
			sk_X509_pop_free(*x5c, X509_free);
			*x5c = NULL;
			return fail(st, 401, CA_REFUSED, "token rejected: x5c[%zu]: not a DER certificate", i);
		}
	}
	return CA_OK;
}

/* aud is s, or an array of strings holding s. */
static int
aud_has(const json_t *aud, const char *s)
{
	const json_t *x;
	size_t i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), s) == 0;
	json_array_foreach(aud, i, x)
		if (json_is_string(x) && strcmp(json_string_value(x), s) == 0)
			return 1;
	return 0;
}

/*
 * The OIDC provisioner an (unverified) ID token is for: its issuer is the
 * token's iss and its clientID one of the token's audiences.  *idx its
 * index, or SIZE_MAX when no OIDC provisioner has that issuer.  An
 * issuer's token for another audience is refused here (401).  An issuer
 * known only by discovery is fetched (CA_UNAVAIL, 503, when it cannot be).
 */
static int
oidc_find(struct authority *a, const struct jws *jws, size_t *idx, int *st)
{
	const char *iss = json_string_value(json_object_get(jws->claims, "iss"));
	const char *want;
	const json_t *pv;
	char *why = NULL;
	size_t i;
	int rc, down = CA_OK, other_aud = 0;

	*idx = SIZE_MAX;
	json_array_foreach(a->provs, i, pv) {
		if (prov_type(pv) != PROV_OIDC)
			continue;
		if ((rc = oidc_issuer(&a->oidc[i], &want)) != CA_OK) {
			/* Maybe the token is another issuer's: look further first. */
			if (down == CA_OK) {
				err_prefix("provisioner %s", conf_str(pv, "name"));
				why = strdup(err_msg());
				down = rc;
			}
			continue;
		}
		if (strcmp(want, iss) != 0)
			continue;
		if (!aud_has(json_object_get(jws->claims, "aud"),
		    conf_str(pv, "clientID"))) {
			other_aud = 1;
			continue;
		}
		*idx = i;
		free(why);
		return CA_OK;
	}
	if (other_aud)
		rc = fail(st, 401, CA_REFUSED, "token rejected: audience mismatch (an ID token of %.200s for another clientID)",
		    iss);
	else if (down != CA_OK)
		rc = status_of(st, err_set(down, "%s", why != NULL ? why : "out of memory"));
	else
		rc = CA_OK;
	free(why);
	return rc;
}

/* "email" with "email_verified": true, or NULL. */
static const char *
verified_email(const json_t *claims)
{
	const char *e = json_string_value(json_object_get(claims, "email"));

	return e != NULL && json_is_true(json_object_get(claims, "email_verified")) ?
	    e : NULL;
}

/* The email's domain is one of names, in any case. */
static int
email_in_domains(const char *email, const json_t *names)
{
	const char *at = strrchr(email, '@');
	const json_t *d;
	size_t i;

	if (at == NULL)
		return 0;
	json_array_foreach(names, i, d)
		if (strcasecmp(at + 1, json_string_value(d)) == 0)
			return 1;
	return 0;
}

/*
 * An ID token of the OIDC provisioner idx (jws parsed, its iss and aud
 * already matched): alg RS256 or ES256, pinned to the issuer's key named
 * by kid; the signature; iss exactly the issuer; aud holding clientID;
 * the times (a lifetime of at most OIDC_MAX_TOKEN_LIFE, issued at most
 * maxTokenAge ago); a subject; admins, domains and groups as step-ca;
 * a jti, or one made of (iss, sub, iat, the token's hash).
 */
static int
oidc_verify(struct authority *a, size_t idx, const char *ott,
    const struct jws *jws, int64_t now, struct token *t, int *st)
{
	const json_t *pv = json_array_get(a->provs, idx), *g, *x;
	struct oidc *o = &a->oidc[idx];
	unsigned char md[SHA256_DIGEST_LENGTH], tok[SHA256_DIGEST_LENGTH];
	const char *iss, *email;
	int64_t max_age = OIDC_MAX_TOKEN_AGE;
	EVP_PKEY *pub = NULL;
	char *buf;
	size_t i, j;
	int rc, found;

	if (strcmp(jws->alg, "RS256") != 0 && strcmp(jws->alg, "ES256") != 0)
		return fail(st, 401, CA_REFUSED, "token rejected: algorithm %.20s: only RS256 and ES256 ID tokens are accepted",
		    jws->alg);
	if (jws->kid == NULL)
		return fail(st, 401, CA_REFUSED, "token rejected: no key id (kid)");
	if ((rc = oidc_key(o, jws->kid, now, &pub)) != CA_OK) {
		if (rc == CA_REFUSED)
			return fail(st, 401, CA_REFUSED, "token rejected: %s", err_msg());
		err_prefix("provisioner %s", conf_str(pv, "name"));
		return status_of(st, rc);
	}
	/* The key's algorithm, not the token's word: jws_verify() insists. */
	rc = jws_verify(jws, pub);
	EVP_PKEY_free(pub);
	if (rc != CA_OK) {
		err_prefix("token rejected");
		return fail(st, 401, CA_REFUSED, "%s", err_msg());
	}
	if ((rc = oidc_issuer(o, &iss)) != CA_OK)
		return status_of(st, rc);
	if (strcmp(iss, json_string_value(json_object_get(jws->claims, "iss"))) != 0)
		return fail(st, 401, CA_REFUSED, "token rejected: issuer mismatch");
	if (!aud_has(json_object_get(jws->claims, "aud"), conf_str(pv, "clientID")))
		return fail(st, 401, CA_REFUSED, "token rejected: audience mismatch (not for clientID %s)",
		    conf_str(pv, "clientID"));
	t->sub = json_string_value(json_object_get(jws->claims, "sub"));
	if (t->sub == NULL || t->sub[0] == '\0')
		return fail(st, 401, CA_REFUSED, "token rejected: no subject (sub)");
	if ((rc = token_times(jws->claims, now, OIDC_MAX_TOKEN_LIFE, t, st)) != CA_OK)
		return rc;
	if (duration_field(pv, "maxTokenAge", &max_age) != CA_OK)
		return status_of(st, CA_FAIL);
	if (now - t->iat > max_age)
		return fail(st, 401, CA_REFUSED, "token rejected: issued %llds ago, more than maxTokenAge %llds",
		    (long long)(now - t->iat), (long long)max_age);
	/* step-ca's members: an admin asks for any names; domains and groups restrict. */
	email = verified_email(jws->claims);
	t->admin = 0;
	json_array_foreach(json_object_get(pv, "admins"), i, x)
		if (email != NULL && strcasecmp(email, json_string_value(x)) == 0)
			t->admin = 1;
	if (!t->admin && json_object_get(pv, "domains") != NULL &&
	    (email == NULL || !email_in_domains(email, json_object_get(pv, "domains"))))
		return fail(st, 403, CA_REFUSED, "token rejected: no verified email in the provisioner's domains");
	if (!t->admin && json_object_get(pv, "groups") != NULL) {
		found = 0;
		json_array_foreach(json_object_get(jws->claims, "groups"), i, g)
			json_array_foreach(json_object_get(pv, "groups"), j, x)
				if (json_is_string(g) && strcmp(json_string_value(g),
				    json_string_value(x)) == 0)
					found = 1;
		if (!found)
			return fail(st, 403, CA_REFUSED, "token rejected: in none of the provisioner's groups");
	}
	t->jti = json_string_value(json_object_get(jws->claims, "jti"));
	if (json_object_get(jws->claims, "jti") != NULL &&
	    (t->jti == NULL || t->jti[0] == '\0' || strlen(t->jti) > TOKEN_MAX_JTI))
		return fail(st, 401, CA_REFUSED, "token rejected: malformed or oversized jti");
	if (t->jti == NULL) {
		/* No jti: the token itself, spent once all the same. */
		char th[2 * SHA256_DIGEST_LENGTH + 1];

		SHA256((const unsigned char *)ott, strlen(ott), tok);
		for (i = 0; i < sizeof(tok); i++)
			snprintf(th + 2 * i, 3, "%02x", tok[i]);
		if (asprintf(&buf, "%s\n%s\n%lld\n%s", iss, t->sub,
		    (long long)t->iat, th) < 0)
			return fail(st, 500, CA_FAIL, "out of memory");
		SHA256((const unsigned char *)buf, strlen(buf), md);
		free(buf);
		memcpy(t->jti_buf, "sha256:", 7);
		for (i = 0; i < sizeof(md); i++)
			snprintf(t->jti_buf + 7 + 2 * i, 3, "%02x", md[i]);
		t->jti = t->jti_buf;
	}
	t->prov = pv;
	t->prov_name = conf_str(pv, "name");
	t->type = PROV_OIDC;
	t->claims = json_incref(jws->claims);
	return CA_OK;
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
	STACK_OF(X509) *x5c = NULL;
	const json_t *pv;
	struct jws jws;
	const char *iss;
	EVP_PKEY *pub = NULL;
	json_t *accepted;
	X509 *leaf;
	size_t idx = 0;
	int rc;

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
	pv = prov_by_name(a, iss, &idx);
	if (pv == NULL && strcmp(path, "sign") == 0) {
		/* Not a provisioner's name: an ID token of an OIDC issuer? */
		if ((rc = oidc_find(a, &jws, &idx, st)) != CA_OK)
			goto out;
		if (idx != SIZE_MAX) {
			rc = oidc_verify(a, idx, ott, &jws, now, t, st);
			goto out;
		}
	}
	if (pv != NULL && prov_type(pv) == PROV_X5C) {
		/* The chain's leaf signed it, and the provisioner's roots vouch for the leaf. */
		if ((rc = x5c_header(&jws, 0, &x5c, st)) != CA_OK)
			goto out;
		leaf = sk_X509_value(x5c, 0);
		if ((rc = jws_verify(&jws, X509_get0_pubkey(leaf))) != CA_OK) {
			err_prefix("token rejected");
			*st = 401;
			rc = CA_REFUSED;
			goto out;
		}
		if ((rc = chain_verify(a->x5c_roots[idx], NULL, x5c, 0, 0,
		    "x5c chain", st)) != CA_OK) {
			if (rc == CA_REFUSED)
				err_prefix("token rejected");
			goto out;
		}
		if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) &&
		    !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE)) {
			rc = fail(st, 401, CA_REFUSED, "token rejected: the x5c leaf's keyUsage lacks digitalSignature");
			goto out;
		}
		t->prov = pv;
		t->type = PROV_X5C;
		t->cap = x509_time(X509_get0_notAfter(leaf));
	} else {
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
		t->type = PROV_JWK;
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
	if ((rc = token_times(jws.claims, now, a->max_token_life, t,
	    st)) != CA_OK)
		goto out;
	t->jti = json_string_value(json_object_get(jws.claims, "jti"));
	if (t->jti == NULL || t->jti[0] == '\0' || strlen(t->jti) > TOKEN_MAX_JTI) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: missing or oversized jti");
		goto out;
	}
	t->claims = json_incref(jws.claims);
	t->prov_name = json_string_value(json_object_get(t->prov, "name"));
	rc = CA_OK;
out:
	jws_free(&jws);
	sk_X509_pop_free(x5c, X509_free);
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

/*
 * An ID token's request: the CSR's names (its SANs, else its CN as a
 * name), each of which must be among the SANs of the provisioner's rules
 * that match the token's claims (an admin's token: any names); a CSR
 * that names nothing gets every one of them.  The CN is the request's
 * when it is one of the names, else the first name.  names and cn get
 * what is issued.
 */
static int
oidc_check_csr(const struct token *t, X509_REQ *csr, struct sans *names,
    char *cn, size_t cnlen, int *st)
{
	struct sans allowed = { NULL, 0 };
	const struct san *c;
	size_t i;
	int rc;

	if ((rc = csr_check(csr)) != CA_OK)
		return status_of(st, rc);
	if ((rc = csr_requested_names(csr, cn, cnlen, names)) != CA_OK)
		return status_of(st, rc);
	if (!t->admin && (rc = oidc_rules(t->prov, t->claims, &allowed)) != CA_OK) {
		if (rc == CA_REFUSED)
			return fail(st, 403, CA_REFUSED, "token rejected: %s", err_msg());
		return status_of(st, rc);
	}
	if (names->n == 0) {
		if (t->admin) {
			sans_free(&allowed);
			return fail(st, 403, CA_REFUSED, "certificate request names nothing");
		}
		sans_free(names);
		*names = allowed;
		allowed.v = NULL;
		allowed.n = 0;
	} else if (!t->admin) {
		for (i = 0; i < names->n; i++)
			if (!sans_contains(&allowed, &names->v[i])) {
				rc = fail(st, 403, CA_REFUSED, "%s:%s is not among the names provisioner %s allows this job",
				    san_type_name(names->v[i].type), names->v[i].value,
				    t->prov_name);
				sans_free(&allowed);
				return rc;
			}
	}
	sans_free(&allowed);
	if (cn[0] != '\0') {
		if (sans_find_cn(names, cn, &c) != CA_OK)
			return fail(st, 403, CA_REFUSED, "certificate request common name %s is not one of its names", cn);
	} else
		c = &names->v[0];
	if (strlen(c->value) >= cnlen)
		return fail(st, 403, CA_REFUSED, "common name longer than %zu bytes", cnlen - 1);
	memmove(cn, c->value, strlen(c->value) + 1);
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
	struct token t;             /* its jti, when set, is spent with the record */
	struct sans names;
	char cn[CA_MAX_SAN_LEN + 1];
	char *serial, *sj;
	unsigned char *der;
	X509 *x;
	struct db_cert row;
	struct db_row *old;         /* a renewal: the row renewed */
	const struct acme_issue_request *acme; /* ACME: its record hook */
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
	db_row_free(p->old);
	memset(p, 0, sizeof(*p));
}

/*
 * Build, lint and sign what was decided (p->cn, p->names, the
 * provisioner p->t.prov_name) for the key pub (spki: its own encoding,
 * or NULL), from nb to na; before the write lock is taken.  On success p
 * holds the certificate and the row to record.
 */
static int
issue_sign(struct authority *a, struct issue *p, EVP_PKEY *pub,
    const X509_PUBKEY *spki, int64_t nb, int64_t na, int *st)
{
	struct x509_template tpl;
	int rc, n;

	if ((rc = load_key(a, st)) != CA_OK)
		return rc;
	memset(&tpl, 0, sizeof(tpl));
	tpl.profile = X509_LEAF;
	tpl.pubkey = pub;
	tpl.spki = spki;
	tpl.cn = p->cn[0] != '\0' ? p->cn : NULL;
	tpl.sans = &p->names;
	tpl.not_before = nb;
	tpl.not_after = na;
	tpl.issuer = sk_X509_value(a->chain, 0);
	tpl.chain = a->chain;
	tpl.issuer_key = a->key;
	tpl.crl_url = crl_leaf_url(&a->crl);
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
 * Every check of a signing request, and the signing, before the
 * database is touched.
 */
static int
sign_prepare(struct authority *a, const struct sign_request *r,
    struct issue *p, int *st)
{
	struct claims c;
	int64_t nb, na;
	int rc;

	memset(p, 0, sizeof(*p));
	p->now = (int64_t)time(NULL);
	if ((rc = token_verify(a, r->ott, "sign", p->now, &p->t, st)) != CA_OK)
		return rc;
	if ((rc = prov_claims(a, p->t.prov, &c, st)) != CA_OK)
		return rc;
	if (p->t.type == PROV_OIDC)
		rc = oidc_check_csr(&p->t, r->csr, &p->names, p->cn,
		    sizeof(p->cn), st);
	else
		rc = check_csr(&p->t, r->csr, &p->names, p->cn, sizeof(p->cn),
		    st);
	if (rc != CA_OK)
		return rc;
	if ((rc = policy_check(a->policy, &p->names,
	    p->t.type == PROV_OIDC ? p->cn : p->t.sub)) != CA_OK)
		return status_of(st, rc);
	if ((rc = validity(a, &c, r, p->now, &nb, &na, st)) != CA_OK)
		return rc;
	/* An X5C certificate never outlives the certificate that asked for it. */
	if (p->t.cap != 0 && na > p->t.cap) {
		na = p->t.cap;
		if (na <= nb)
			return fail(st, 403, CA_REFUSED, "the x5c leaf expires before the certificate would start");
	}
	return issue_sign(a, p, X509_REQ_get0_pubkey(r->csr),
	    X509_REQ_get_X509_PUBKEY(r->csr), nb, na, st);
}

/*
 * Inside the open transaction, under a savepoint of its own: spend the
 * token, check that a renewed certificate is still not revoked (under
 * the write lock, so a revocation committed before this transaction
 * began is seen, and none can commit until it ends), and record the
 * certificate; or undo all of it.
 */
static int
issue_record(struct authority *a, struct issue *p, int *st)
{
	int rc, revoked = 0;

	if ((rc = db_savepoint(a->db)) != CA_OK)
		return status_of(st, rc);
	if (p->t.jti != NULL && (rc = spend(a, &p->t, p->now, st)) != CA_OK)
		goto undo;
	if (p->row.renewed_from != NULL) {
		if ((rc = db_is_revoked(a->db, p->row.renewed_from,
		    &revoked)) != CA_OK) {
			status_of(st, rc);
			goto undo;
		}
		if (revoked) {
			rc = fail(st, 403, CA_REFUSED, "certificate %s is revoked",
			    p->row.renewed_from);
			goto undo;
		}
	}
	if ((rc = db_put_cert(a->db, &p->row)) != CA_OK) {
		status_of(st, rc == CA_REFUSED ? CA_FAIL : rc);
		goto undo;
	}
	/* ACME: the order's row says where the certificate is, in the same
	 * transaction, or neither is recorded. */
	if (p->acme != NULL && p->acme->record != NULL &&
	    (rc = p->acme->record(a->db, p->x, p->serial,
	    p->acme->arg)) != CA_OK) {
		status_of(st, rc);
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

/* The outcome of one request of a batch. */
struct slot {
	struct authority_result res;
	char *msg;              /* malloc'd: the failure's message */
	X509 *crt;              /* on success: the committed certificate */
};

static void
slot_fail(struct slot *s, int code, int status)
{
	s->res = result(code, status);
	free(s->msg);
	s->msg = strdup(err_msg());
}

/*
 * Group commit: every p[i] prepared (s[i] still CA_OK) is recorded in one
 * transaction, each under a savepoint of its own, so that one refused
 * there undoes only itself.  A failed BEGIN or COMMIT fails every one of
 * them.  After it, p[i].x of each s[i] still CA_OK is committed.
 */
static void
issue_commit(struct authority *a, struct issue *p, struct slot *s, size_t n)
{
	size_t i, ready = 0, recorded = 0;
	int rc, st = 500;

	for (i = 0; i < n; i++)
		ready += s[i].res.code == CA_OK;
	if (ready == 0)
		return;
	if ((rc = db_begin(a->db)) != CA_OK) {
		status_of(&st, rc);
		for (i = 0; i < n; i++)
			if (s[i].res.code == CA_OK)
				slot_fail(&s[i], rc, st);
		return;
	}
	for (i = 0; i < n; i++) {
		if (s[i].res.code != CA_OK)
			continue;
		st = 500;
		if ((rc = issue_record(a, &p[i], &st)) != CA_OK)
			slot_fail(&s[i], rc, st);
		else
			recorded++;
	}
	if (recorded == 0) {
		db_rollback(a->db);
		return;
	}
	if ((rc = db_commit(a->db)) != CA_OK) {
		/* Nothing of it stays: every certificate of it is discarded. */
		status_of(&st, rc);
		for (i = 0; i < n; i++)
			if (s[i].res.code == CA_OK)
				slot_fail(&s[i], rc, st);
	}
}

/* n issues and their outcomes, or NULL (every outcome "out of memory"). */
static struct issue *
batch_new(size_t n, struct slot **s)
{
	struct issue *p;
	size_t i;

	p = calloc(n > 0 ? n : 1, sizeof(*p));
	*s = calloc(n > 0 ? n : 1, sizeof(**s));
	if (p == NULL || *s == NULL) {
		free(p);
		free(*s);
		*s = NULL;
		err_set(CA_FAIL, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++)
		(*s)[i].res = result(CA_OK, 200);
	return p;
}

/* Decide and sign request i of a batch (arg: its array). */
typedef int prepare_fn(struct authority *, const void *arg, size_t i,
    struct issue *, int *st);

/*
 * A batch of n: each request decided and signed by prepare, outside the
 * write lock, then all recorded together (issue_commit).  Returns the n
 * outcomes (each msg and crt the caller's), or NULL when out of memory.
 */
static struct slot *
batch_run(struct authority *a, size_t n, prepare_fn *prepare, const void *arg)
{
	struct issue *p;
	struct slot *sl;
	size_t i;
	int rc, st;

	if ((p = batch_new(n, &sl)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		st = 500;
		if ((rc = prepare(a, arg, i, &p[i], &st)) != CA_OK)
			slot_fail(&sl[i], rc, st);
	}
	issue_commit(a, p, sl, n);
	for (i = 0; i < n; i++) {
		if (sl[i].res.code == CA_OK) {
			sl[i].crt = p[i].x;
			p[i].x = NULL;
		}
		issue_free(&p[i]);
	}
	free(p);
	return sl;
}

/* One outcome of batch_run() to the caller's fields; s NULL: out of memory. */
static void
slot_give(const struct slot *s, X509 **crt, struct authority_result *res,
    char **msg)
{
	if (s == NULL) {
		*crt = NULL;
		*res = result(CA_FAIL, 500);
		*msg = strdup(err_msg());
		return;
	}
	*crt = s->crt;
	*res = s->res;
	*msg = s->msg;
}

/* A batch of one, its failure's message recorded (err_msg()) again. */
static struct authority_result
batch_one(struct authority *a, prepare_fn *prepare, const void *arg,
    X509 **crt)
{
	struct authority_result res;
	struct slot *sl;
	char *msg;

	sl = batch_run(a, 1, prepare, arg);
	slot_give(sl, crt, &res, &msg);
	free(sl);
	if (res.code != CA_OK)
		err_set(res.code, "%s", msg != NULL ? msg : "out of memory");
	free(msg);
	return res;
}

static int
sign_at(struct authority *a, const void *arg, size_t i, struct issue *p,
    int *st)
{
	return sign_prepare(a, ((const struct authority_signing *)arg)[i].req,
	    p, st);
}

void
authority_sign_batch(struct authority *a, struct authority_signing *s,
    size_t n)
{
	struct slot *sl;
	size_t i;

	sl = batch_run(a, n, sign_at, s);
	for (i = 0; i < n; i++)
		slot_give(sl != NULL ? &sl[i] : NULL, &s[i].crt, &s[i].res,
		    &s[i].msg);
	free(sl);
}

struct authority_result
authority_sign(struct authority *a, const struct sign_request *r, X509 **crt)
{
	struct authority_signing s;

	memset(&s, 0, sizeof(s));
	s.req = r;
	return batch_one(a, sign_at, &s, crt);
}

/* ---- ACME ------------------------------------------------------------ */

const json_t *
authority_acme_provisioner(struct authority *a, const char *name)
{
	const json_t *pv = name != NULL ? prov_by_name(a, name, NULL) : NULL;

	return pv != NULL && prov_type(pv) == PROV_ACME ? pv : NULL;
}

struct authority_result
authority_acme_names(struct authority *a, const struct sans *names)
{
	int rc, st = 200;

	if (names->n == 0)
		return result(fail(&st, 400, CA_INPUT, "no identifiers"), st);
	if ((rc = policy_check(a->policy, names, NULL)) != CA_OK)
		status_of(&st, rc);
	return result(rc, st);
}

/*
 * Every check of an ACME finalize, and the signing, before the database
 * is written: the provisioner, the CSR (signature, key, and not the
 * account's key), its names exactly the order's, its CN one of them
 * (forceCN: the first when it has none), today's policy, the claims.
 */
static int
acme_prepare(struct authority *a, const struct acme_issue_request *r,
    struct issue *p, int *st)
{
	struct sans csrsans = { NULL, 0 };
	const struct san *c;
	struct sign_request times;
	const json_t *prov;
	struct claims cl;
	int64_t nb, na;
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	p->now = (int64_t)time(NULL);
	p->acme = r;
	if ((prov = authority_acme_provisioner(a, r->provisioner)) == NULL)
		return fail(st, 404, CA_REFUSED, "no ACME provisioner %s",
		    r->provisioner != NULL ? r->provisioner : "(none)");
	p->t.prov = prov;
	p->t.prov_name = conf_str(prov, "name");
	if ((rc = prov_claims(a, prov, &cl, st)) != CA_OK)
		return rc;
	if ((rc = csr_check(r->csr)) != CA_OK)
		return status_of(st, rc);
	if (r->account_key != NULL &&
	    EVP_PKEY_eq(X509_REQ_get0_pubkey(r->csr), r->account_key) == 1)
		return fail(st, 400, CA_INPUT, "the certificate request's key "
		    "is the account's key");
	if ((rc = csr_requested_names(r->csr, p->cn, sizeof(p->cn),
	    &csrsans)) != CA_OK) {
		sans_free(&csrsans);
		return status_of(st, rc);
	}
	if (!sans_equal(&csrsans, r->names)) {
		char *extra = sans_missing(&csrsans, r->names);
		char *lack = sans_missing(r->names, &csrsans);

		sans_free(&csrsans);
		if (extra == NULL || lack == NULL)
			rc = fail(st, 500, CA_FAIL, "out of memory");
		else
			rc = fail(st, 403, CA_REFUSED,
			    "certificate request names differ from the order's "
			    "identifiers:%s%s%s%s%s",
			    *extra ? " not in the order: " : "", extra,
			    *extra && *lack ? ";" : "",
			    *lack ? " not in the request: " : "", lack);
		free(extra);
		free(lack);
		return rc;
	}
	sans_free(&csrsans);
	for (i = 0; i < r->names->n; i++)
		if ((rc = sans_add_san(&p->names, &r->names->v[i])) != CA_OK)
			return status_of(st, rc);
	if (p->cn[0] != '\0') {
		if (sans_find_cn(&p->names, p->cn, &c) != CA_OK)
			return fail(st, 403, CA_REFUSED, "certificate request "
			    "common name %s is not one of the order's identifiers",
			    p->cn);
		memmove(p->cn, c->value, strlen(c->value) + 1);
	} else if (json_is_true(json_object_get(prov, "forceCN"))) {
		c = &p->names.v[0];
		if (strlen(c->value) >= sizeof(p->cn))
			return fail(st, 403, CA_REFUSED, "common name longer "
			    "than %zu bytes", sizeof(p->cn) - 1);
		memcpy(p->cn, c->value, strlen(c->value) + 1);
	}
	if ((rc = policy_check(a->policy, &p->names,
	    p->cn[0] != '\0' ? p->cn : NULL)) != CA_OK)
		return status_of(st, rc);
	memset(&times, 0, sizeof(times));
	times.not_before = r->not_before;
	times.not_after = r->not_after;
	if ((rc = validity(a, &cl, &times, p->now, &nb, &na, st)) != CA_OK)
		return rc;
	return issue_sign(a, p, X509_REQ_get0_pubkey(r->csr),
	    X509_REQ_get_X509_PUBKEY(r->csr), nb, na, st);
}

static int
acme_at(struct authority *a, const void *arg, size_t i, struct issue *p,
    int *st)
{
	return acme_prepare(a, (const struct acme_issue_request *)arg + i, p,
	    st);
}

struct authority_result
authority_acme_issue(struct authority *a, const struct acme_issue_request *r,
    X509 **crt)
{
	return batch_one(a, acme_at, r, crt);
}

/* ---- revocation ------------------------------------------------------ */

static const char *const reason_names[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise"
};
#define REASON_MAX 10

const char *
authority_reason_name(int code)
{
	return code < 0 || code > REASON_MAX ? NULL : reason_names[code];
}

int
authority_reason_code(const char *s, int *code)
{
	char *end;
	long n;
	int i;

	if (s[0] >= '0' && s[0] <= '9') {
		n = strtol(s, &end, 10);
		if (*end == '\0' && strlen(s) <= 2 && authority_reason_name((int)n)) {
			*code = (int)n;
			return CA_OK;
		}
	} else
		for (i = 0; i <= REASON_MAX; i++)
			if (reason_names[i] != NULL &&
			    strcasecmp(s, reason_names[i]) == 0) {
				*code = i;
				return CA_OK;
			}
	return err_set(CA_INPUT, "reason code %.40s: 0..10, not 7, or an RFC 5280 name (keyCompromise, superseded, ...)", s);
}

/* Free text fit to record and to print: bounded UTF-8, no control characters. */
static int
reason_ok(const char *reason, int *st)
{
	json_t *j;
	size_t i, n;

	if (reason == NULL)
		return CA_OK;
	if ((n = strlen(reason)) > REVOKE_MAX_REASON)
		return fail(st, 400, CA_INPUT, "reason: longer than %d bytes",
		    REVOKE_MAX_REASON);
	for (i = 0; i < n; i++)
		if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
			return fail(st, 400, CA_INPUT, "reason: control characters are refused");
	/* jansson takes only valid UTF-8. */
	if ((j = json_stringn(reason, n)) == NULL)
		return fail(st, 400, CA_INPUT, "reason: not UTF-8 text");
	json_decref(j);
	return CA_OK;
}

/* The root of the CA home, read at its first use. */
static int
load_root(struct authority *a, int *st)
{
	char *p;
	int rc;

	if (a->root != NULL)
		return CA_OK;
	if ((p = config_resolve(a->home, conf_str(a->conf, "root"))) == NULL)
		return fail(st, 500, CA_FAIL, "out of memory");
	rc = pem_load_cert_file(p, &a->root);
	free(p);
	if (rc != CA_OK)
		return fail(st, 500, CA_FAIL, "root: %s", err_msg());
	return CA_OK;
}

/*
 * The client's chain (leaf first, as the TLS server verified it) verified
 * again here, at time at (0: now), to the CA's root alone: the handler
 * socket carries the TLS server's word, and a word is checked, not
 * trusted.  The intermediates may come from the chain or from the CA's
 * own.  The leaf must be fit for client authentication.  *leaf is
 * borrowed from peer.  401 when the chain does not verify.
 */
static int
client_chain_verify(struct authority *a, STACK_OF(X509) *peer, int64_t at,
    X509 **leaf, int *st)
{
	STACK_OF(X509) *roots;
	int rc;

	*leaf = NULL;
	if (peer == NULL || sk_X509_num(peer) == 0)
		return fail(st, 401, CA_REFUSED, "no client certificate");
	if (sk_X509_num(peer) > CA_MAX_CHAIN)
		return fail(st, 400, CA_INPUT, "client certificate chain: more than %d certificates",
		    CA_MAX_CHAIN);
	if ((rc = load_root(a, st)) != CA_OK)
		return rc;
	if ((roots = sk_X509_new_null()) == NULL ||
	    sk_X509_push(roots, a->root) <= 0) {
		sk_X509_free(roots);
		return fail(st, 500, CA_FAIL, "verifying the client certificate: out of memory");
	}
	rc = chain_verify(roots, a->chain, peer, at, X509_PURPOSE_SSL_CLIENT,
	    "client certificate", st);
	sk_X509_free(roots);
	if (rc != CA_OK)
		return rc;
	/* The purpose check passes a leaf without extendedKeyUsage: not here. */
	if (!(X509_get_extension_flags(sk_X509_value(peer, 0)) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(sk_X509_value(peer, 0)) & XKU_SSL_CLIENT))
		return fail(st, 401, CA_REFUSED, "client certificate not valid: "
		    "no extendedKeyUsage clientAuth");
	*leaf = sk_X509_value(peer, 0);
	return CA_OK;
}

/* "admin": true in a provisioner's ca.json entry. */
static int
prov_is_admin(const json_t *prov)
{
	return json_is_true(json_object_get(prov, "admin"));
}

/*
 * Inside the open transaction: the certificate is stored, and the caller
 * may revoke it (the token's provisioner issued it or is an admin; the
 * client's certificate is this very one).
 */
static int
revoke_allowed(struct authority *a, const struct revoke_request *r,
    const char *serial, const struct token *t, X509 *leaf, int *st)
{
	struct db_row *row = NULL;
	unsigned char *der = NULL;
	int n, rc;

	if ((rc = db_get_cert(a->db, serial, &row)) != CA_OK)
		return status_of(st, rc);
	if (row == NULL)
		return fail(st, 404, CA_REFUSED, "certificate %s not found", serial);
	rc = CA_OK;
	if (r->method == REVOKE_TOKEN && !prov_is_admin(t->prov) &&
	    strcmp(row->cert.provisioner, t->prov_name) != 0)
		rc = fail(st, 403, CA_REFUSED, "provisioner %s did not issue certificate %s",
		    t->prov_name, serial);
	if (r->method == REVOKE_ACME && (r->provisioner == NULL ||
	    strcmp(row->cert.provisioner, r->provisioner) != 0))
		rc = fail(st, 403, CA_REFUSED, "provisioner %s did not issue certificate %s",
		    r->provisioner != NULL ? r->provisioner : "(none)", serial);
	if (rc == CA_OK && (r->method == REVOKE_MTLS || r->method == REVOKE_ACME)) {
		if ((n = i2d_X509(leaf, &der)) <= 0)
			rc = fail(st, 500, CA_FAIL, "encoding the client certificate failed");
		else if ((size_t)n != row->cert.der_len ||
		    memcmp(der, row->cert.der, (size_t)n) != 0)
			rc = fail(st, 401, CA_REFUSED,
			    "the %s certificate is not certificate %s as the CA issued it",
			    r->method == REVOKE_ACME ? "request's" : "client", serial);
		OPENSSL_free(der);
	}
	db_row_free(row);
	return rc;
}

static const char *
method_name(enum revoke_method m)
{
	return m == REVOKE_TOKEN ? "token" : m == REVOKE_MTLS ? "mtls" :
	    m == REVOKE_ACME ? "acme" : "offline";
}

struct authority_result
authority_revoke(struct authority *a, const struct revoke_request *r)
{
	struct db_revocation rev;
	enum db_refusal why;
	struct token t;
	X509 *leaf = NULL;
	char *serial = NULL, *leaf_serial = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc, st = 500;

	memset(&t, 0, sizeof(t));
	if ((serial = x509_serial_parse(r->serial != NULL ? r->serial : "")) == NULL) {
		rc = fail(&st, 400, CA_INPUT, "%s", err_msg());
		goto out;
	}
	if (authority_reason_name(r->reason_code) == NULL) {
		rc = fail(&st, 400, CA_INPUT, "reason code %d: 0..10, not 7", r->reason_code);
		goto out;
	}
	if ((rc = reason_ok(r->reason, &st)) != CA_OK)
		goto out;
	switch (r->method) {
	case REVOKE_OFFLINE:
		break;
	case REVOKE_TOKEN:
		if ((rc = token_verify(a, r->ott, "revoke", now, &t, &st)) != CA_OK)
			goto out;
		if (strcmp(t.sub, serial) != 0) {
			rc = fail(&st, 401, CA_REFUSED, "token rejected: token is for serial %s, not %s",
			    t.sub, serial);
			goto out;
		}
		break;
	case REVOKE_MTLS:
		if ((rc = client_chain_verify(a, r->peer, 0, &leaf, &st)) != CA_OK)
			goto out;
		if ((leaf_serial = x509_serial_dec(leaf)) == NULL) {
			rc = fail(&st, 500, CA_FAIL, "out of memory");
			goto out;
		}
		if (strcmp(leaf_serial, serial) != 0) {
			rc = fail(&st, 403, CA_REFUSED,
			    "a client certificate revokes only itself: serial %s is not %s",
			    leaf_serial, serial);
			goto out;
		}
		break;
	case REVOKE_ACME:
		/* The handler authenticated the request; the certificate is
		 * the one sent, which must be the serial's as issued. */
		if ((leaf = r->cert) == NULL) {
			rc = fail(&st, 400, CA_INPUT, "revoke: no certificate");
			goto out;
		}
		break;
	default:
		rc = fail(&st, 500, CA_FAIL, "revoke: unknown method");
		goto out;
	}
	memset(&rev, 0, sizeof(rev));
	rev.serial = serial;
	rev.revoked_at = now;
	rev.reason_code = r->reason_code;
	rev.reason = r->reason;
	rev.method = method_name(r->method);
	/* One transaction: checked against the row, token spent, recorded. */
	if ((rc = db_begin(a->db)) != CA_OK) {
		status_of(&st, rc);
		goto out;
	}
	if ((rc = revoke_allowed(a, r, serial, &t, leaf, &st)) != CA_OK ||
	    (r->method == REVOKE_TOKEN && (rc = spend(a, &t, now, &st)) != CA_OK)) {
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
	OPENSSL_free(leaf_serial);
	free(serial);
	return result(rc, st);
}

/* ---- renewal ----------------------------------------------------------- */

/*
 * The client chain of a TLS handshake, leaf first: ca-serve verified it,
 * and it is verified again here, now, against the root (the handler
 * socket is a trust boundary).
 */
static int
peer_verify(struct authority *a, STACK_OF(X509) *peer, int64_t now, int *st)
{
	X509 *leaf;
	int rc;

	if ((rc = client_chain_verify(a, peer, now, &leaf, st)) == CA_REFUSED &&
	    *st == 401 && sk_X509_num(peer) > 0 &&
	    x509_time(X509_get0_notAfter(sk_X509_value(peer, 0))) < now)
		return fail(st, 401, CA_REFUSED, "%s; an expired certificate is "
		    "renewed with a renewal token", err_msg());
	return rc;
}

/*
 * Whether name is one of leaf's subject alternative names, as written
 * there: the subject of a certificate without a common name (one too
 * long for it keeps its name in the SANs alone).
 */
static int
leaf_has_san(X509 *leaf, const char *name)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	struct sans names = { NULL, 0 };
	size_t i;
	int found = 0;

	if (gens != NULL && sans_from_general_names(gens, &names) == CA_OK)
		for (i = 0; i < names.n && !found; i++)
			found = strcmp(names.v[i].value, name) == 0;
	GENERAL_NAMES_free(gens);
	sans_free(&names);
	return found;
}

/*
 * A renewal token (step-ca's format): its x5c chain into *x5c (leaf
 * first; the caller's), the leaf's key verifying the signature, the
 * chain verified to the root as of the leaf's last second (so that an
 * expired certificate still proves whose it is), clientAuth, audience
 * .../renew, sub the leaf's CN, the times, a jti.  The provisioner is
 * the certificate's: set by the caller from its row.
 */
static int
renew_token_verify(struct authority *a, const char *tok, int64_t now,
    struct token *t, STACK_OF(X509) **x5c, int *st)
{
	char cn[CA_MAX_SAN_LEN + 1];
	struct jws jws;
	json_t *accepted;
	X509 *leaf;
	int rc;

	memset(t, 0, sizeof(*t));
	memset(&jws, 0, sizeof(jws));
	*x5c = NULL;
	if (tok == NULL || tok[0] == '\0')
		return fail(st, 401, CA_REFUSED, "token rejected: no token");
	if (strlen(tok) > CA_MAX_JWT)
		return fail(st, 401, CA_INPUT, "token rejected: longer than %d bytes", CA_MAX_JWT);
	if ((rc = jws_parse(tok, strlen(tok), &jws)) != CA_OK) {
		err_prefix("token rejected");
		*st = 401;
		return rc;
	}
	if ((rc = x5c_header(&jws, 1, x5c, st)) != CA_OK)
		goto out;
	leaf = sk_X509_value(*x5c, 0);
	/* Whoever signed it holds the key of the certificate. */
	if ((rc = jws_verify(&jws, X509_get0_pubkey(leaf))) != CA_OK) {
		err_prefix("token rejected");
		*st = 401;
		rc = CA_REFUSED;
		goto out;
	}
	/* ...which this CA's root vouches for, expired or not. */
	if ((rc = client_chain_verify(a, *x5c,
	    x509_time(X509_get0_notAfter(leaf)) - 1, &leaf, st)) != CA_OK) {
		if (rc == CA_REFUSED)
			err_prefix("token rejected: x5c");
		goto out;
	}
	accepted = token_audiences(a->conf, "renew");
	rc = aud_ok(json_object_get(jws.claims, "aud"), accepted);
	json_decref(accepted);
	if (!rc) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: audience mismatch (not a renew token for this CA)");
		goto out;
	}
	t->sub = json_string_value(json_object_get(jws.claims, "sub"));
	if ((rc = x509_subject_cn(X509_get_subject_name(leaf), cn,
	    sizeof(cn))) != CA_OK) {
		rc = status_of(st, rc);
		goto out;
	}
	if (t->sub == NULL || !(cn[0] != '\0' ? strcmp(t->sub, cn) == 0 :
	    leaf_has_san(leaf, t->sub))) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: subject (sub) is not the certificate's common name");
		goto out;
	}
	if ((rc = token_times(jws.claims, now,
	    AUTHORITY_RENEW_TOKEN_LIFE + TOKEN_LEEWAY, t, st)) != CA_OK)
		goto out;
	t->jti = json_string_value(json_object_get(jws.claims, "jti"));
	if (t->jti == NULL || t->jti[0] == '\0' || strlen(t->jti) > TOKEN_MAX_JTI) {
		rc = fail(st, 401, CA_REFUSED, "token rejected: missing or oversized jti");
		goto out;
	}
	t->claims = json_incref(jws.claims);
	rc = CA_OK;
out:
	jws_free(&jws);
	if (rc != CA_OK) {
		memset(t, 0, sizeof(*t));
		sk_X509_pop_free(*x5c, X509_free);
		*x5c = NULL;
	}
	return rc;
}

/*
 * The rules every renewal path shares, for the authenticated cert: it
 * is a stored row byte for byte, not revoked (so far: again under the
 * write lock), its provisioner is still there and allows renewal, and
 * it is within its validity (or expired within the claims' allowance,
 * by token only).  p->old gets the row, p->t the provisioner, *c its
 * claims.
 */
static int
renew_rules(struct authority *a, enum renew_method how, X509 *cert,
    struct issue *p, struct claims *c, int *st)
{
	unsigned char *der = NULL;
	char *serial, when[64], cap[32];
	const json_t *prov;
	int64_t nb, na;
	int rc, n;

	if ((serial = x509_serial_dec(cert)) == NULL ||
	    (n = i2d_X509(cert, &der)) <= 0) {
		rc = fail(st, 500, CA_FAIL, "encoding the certificate failed");
		goto out;
	}
	if ((rc = db_get_cert(a->db, serial, &p->old)) != CA_OK) {
		status_of(st, rc);
		goto out;
	}
	/* Only what this CA issued and recorded is renewed: every byte. */
	if (p->old == NULL) {
		rc = fail(st, 401, CA_REFUSED, "certificate %s was not issued by this CA", serial);
		goto out;
	}
	if (p->old->cert.der_len != (size_t)n ||
	    memcmp(p->old->cert.der, der, (size_t)n) != 0) {
		rc = fail(st, 401, CA_REFUSED, "certificate %s is not the one this CA issued with that serial",
		    serial);
		goto out;
	}
	if (p->old->revoked) {
		rc = fail(st, 403, CA_REFUSED, "certificate %s is revoked", serial);
		goto out;
	}
	prov = prov_by_name(a, p->old->cert.provisioner, NULL);
	if (prov == NULL) {
		rc = fail(st, 403, CA_REFUSED, "certificate %s: its provisioner %s is no longer in ca.json",
		    serial, p->old->cert.provisioner);
		goto out;
	}
	if ((rc = prov_claims(a, prov, c, st)) != CA_OK)
		goto out;
	if (c->disable_renewal) {
		rc = fail(st, 403, CA_REFUSED, "renewal is disabled for provisioner %s (disableRenewal)",
		    p->old->cert.provisioner);
		goto out;
	}
	nb = x509_time(X509_get0_notBefore(cert));
	na = x509_time(X509_get0_notAfter(cert));
	if (p->now < nb) {
		time_fmt(nb, when, sizeof(when));
		rc = fail(st, 403, CA_REFUSED, "certificate %s is not valid before %s", serial, when);
		goto out;
	}
	if (p->now > na) {
		time_fmt(na, when, sizeof(when));
		time_fmt_duration(c->renew_expired_max, cap, sizeof(cap));
		if (!c->renew_expired)
			rc = fail(st, 403, CA_REFUSED, "certificate %s expired at %s (allowRenewalAfterExpiry is off)",
			    serial, when);
		else if (how != RENEW_TOKEN)
			rc = fail(st, 403, CA_REFUSED, "certificate %s expired at %s: an expired certificate is renewed only with a renewal token",
			    serial, when);
		else if (p->now - na > c->renew_expired_max)
			rc = fail(st, 403, CA_REFUSED, "certificate %s expired at %s, more than %s ago (maxRenewalAfterExpiry)",
			    serial, when, cap);
		if (rc != CA_OK)
			goto out;
	}
	p->t.prov = prov;
	p->t.prov_name = p->old->cert.provisioner;
	rc = CA_OK;
out:
	OPENSSL_free(serial);
	OPENSSL_free(der);
	return rc;
}

/*
 * Every check of a renewal, and the signing, before the database is
 * written: the holder authenticated by the method's own means, then the
 * shared rules, today's policy, the lifetime.
 */
static int
renew_prepare(struct authority *a, const struct renew_request *r,
    struct issue *p, int *st)
{
	STACK_OF(X509) *x5c = NULL;
	GENERAL_NAMES *gens;
	const X509_PUBKEY *spki;
	EVP_PKEY *pub;
	X509 *cert = NULL;
	struct claims c;
	int64_t nb, na, life, ca_end;
	int rc, crit = -1;

	memset(p, 0, sizeof(*p));
	p->now = (int64_t)time(NULL);
	switch (r->method) {
	case RENEW_OFFLINE:
		cert = r->cert;
		break;
	case RENEW_MTLS:
		if ((rc = peer_verify(a, r->peer, p->now, st)) != CA_OK)
			return rc;
		cert = sk_X509_value(r->peer, 0);
		break;
	case RENEW_TOKEN:
		if ((rc = renew_token_verify(a, r->token, p->now, &p->t,
		    &x5c, st)) != CA_OK)
			return rc;
		cert = sk_X509_value(x5c, 0);
		break;
	}
	if (cert == NULL) {
		rc = fail(st, 400, CA_INPUT, "no certificate to renew");
		goto out;
	}
	if (r->csr != NULL && r->method != RENEW_MTLS) {
		rc = fail(st, 403, CA_REFUSED, "a new key (rekey) needs the certificate over mTLS");
		goto out;
	}
	if ((rc = renew_rules(a, r->method, cert, p, &c, st)) != CA_OK)
		goto out;

	/* The same names, as today's policy sees them. */
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL && crit != -1) {
		rc = fail(st, 500, CA_FAIL, "certificate: subjectAltName does not decode");
		goto out;
	}
	rc = gens != NULL ? sans_from_general_names(gens, &p->names) : CA_OK;
	GENERAL_NAMES_free(gens);
	if (rc != CA_OK) {
		status_of(st, rc == CA_INPUT ? CA_FAIL : rc);
		goto out;
	}
	/*
	 * The subject as the row records it: the certificate's CN, or the
	 * name too long for one (x509_issue leaves it out again).
	 */
	if (strlen(p->old->cert.subject) >= sizeof(p->cn)) {
		rc = fail(st, 500, CA_FAIL, "certificate %s: subject too long", p->old->cert.serial);
		goto out;
	}
	memcpy(p->cn, p->old->cert.subject, strlen(p->old->cert.subject) + 1);
	if ((rc = policy_check(a->policy, &p->names,
	    p->cn[0] != '\0' ? p->cn : NULL)) != CA_OK) {
		status_of(st, rc);
		goto out;
	}

	/* The old lifetime, within today's maximum, from now. */
	life = x509_time(X509_get0_notAfter(cert)) -
	    x509_time(X509_get0_notBefore(cert));
	if (life > c.max + a->backdate)
		life = c.max + a->backdate;
	nb = p->now - a->backdate;
	na = nb + life;
	ca_end = x509_time(X509_get0_notAfter(sk_X509_value(a->chain, 0)));
	if (nb >= ca_end) {
		rc = fail(st, 403, CA_REFUSED, "notBefore is after the intermediate CA expires");
		goto out;
	}
	if (r->csr != NULL) {
		if ((rc = csr_check(r->csr)) != CA_OK) {
			status_of(st, rc);
			goto out;
		}
		pub = X509_REQ_get0_pubkey(r->csr);
		spki = X509_REQ_get_X509_PUBKEY(r->csr);
	} else {
		pub = X509_get0_pubkey(cert);
		spki = X509_get_X509_PUBKEY(cert);
	}
	if ((rc = issue_sign(a, p, pub, spki, nb, na, st)) != CA_OK)
		goto out;
	p->row.renewed_from = p->old->cert.serial;
out:
	sk_X509_pop_free(x5c, X509_free);
	return rc;
}

static int
renew_at(struct authority *a, const void *arg, size_t i, struct issue *p,
    int *st)
{
	return renew_prepare(a, ((const struct authority_renewal *)arg)[i].req,
	    p, st);
}

void
authority_renew_batch(struct authority *a, struct authority_renewal *s,
    size_t n)
{
	struct slot *sl;
	size_t i;

	sl = batch_run(a, n, renew_at, s);
	for (i = 0; i < n; i++)
		slot_give(sl != NULL ? &sl[i] : NULL, &s[i].crt, &s[i].res,
		    &s[i].msg);
	free(sl);
}

struct authority_result
authority_renew(struct authority *a, const struct renew_request *r, X509 **crt)
{
	struct authority_renewal s;

	memset(&s, 0, sizeof(s));
	s.req = r;
	return batch_one(a, renew_at, &s, crt);
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

const struct crl_conf *
authority_crl_conf(struct authority *a)
{
	return &a->crl;
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
