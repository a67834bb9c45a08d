/*
 * jose: JWK, JWS and JWE for inca.  See jose.h for the contract.
 *
 * Everything here treats tokens as hostile: sizes are checked before
 * anything is decoded, every decode is strict, and every check fails
 * closed.  Only OpenSSL 3 EVP / OSSL_PARAM interfaces are used.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "b64.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "jsonerr.h"
#include "key.h"
#include "ca_limits.h"

#define PBES2_ALG	"PBES2-HS256+A128KW"
#define PBES2_ENC	"A256GCM"
#define KEK_LEN		16	/* A128KW */
#define CEK_LEN		32	/* A256GCM */
#define WRAPPED_LEN	(CEK_LEN + 8)
#define GCM_IV_LEN	12
#define GCM_TAG_LEN	16
#define EC_MAX_SIZE	66	/* bytes of a P-521 coordinate */

struct curve {
	const char *crv;	/* JWK "crv" */
	const char *group;	/* OpenSSL group name */
	int nid;
	const char *alg;	/* JWS alg */
	const char *md;		/* its digest */
	size_t size;		/* bytes of x, y, d, r and s */
};

static const struct curve curves[] = {
	{ "P-256", "prime256v1", NID_X9_62_prime256v1, "ES256", "SHA256", 32 },
	{ "P-384", "secp384r1", NID_secp384r1, "ES384", "SHA384", 48 },
	{ "P-521", "secp521r1", NID_secp521r1, "ES512", "SHA512", 66 },
};
#define NCURVES (sizeof(curves) / sizeof(curves[0]))

enum kind { K_EC, K_RSA, K_ED25519 };

/* ---- key classification -------------------------------------------- */

static const struct curve *
curve_by_crv(const char *crv)
{
	size_t i;

	for (i = 0; i < NCURVES; i++)
		if (strcmp(curves[i].crv, crv) == 0)
			return &curves[i];
	return NULL;
}

/*
 * What key is, and for EC its curve.  OpenSSL may name a group "P-256"
 * or "prime256v1" depending on how the key was made, so compare NIDs.
 */
static int
key_kind(EVP_PKEY *key, enum kind *kind, const struct curve **cv)
{
	char name[80];
	size_t i, n;
	int nid;

	*cv = NULL;
	if (key == NULL)
		return err_set(CA_FAIL, "jose: no key");
	if (EVP_PKEY_is_a(key, "RSA")) {
		*kind = K_RSA;
		return CA_OK;
	}
	if (EVP_PKEY_is_a(key, "ED25519")) {
		*kind = K_ED25519;
		return CA_OK;
	}
	if (!EVP_PKEY_is_a(key, "EC"))
		return err_set(CA_INPUT, "jose: unsupported key type %s",
		    EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) :
		    "(unknown)");
	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	    name, sizeof(name), &n)) {
		ERR_clear_error();
		return err_set(CA_INPUT, "jose: EC key without a named curve");
	}
	if ((nid = OBJ_txt2nid(name)) == NID_undef)
		nid = EC_curve_nist2nid(name);
	for (i = 0; i < NCURVES; i++) {
		if (curves[i].nid == nid) {
			*kind = K_EC;
			*cv = &curves[i];
			return CA_OK;
		}
	}
	ERR_clear_error();
	return err_set(CA_INPUT, "jose: unsupported EC curve %s", name);
}

/* The algorithm for the type of key, whatever its size. */
static int
type_alg(EVP_PKEY *key, enum kind *kind, const char **alg)
{
	const struct curve *cv;
	int rc;

	*alg = NULL;
	if ((rc = key_kind(key, kind, &cv)) != CA_OK)
		return rc;
	switch (*kind) {
	case K_EC:
		*alg = cv->alg;
		break;
	case K_RSA:
		*alg = "RS256";
		break;
	case K_ED25519:
		*alg = "EdDSA";
		break;
	}
	return CA_OK;
}

int
jose_key_alg(EVP_PKEY *key, const char **alg)
{
	enum kind kind;
	int rc, bits;

	if ((rc = type_alg(key, &kind, alg)) != CA_OK)
		return rc;
	if (kind == K_RSA &&
	    (bits = EVP_PKEY_get_bits(key)) < JOSE_RSA_MIN_BITS) {
		*alg = NULL;
		return err_set(CA_REFUSED,
		    "jose: RSA key of %d bits is below %d", bits,
		    JOSE_RSA_MIN_BITS);
	}
	return CA_OK;
}

/* The digest name for a JWS alg; NULL for EdDSA (no pre-hash). */
static const char *
alg_md(const char *alg)
{
	size_t i;

	if (strcmp(alg, "RS256") == 0)
		return "SHA256";
	for (i = 0; i < NCURVES; i++)
		if (strcmp(curves[i].alg, alg) == 0)
			return curves[i].md;
	return NULL;
}

/* ---- JSON helpers -------------------------------------------------- */

static void
wipe_strings(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_STRING:
		/* jansson owns the buffer; wiping in place is why this is
		 * only for the last reference. */
		OPENSSL_cleanse((char *)json_string_value(j),
		    json_string_length(j));
		break;
	case JSON_OBJECT:
		json_object_foreach(j, k, v)
			wipe_strings(v);
		break;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
			wipe_strings(v);
		break;
	default:
		break;
	}
}

void
jose_json_wipe(json_t *j)
{
	if (j == NULL)
		return;
	wipe_strings(j);
	json_decref(j);
}

char *
jose_json_dumps_secret(const json_t *j, size_t flags)
{
	size_t n, m;
	char *s;

	/*
	 * json_dumps() grows a buffer with realloc, leaving copies of the
	 * text in freed memory; json_dumpb() writes into ours, sized first.
	 */
	if ((n = json_dumpb(j, NULL, 0, flags)) == 0) {
		err_set(CA_FAIL, "encoding JSON failed");
		return NULL;
	}
	if ((s = malloc(n + 1)) == NULL) {
		err_set(CA_FAIL, "out of memory");
		return NULL;
	}
	if ((m = json_dumpb(j, s, n, flags)) != n) {
		OPENSSL_cleanse(s, m < n ? m : n);
		free(s);
		err_set(CA_FAIL, "encoding JSON failed");
		return NULL;
	}
	s[n] = '\0';
	return s;
}

/*
 * Parse len bytes of JSON that must be an object; duplicate members are
 * refused because two parsers could otherwise read different values.
 */
static json_t *
load_object(const unsigned char *p, size_t len, const char *what)
{
	json_error_t jerr;
	json_t *j;
	char why[JSONERR_LEN];

	if ((j = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		err_set(CA_INPUT, "%s: invalid JSON: %s", what,
		    jsonerr_text(&jerr, why, sizeof(why)));
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		err_set(CA_INPUT, "%s: not a JSON object", what);
		return NULL;
	}
	return j;
}

/* Set obj[name] to the base64url of p; CA_FAIL when out of memory. */
static int
set_b64(json_t *obj, const char *name, const unsigned char *p, size_t n)
{
	char *s;
	int r;

	if ((s = b64url_encode(p, n)) == NULL)
		return CA_FAIL;
	r = json_object_set_new(obj, name, json_string(s));
	io_wipe_str(s);
	if (r != 0)
		return err_set(CA_FAIL, "out of memory");
	return CA_OK;
}

/*
 * Set obj[name] to a big-endian BIGNUM, left-padded to pad bytes, or in
 * the fewest bytes (at least one) when pad is 0.
 */
static int
set_bn(json_t *obj, const char *name, const BIGNUM *bn, size_t pad)
{
	unsigned char *p;
	size_t n;
	int rc;

	n = pad ? pad : (size_t)BN_num_bytes(bn);
	if (n == 0)
		n = 1;
	if ((p = malloc(n)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if (BN_bn2binpad(bn, p, (int)n) < 0) {
		free(p);
		return err_set(CA_FAIL, "jwk: %s does not fit %zu bytes",
		    name, n);
	}
	rc = set_b64(obj, name, p, n);
	OPENSSL_cleanse(p, n);
	free(p);
	return rc;
}

/* A BIGNUM parameter of key, or NULL (error queue cleared) if absent. */
static BIGNUM *
get_bn(EVP_PKEY *key, const char *param)
{
	BIGNUM *bn = NULL;

	if (!EVP_PKEY_get_bn_param(key, param, &bn)) {
		ERR_clear_error();
		return NULL;
	}
	return bn;
}

/* ---- JWK import ---------------------------------------------------- */

/*
 * Decode jwk[name] into out.  Absent: out->data stays NULL, and that is
 * CA_INPUT only when required.  Present: a string in strict base64url.
 */
static int
member_b64(const json_t *jwk, const char *name, int required,
    struct buf *out)
{
	json_t *v;
	int rc;

	out->data = NULL;
	out->len = 0;
	if ((v = json_object_get(jwk, name)) == NULL) {
		if (required)
			return err_set(CA_INPUT, "jwk: missing \"%s\"", name);
		return CA_OK;
	}
	if (!json_is_string(v))
		return err_set(CA_INPUT, "jwk: \"%s\" is not a string", name);
	if ((rc = b64url_decode(json_string_value(v), json_string_length(v),
	    out)) != CA_OK) {
		err_prefix("jwk: \"%s\"", name);
		return rc;
	}
	return CA_OK;
}

/* A required string member, or NULL with CA_INPUT recorded. */
static const char *
member_str(const json_t *jwk, const char *name)
{
	json_t *v;

	if ((v = json_object_get(jwk, name)) == NULL) {
		err_set(CA_INPUT, "jwk: missing \"%s\"", name);
		return NULL;
	}
	if (!json_is_string(v)) {
		err_set(CA_INPUT, "jwk: \"%s\" is not a string", name);
		return NULL;
	}
	return json_string_value(v);
}

/*
 * EVP_PKEY_fromdata, then the checks OpenSSL does not do while building:
 * a private key must match its public half (and be in range), an EC
 * public point must be valid.
 */
static int
pkey_fromdata(const char *type, int selection, OSSL_PARAM *params,
    EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx, *cctx;
	int ok;

	*out = NULL;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL)
		return err_ssl(CA_FAIL, "jwk: %s", type);
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, selection, params) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		EVP_PKEY_free(*out);
		*out = NULL;
		return err_ssl(CA_INPUT, "jwk: invalid %s key", type);
	}
	EVP_PKEY_CTX_free(ctx);
	if ((cctx = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL)) == NULL) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return err_ssl(CA_FAIL, "jwk: %s", type);
	}
	if (selection == EVP_PKEY_KEYPAIR)
		ok = EVP_PKEY_pairwise_check(cctx) == 1;
	else if (strcmp(type, "EC") == 0)
		ok = EVP_PKEY_public_check(cctx) == 1;
	else
		ok = 1;
	EVP_PKEY_CTX_free(cctx);
	if (!ok) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return err_ssl(CA_INPUT, "jwk: %s",
		    selection == EVP_PKEY_KEYPAIR ?
		    "private key invalid or does not match public key" :
		    "invalid public key");
	}
	return CA_OK;
}

/* A BIGNUM, in secure memory when it will hold a secret. */
static BIGNUM *
bin2bn(const struct buf *b, int secret)
{
	BIGNUM *bn;

	bn = secret ? BN_secure_new() : BN_new();
	if (bn == NULL)
		return NULL;
	if (BN_bin2bn(b->data, (int)b->len, bn) == NULL) {
		BN_clear_free(bn);
		return NULL;
	}
	return bn;
}

static int
import_ec(const json_t *jwk, int priv, EVP_PKEY **out)
{
	unsigned char pub[1 + 2 * EC_MAX_SIZE];
	struct buf x, y, d;
	const struct curve *cv;
	const char *crv;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *dbn = NULL;
	int rc;

	x.data = y.data = d.data = NULL;
	x.len = y.len = d.len = 0;
	if ((crv = member_str(jwk, "crv")) == NULL)
		return CA_INPUT;
	if ((cv = curve_by_crv(crv)) == NULL)
		return err_set(CA_INPUT, "jwk: unsupported EC crv \"%.40s\"",
		    crv);
	if ((rc = member_b64(jwk, "x", 1, &x)) != CA_OK ||
	    (rc = member_b64(jwk, "y", 1, &y)) != CA_OK ||
	    (priv && (rc = member_b64(jwk, "d", 1, &d)) != CA_OK))
		goto done;
	rc = CA_INPUT;
	if (x.len != cv->size || y.len != cv->size) {
		err_set(CA_INPUT, "jwk: %s coordinates must be %zu bytes",
		    cv->crv, cv->size);
		goto done;
	}
	if (priv && d.len != cv->size) {
		err_set(CA_INPUT, "jwk: %s \"d\" must be %zu bytes",
		    cv->crv, cv->size);
		goto done;
	}
	pub[0] = 0x04;	/* uncompressed point */
	memcpy(pub + 1, x.data, cv->size);
	memcpy(pub + 1 + cv->size, y.data, cv->size);
	rc = CA_FAIL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    cv->group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, 1 + 2 * cv->size)) {
		err_ssl(CA_FAIL, "jwk: building EC key");
		goto done;
	}
	if (priv && ((dbn = bin2bn(&d, 1)) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, dbn))) {
		err_ssl(CA_FAIL, "jwk: building EC key");
		goto done;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		err_ssl(CA_FAIL, "jwk: building EC key");
		goto done;
	}
	rc = pkey_fromdata("EC", priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
	    params, out);
done:
	/* The builder copied dbn into secure memory; OSSL_PARAM_free wipes
	 * that copy. */
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(dbn);
	buf_free(&x);
	buf_free(&y);
	buf_free(&d);
	return rc;
}

static const char *const rsa_priv_members[] = {
	"d", "p", "q", "dp", "dq", "qi"
};
static const char *const rsa_priv_params[] = {
	OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
	OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
	OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1
};
#define RSA_NPRIV 6

static int
import_rsa(const json_t *jwk, int priv, EVP_PKEY **out)
{
	struct buf n, e, pm[RSA_NPRIV];
	BIGNUM *nbn = NULL, *ebn = NULL, *pbn[RSA_NPRIV];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	size_t i;
	int rc;

	n.data = e.data = NULL;
	n.len = e.len = 0;
	for (i = 0; i < RSA_NPRIV; i++) {
		pm[i].data = NULL;
		pm[i].len = 0;
		pbn[i] = NULL;
	}
	if (json_object_get(jwk, "oth") != NULL)
		return err_set(CA_INPUT, "jwk: multi-prime RSA not supported");
	if ((rc = member_b64(jwk, "n", 1, &n)) != CA_OK ||
	    (rc = member_b64(jwk, "e", 1, &e)) != CA_OK)
		goto done;
	for (i = 0; i < RSA_NPRIV; i++) {
		/* Without "d" no CRT member may appear, with it all must. */
		if (!priv && json_object_get(jwk, rsa_priv_members[i]) != NULL) {
			rc = err_set(CA_INPUT, "jwk: \"%s\" without \"d\"",
			    rsa_priv_members[i]);
			goto done;
		}
		if (priv && (rc = member_b64(jwk, rsa_priv_members[i], 1,
		    &pm[i])) != CA_OK)
			goto done;
		if (priv && pm[i].len == 0) {
			rc = err_set(CA_INPUT, "jwk: \"%s\" is empty",
			    rsa_priv_members[i]);
			goto done;
		}
	}
	/*
	 * n and e are Base64urlUInt: minimal, so that one key has one
	 * thumbprint.  The size caps bound the cost of a verification.
	 */
	rc = CA_INPUT;
	if (n.len == 0 || n.data[0] == 0 || e.len == 0 || e.data[0] == 0) {
		err_set(CA_INPUT, "jwk: RSA \"n\" and \"e\" must be non-empty "
		    "without leading zero octets");
		goto done;
	}
	if (n.len > JOSE_RSA_MAX_BITS / 8) {
		err_set(CA_INPUT, "jwk: RSA modulus larger than %d bits",
		    JOSE_RSA_MAX_BITS);
		goto done;
	}
	if (e.len > 8 || (e.data[e.len - 1] & 1) == 0 ||
	    (e.len == 1 && e.data[0] == 1) || (n.data[n.len - 1] & 1) == 0) {
		err_set(CA_INPUT, "jwk: invalid RSA public key");
		goto done;
	}
	rc = CA_FAIL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    (nbn = bin2bn(&n, 0)) == NULL || (ebn = bin2bn(&e, 0)) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, nbn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, ebn)) {
		err_ssl(CA_FAIL, "jwk: building RSA key");
		goto done;
	}
	for (i = 0; priv && i < RSA_NPRIV; i++) {
		if ((pbn[i] = bin2bn(&pm[i], 1)) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, rsa_priv_params[i], pbn[i])) {
			err_ssl(CA_FAIL, "jwk: building RSA key");
			goto done;
		}
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		err_ssl(CA_FAIL, "jwk: building RSA key");
		goto done;
	}
	rc = pkey_fromdata("RSA", priv ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params, out);
done:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(nbn);
	BN_free(ebn);
	buf_free(&n);
	buf_free(&e);
	for (i = 0; i < RSA_NPRIV; i++) {
		BN_clear_free(pbn[i]);
		buf_free(&pm[i]);
	}
	return rc;
}

static int
import_okp(const json_t *jwk, int priv, EVP_PKEY **out)
{
	OSSL_PARAM params[3];
	struct buf x, d;
	const char *crv;
	int rc, np = 0;

	x.data = d.data = NULL;
	x.len = d.len = 0;
	if ((crv = member_str(jwk, "crv")) == NULL)
		return CA_INPUT;
	if (strcmp(crv, "Ed25519") != 0)
		return err_set(CA_INPUT, "jwk: unsupported OKP crv \"%.40s\"",
		    crv);
	if ((rc = member_b64(jwk, "x", 1, &x)) != CA_OK ||
	    (priv && (rc = member_b64(jwk, "d", 1, &d)) != CA_OK))
		goto done;
	if (x.len != 32 || (priv && d.len != 32)) {
		rc = err_set(CA_INPUT, "jwk: Ed25519 \"x\" and \"d\" must be "
		    "32 bytes");
		goto done;
	}
	/* The params point at x and d; nothing is copied outside them. */
	params[np++] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, x.data, x.len);
	if (priv)
		params[np++] = OSSL_PARAM_construct_octet_string(
		    OSSL_PKEY_PARAM_PRIV_KEY, d.data, d.len);
	params[np] = OSSL_PARAM_construct_end();
	rc = pkey_fromdata("ED25519", priv ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params, out);
done:
	buf_free(&x);
	buf_free(&d);
	return rc;
}

int
jwk_import(const json_t *jwk, enum jwk_part part, EVP_PKEY **out)
{
	const char *kty, *want;
	enum kind kind;
	json_t *alg;
	int priv, rc;

	*out = NULL;
	if (!json_is_object(jwk))
		return err_set(CA_INPUT, "jwk: not a JSON object");
	if ((kty = member_str(jwk, "kty")) == NULL)
		return CA_INPUT;
	priv = json_object_get(jwk, "d") != NULL;
	if (priv && part == JWK_PUBLIC)
		return err_set(CA_INPUT,
		    "jwk: private key where a public key is expected");
	if (!priv && part == JWK_PRIVATE)
		return err_set(CA_INPUT, "jwk: not a private key (no \"d\")");
	if (strcmp(kty, "EC") == 0)
		rc = import_ec(jwk, priv, out);
	else if (strcmp(kty, "RSA") == 0)
		rc = import_rsa(jwk, priv, out);
	else if (strcmp(kty, "OKP") == 0)
		rc = import_okp(jwk, priv, out);
	else
		rc = err_set(CA_INPUT, "jwk: unsupported kty \"%.40s\"", kty);
	if (rc != CA_OK)
		return rc;
	/* A provisioner's key passes the same rule as a certified key. */
	if ((rc = key_check(*out)) != CA_OK) {
		err_prefix("jwk");
		EVP_PKEY_free(*out);
		*out = NULL;
		return rc;
	}
	/* A stated alg must be the one this type of key is used with. */
	if ((alg = json_object_get(jwk, "alg")) != NULL) {
		if (!json_is_string(alg))
			rc = err_set(CA_INPUT, "jwk: \"alg\" is not a string");
		else if ((rc = type_alg(*out, &kind, &want)) == CA_OK &&
		    strcmp(json_string_value(alg), want) != 0)
			rc = err_set(CA_INPUT,
			    "jwk: alg \"%.40s\" does not match the key (%s)",
			    json_string_value(alg), want);
		if (rc != CA_OK) {
			EVP_PKEY_free(*out);
			*out = NULL;
		}
	}
	return rc;
}

/* ---- JWK export ---------------------------------------------------- */

static int
export_ec(EVP_PKEY *key, const struct curve *cv, int priv, json_t *j)
{
	BIGNUM *x, *y, *d = NULL;
	int rc;

	x = get_bn(key, OSSL_PKEY_PARAM_EC_PUB_X);
	y = get_bn(key, OSSL_PKEY_PARAM_EC_PUB_Y);
	if (priv)
		d = get_bn(key, OSSL_PKEY_PARAM_PRIV_KEY);
	if (x == NULL || y == NULL)
		rc = err_set(CA_INPUT, "jwk: EC key without a public point");
	else if (priv && d == NULL)
		rc = err_set(CA_INPUT, "jwk: not a private key");
	else if (json_object_set_new(j, "kty", json_string("EC")) != 0 ||
	    json_object_set_new(j, "crv", json_string(cv->crv)) != 0)
		rc = err_set(CA_FAIL, "out of memory");
	else if ((rc = set_bn(j, "x", x, cv->size)) == CA_OK &&
	    (rc = set_bn(j, "y", y, cv->size)) == CA_OK && priv)
		rc = set_bn(j, "d", d, cv->size);
	BN_free(x);
	BN_free(y);
	BN_clear_free(d);
	return rc;
}

static int
export_rsa(EVP_PKEY *key, int priv, json_t *j)
{
	BIGNUM *n, *e, *p[RSA_NPRIV], *f3;
	size_t i;
	int rc;

	n = get_bn(key, OSSL_PKEY_PARAM_RSA_N);
	e = get_bn(key, OSSL_PKEY_PARAM_RSA_E);
	for (i = 0; i < RSA_NPRIV; i++)
		p[i] = priv ? get_bn(key, rsa_priv_params[i]) : NULL;
	if (n == NULL || e == NULL) {
		rc = err_set(CA_INPUT, "jwk: RSA key without n and e");
		goto done;
	}
	if (json_object_set_new(j, "kty", json_string("RSA")) != 0) {
		rc = err_set(CA_FAIL, "out of memory");
		goto done;
	}
	if ((rc = set_bn(j, "n", n, 0)) != CA_OK ||
	    (rc = set_bn(j, "e", e, 0)) != CA_OK || !priv)
		goto done;
	if ((f3 = get_bn(key, OSSL_PKEY_PARAM_RSA_FACTOR3)) != NULL) {
		BN_clear_free(f3);
		rc = err_set(CA_INPUT, "jwk: multi-prime RSA not supported");
		goto done;
	}
	for (i = 0; i < RSA_NPRIV; i++) {
		if (p[i] == NULL) {
			rc = err_set(CA_INPUT, "jwk: RSA private key without "
			    "\"%s\"", rsa_priv_members[i]);
			goto done;
		}
		if ((rc = set_bn(j, rsa_priv_members[i], p[i], 0)) != CA_OK)
			goto done;
	}
done:
	BN_free(n);
	BN_free(e);
	for (i = 0; i < RSA_NPRIV; i++)
		BN_clear_free(p[i]);
	return rc;
}

static int
export_okp(EVP_PKEY *key, int priv, json_t *j)
{
	unsigned char x[32], d[32];
	size_t xl = sizeof(x), dl = sizeof(d);
	int rc;

	if (EVP_PKEY_get_raw_public_key(key, x, &xl) != 1 || xl != 32)
		return err_ssl(CA_INPUT, "jwk: Ed25519 public key");
	if (priv && (EVP_PKEY_get_raw_private_key(key, d, &dl) != 1 ||
	    dl != 32)) {
		OPENSSL_cleanse(d, sizeof(d));
		return err_ssl(CA_INPUT, "jwk: not a private key");
	}
	if (json_object_set_new(j, "kty", json_string("OKP")) != 0 ||
	    json_object_set_new(j, "crv", json_string("Ed25519")) != 0)
		rc = err_set(CA_FAIL, "out of memory");
	else if ((rc = set_b64(j, "x", x, xl)) == CA_OK && priv)
		rc = set_b64(j, "d", d, dl);
	OPENSSL_cleanse(d, sizeof(d));
	return rc;
}

json_t *
jwk_export(EVP_PKEY *key, int with_private)
{
	const struct curve *cv;
	enum kind kind;
	json_t *j;
	int rc;

	if (key_kind(key, &kind, &cv) != CA_OK)
		return NULL;
	if ((j = json_object()) == NULL) {
		err_set(CA_FAIL, "out of memory");
		return NULL;
	}
	switch (kind) {
	case K_EC:
		rc = export_ec(key, cv, with_private, j);
		break;
	case K_RSA:
		rc = export_rsa(key, with_private, j);
		break;
	default:
		rc = export_okp(key, with_private, j);
		break;
	}
	if (rc != CA_OK) {
		jose_json_wipe(j);
		return NULL;
	}
	return j;
}

char *
jwk_thumbprint(EVP_PKEY *key)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	json_t *j;
	char *s, *out;

	/*
	 * The public export holds exactly the members RFC 7638 section 3.2
	 * requires; sorted, compact, and with values that need no escaping
	 * it is the canonical form.
	 */
	if ((j = jwk_export(key, 0)) == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (s == NULL) {
		err_set(CA_FAIL, "out of memory");
		return NULL;
	}
	if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) != 1) {
		free(s);
		err_ssl(CA_FAIL, "jwk: thumbprint");
		return NULL;
	}
	free(s);
	out = b64url_encode(md, mdlen);
	return out;
}

/* ---- JWS ----------------------------------------------------------- */

/* Raw signature of in with key: r||s for ECDSA, as-is otherwise. */
static int
sign_raw(EVP_PKEY *key, const char *alg, const struct curve *cv,
    const unsigned char *in, size_t inlen, unsigned char **sig,
    size_t *siglen)
{
	EVP_MD_CTX *mctx;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL, *raw = NULL;
	const unsigned char *pp;
	const BIGNUM *r, *s;
	ECDSA_SIG *es = NULL;
	size_t derlen = 0;
	int rc = CA_FAIL;

	*sig = NULL;
	*siglen = 0;
	if ((mctx = EVP_MD_CTX_new()) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if (EVP_DigestSignInit_ex(mctx, &pctx, alg_md(alg), NULL, NULL, key,
	    NULL) != 1 ||
	    (strcmp(alg, "RS256") == 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) ||
	    EVP_DigestSign(mctx, NULL, &derlen, in, inlen) != 1 ||
	    (der = malloc(derlen)) == NULL ||
	    EVP_DigestSign(mctx, der, &derlen, in, inlen) != 1) {
		err_ssl(CA_FAIL, "jws: signing with %s", alg);
		goto done;
	}
	if (cv == NULL) {
		*sig = der;
		*siglen = derlen;
		der = NULL;
		rc = CA_OK;
		goto done;
	}
	/* JWS wants ECDSA as fixed-size big-endian r||s (RFC 7518 3.4). */
	pp = der;
	if ((es = d2i_ECDSA_SIG(NULL, &pp, (long)derlen)) == NULL ||
	    (raw = malloc(2 * cv->size)) == NULL) {
		err_ssl(CA_FAIL, "jws: ECDSA signature");
		goto done;
	}
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, raw, (int)cv->size) < 0 ||
	    BN_bn2binpad(s, raw + cv->size, (int)cv->size) < 0) {
		free(raw);
		err_set(CA_FAIL, "jws: ECDSA signature too large");
		goto done;
	}
	*sig = raw;
	*siglen = 2 * cv->size;
	rc = CA_OK;
done:
	ECDSA_SIG_free(es);
	free(der);
	EVP_MD_CTX_free(mctx);
	return rc;
}

static int
reserved_header(const char *k)
{
	return strcmp(k, "alg") == 0 || strcmp(k, "kid") == 0 ||
	    strcmp(k, "typ") == 0 || strcmp(k, "crit") == 0;
}

int
jws_sign(EVP_PKEY *key, const char *kid, const json_t *extra,
    const json_t *claims, char **out)
{
	const struct curve *cv;
	const char *alg, *k;
	enum kind kind;
	json_t *hdr = NULL, *v;
	char *thumb = NULL, *hjs = NULL, *pjs = NULL, *h64 = NULL,
	    *p64 = NULL, *s64 = NULL, *tok = NULL;
	unsigned char *sig = NULL;
	size_t siglen, hl, pl, sl, total;
	int rc;

	*out = NULL;
	if ((rc = key_kind(key, &kind, &cv)) != CA_OK ||
	    (rc = jose_key_alg(key, &alg)) != CA_OK)
		return rc;
	if (!json_is_object(claims))
		return err_set(CA_INPUT, "jws: claims must be a JSON object");
	if (extra != NULL && !json_is_object(extra))
		return err_set(CA_INPUT, "jws: extra header must be an object");
	if (kid == NULL && (kid = thumb = jwk_thumbprint(key)) == NULL)
		return err_code();
	rc = CA_FAIL;
	/* Members in this order: alg, kid, typ, then extra. */
	if ((hdr = json_object()) == NULL ||
	    json_object_set_new(hdr, "alg", json_string(alg)) != 0) {
		err_set(CA_FAIL, "out of memory");
		goto done;
	}
	if ((v = json_string(kid)) == NULL) {
		rc = err_set(CA_INPUT, "jws: kid is not UTF-8");
		goto done;
	}
	/* json_object_set_new() takes v even when it fails. */
	if (json_object_set_new(hdr, "kid", v) != 0 ||
	    json_object_set_new(hdr, "typ", json_string("JWT")) != 0) {
		err_set(CA_FAIL, "out of memory");
		goto done;
	}
	if (extra != NULL) {
		/* jansson has no const iterator; extra is only read. */
		json_object_foreach((json_t *)extra, k, v) {
			if (reserved_header(k)) {
				rc = err_set(CA_INPUT, "jws: header member "
				    "\"%s\" is set by the signer", k);
				goto done;
			}
			if (json_object_set_new(hdr, k, json_deep_copy(v)) != 0) {
				err_set(CA_FAIL, "out of memory");
				goto done;
			}
		}
	}
	if ((hjs = json_dumps(hdr, JSON_COMPACT)) == NULL ||
	    (pjs = json_dumps(claims, JSON_COMPACT)) == NULL) {
		err_set(CA_FAIL, "jws: cannot serialize JSON");
		goto done;
	}
	if ((h64 = b64url_encode(hjs, strlen(hjs))) == NULL ||
	    (p64 = b64url_encode(pjs, strlen(pjs))) == NULL)
		goto done;
	hl = strlen(h64);
	pl = strlen(p64);
	/* Signing input first, in the buffer that becomes the token. */
	if ((tok = malloc(hl + 1 + pl + 1)) == NULL) {
		err_set(CA_FAIL, "out of memory");
		goto done;
	}
	memcpy(tok, h64, hl);
	tok[hl] = '.';
	memcpy(tok + hl + 1, p64, pl);
	tok[hl + 1 + pl] = '\0';
	if ((rc = sign_raw(key, alg, cv, (unsigned char *)tok, hl + 1 + pl,
	    &sig, &siglen)) != CA_OK)
		goto done;
	rc = CA_FAIL;
	if ((s64 = b64url_encode(sig, siglen)) == NULL)
		goto done;
	sl = strlen(s64);
	total = hl + 1 + pl + 1 + sl;
	if (total > CA_MAX_JWT) {
		rc = err_set(CA_INPUT, "jws: token of %zu bytes exceeds %d",
		    total, CA_MAX_JWT);
		goto done;
	}
	if ((*out = malloc(total + 1)) == NULL) {
		err_set(CA_FAIL, "out of memory");
		goto done;
	}
	memcpy(*out, tok, hl + 1 + pl);
	(*out)[hl + 1 + pl] = '.';
	memcpy(*out + hl + 2 + pl, s64, sl + 1);
	rc = CA_OK;
done:
	json_decref(hdr);
	free(thumb);
	free(hjs);
	free(pjs);
	free(h64);
	free(p64);
	free(s64);
	free(tok);
	free(sig);
	return rc;
}

void
jws_free(struct jws *jws)
{
	if (jws == NULL)
		return;
	json_decref(jws->header);
	json_decref(jws->claims);
	free(jws->signing_input);
	free(jws->sig);
	memset(jws, 0, sizeof(*jws));
}

size_t
jose_split(const char *s, size_t len, size_t max, size_t *off, size_t *seglen)
{
	size_t i, k = 0, start = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (k == max)
			return max + 1;
		off[k] = start;
		seglen[k] = i - start;
		k++;
		start = i + 1;
	}
	return k;
}

/*
 * Split len bytes of s at '.' into exactly nseg segments; off[i] and
 * seglen[i] describe segment i.  CA_INPUT otherwise.
 */
static int
split_compact(const char *s, size_t len, size_t nseg, size_t *off,
    size_t *seglen, const char *what)
{
	size_t k = jose_split(s, len, nseg, off, seglen);

	if (k > nseg)
		return err_set(CA_INPUT,
		    "%s: more than %zu '.'-separated segments", what, nseg);
	if (k != nseg)
		return err_set(CA_INPUT, "%s: %zu segments, want %zu", what, k,
		    nseg);
	return CA_OK;
}

int
jws_parse(const char *token, size_t len, struct jws *out)
{
	static const char *const segname[3] = {
		"header", "payload", "signature"
	};
	struct buf seg[3];
	size_t off[3], sl[3], i;
	json_t *v;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(seg, 0, sizeof(seg));
	if (len > CA_MAX_JWT)
		return err_set(CA_INPUT, "jws: token of %zu bytes exceeds %d",
		    len, CA_MAX_JWT);
	if ((rc = split_compact(token, len, 3, off, sl, "jws")) != CA_OK)
		return rc;
	for (i = 0; i < 3; i++) {
		if ((rc = b64url_decode(token + off[i], sl[i], &seg[i])) !=
		    CA_OK) {
			err_prefix("jws: %s", segname[i]);
			goto fail;
		}
	}
	if (seg[2].len == 0) {
		rc = err_set(CA_INPUT, "jws: empty signature");
		goto fail;
	}
	rc = CA_INPUT;
	if ((out->header = load_object(seg[0].data, seg[0].len,
	    "jws: header")) == NULL ||
	    (out->claims = load_object(seg[1].data, seg[1].len,
	    "jws: payload")) == NULL)
		goto fail;
	if ((v = json_object_get(out->header, "alg")) == NULL ||
	    !json_is_string(v)) {
		err_set(CA_INPUT, "jws: header has no string \"alg\"");
		goto fail;
	}
	out->alg = json_string_value(v);
	if ((v = json_object_get(out->header, "kid")) != NULL) {
		if (!json_is_string(v)) {
			err_set(CA_INPUT, "jws: header \"kid\" is not a string");
			goto fail;
		}
		out->kid = json_string_value(v);
	}
	/* No extension is understood, so any critical one must fail. */
	if (json_object_get(out->header, "crit") != NULL) {
		rc = err_set(CA_REFUSED,
		    "jws: critical header extensions (crit) not supported");
		goto fail;
	}
	/* token is len bytes, not a C string: copied by its length. */
	out->signing_input_len = off[2] - 1;
	if ((out->signing_input = malloc(out->signing_input_len + 1)) == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto fail;
	}
	memcpy(out->signing_input, token, out->signing_input_len);
	out->signing_input[out->signing_input_len] = '\0';
	out->sig = seg[2].data;
	out->sig_len = seg[2].len;
	seg[2].data = NULL;
	buf_free(&seg[0]);
	buf_free(&seg[1]);
	return CA_OK;
fail:
	for (i = 0; i < 3; i++)
		buf_free(&seg[i]);
	jws_free(out);
	return rc;
}

/* 1 if the big-endian n bytes at p are zero or >= order. */
static int
scalar_out_of_range(const unsigned char *p, size_t n, const BIGNUM *order)
{
	BIGNUM *b;
	int bad;

	if ((b = BN_bin2bn(p, (int)n, NULL)) == NULL)
		return 1;
	bad = BN_is_zero(b) || BN_cmp(b, order) >= 0;
	BN_free(b);
	return bad;
}

/* ECDSA r||s to the DER the EVP interface verifies; NULL if invalid. */
static unsigned char *
ecdsa_der(const unsigned char *sig, size_t size, int *derlen)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	unsigned char *der = NULL;

	r = BN_bin2bn(sig, (int)size, NULL);
	s = BN_bin2bn(sig + size, (int)size, NULL);
	if (r == NULL || s == NULL || (es = ECDSA_SIG_new()) == NULL) {
		BN_free(r);
		BN_free(s);
		return NULL;
	}
	(void)ECDSA_SIG_set0(es, r, s);	/* es owns r and s now */
	if ((*derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
		der = NULL;
	ECDSA_SIG_free(es);
	return der;
}

int
jws_verify(const struct jws *jws, EVP_PKEY *key)
{
	const struct curve *cv;
	const char *want;
	enum kind kind;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	BIGNUM *order = NULL;
	const unsigned char *sig;
	unsigned char *der = NULL;
	size_t siglen;
	int rc, derlen, v;

	if (jws == NULL || jws->alg == NULL || jws->sig == NULL ||
	    jws->signing_input == NULL)
		return err_set(CA_FAIL, "jws: verify without a parsed token");
	if ((rc = key_kind(key, &kind, &cv)) != CA_OK ||
	    (rc = jose_key_alg(key, &want)) != CA_OK)
		return rc;
	/* The key decides the algorithm; the token may only agree. */
	if (strcmp(jws->alg, want) != 0)
		return err_set(CA_REFUSED,
		    "jws: alg \"%.32s\" refused: the key is for %s", jws->alg,
		    want);
	sig = jws->sig;
	siglen = jws->sig_len;
	switch (kind) {
	case K_EC:
		if (siglen != 2 * cv->size)
			return err_set(CA_REFUSED, "jws: bad signature: %s "
			    "wants %zu bytes, not %zu", want, 2 * cv->size,
			    siglen);
		if ((order = get_bn(key, OSSL_PKEY_PARAM_EC_ORDER)) == NULL)
			return err_set(CA_FAIL, "jws: EC key without order");
		if (scalar_out_of_range(sig, cv->size, order) ||
		    scalar_out_of_range(sig + cv->size, cv->size, order)) {
			BN_free(order);
			return err_set(CA_REFUSED,
			    "jws: bad signature: r or s out of range");
		}
		BN_free(order);
		if ((der = ecdsa_der(sig, cv->size, &derlen)) == NULL)
			return err_ssl(CA_FAIL, "jws: ECDSA signature");
		sig = der;
		siglen = (size_t)derlen;
		break;
	case K_RSA:
		if (siglen != (size_t)EVP_PKEY_get_size(key))
			return err_set(CA_REFUSED, "jws: bad signature: RS256 "
			    "wants %d bytes, not %zu", EVP_PKEY_get_size(key),
			    siglen);
		break;
	case K_ED25519:
		if (siglen != 64)
			return err_set(CA_REFUSED, "jws: bad signature: EdDSA "
			    "wants 64 bytes, not %zu", siglen);
		break;
	}
	rc = CA_FAIL;
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(mctx, &pctx, alg_md(want), NULL, NULL, key,
	    NULL) != 1 ||
	    (kind == K_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)) {
		err_ssl(CA_FAIL, "jws: verifying with %s", want);
		goto done;
	}
	v = EVP_DigestVerify(mctx, sig, siglen,
	    (const unsigned char *)jws->signing_input, jws->signing_input_len);
	if (v != 1) {
		/* 0 and errors alike: hostile input must never pass. */
		ERR_clear_error();
		rc = err_set(CA_REFUSED, "jws: bad signature");
		goto done;
	}
	rc = CA_OK;
done:
	EVP_MD_CTX_free(mctx);
	OPENSSL_free(der);
	return rc;
}

/* ---- JWE ----------------------------------------------------------- */

/* KEK = PBKDF2-HMAC-SHA256(pw, UTF8(alg) || 0x00 || p2s, p2c, 16). */
static int
pbes2_kek(const char *pw, size_t pw_len, const unsigned char *p2s,
    size_t p2s_len, long p2c, unsigned char kek[KEK_LEN])
{
	unsigned char *salt;
	size_t al = sizeof(PBES2_ALG);	/* including the NUL separator */
	int ok;

	if ((salt = malloc(al + p2s_len)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	memcpy(salt, PBES2_ALG, al);
	memcpy(salt + al, p2s, p2s_len);
	ok = PKCS5_PBKDF2_HMAC(pw, (int)pw_len, salt, (int)(al + p2s_len),
	    (int)p2c, EVP_sha256(), KEK_LEN, kek);
	free(salt);
	if (ok != 1) {
		OPENSSL_cleanse(kek, KEK_LEN);
		return err_ssl(CA_FAIL, "jwe: PBKDF2");
	}
	return CA_OK;
}

/*
 * RFC 3394 AES-128 key wrap (enc) or unwrap of inlen bytes into out (at
 * least inlen + 8 bytes).  Returns 1, or 0 when the unwrap integrity
 * check fails or OpenSSL errs (the queue is left for the caller).
 */
static int
aes_kw(int enc, const unsigned char kek[KEK_LEN], const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, m = 0, ok;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return 0;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = EVP_CipherInit_ex(ctx, EVP_aes_128_wrap(), NULL, kek, NULL,
	    enc) == 1 &&
	    EVP_CipherUpdate(ctx, out, &n, in, (int)inlen) == 1 &&
	    EVP_CipherFinal_ex(ctx, out + n, &m) == 1;
	EVP_CIPHER_CTX_free(ctx);
	*outlen = ok ? (size_t)(n + m) : 0;
	return ok;
}

/*
 * AES-256-GCM with a 12-byte IV and aad; out has inlen bytes.  Encrypting
 * writes tag, decrypting checks it.  Returns 1, or 0 on failure (for
 * decryption: the data, IV, aad or tag were modified, or the key is
 * wrong).
 */
static int
aes_gcm(int enc, const unsigned char key[CEK_LEN],
    const unsigned char iv[GCM_IV_LEN], const char *aad, size_t aadlen,
    const unsigned char *in, size_t inlen, unsigned char *out,
    unsigned char tag[GCM_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx;
	unsigned char fin[16];
	int n, ok;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return 0;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
	    enc) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_IV_LEN,
	    NULL) == 1 &&
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc) == 1 &&
	    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad,
	    (int)aadlen) == 1 &&
	    (inlen == 0 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)inlen) == 1) &&
	    (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
	    GCM_TAG_LEN, tag) == 1) &&
	    EVP_CipherFinal_ex(ctx, fin, &n) == 1 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
	    GCM_TAG_LEN, tag) == 1);
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* Join n strings with '.' into a malloc'd string; NULL when out of memory. */
static char *
join_dots(char *const *s, size_t n)
{
	size_t i, total = 0, l;
	char *out, *p;

	for (i = 0; i < n; i++)
		total += strlen(s[i]) + 1;
	if ((out = malloc(total)) == NULL)
		return NULL;
	for (i = 0, p = out; i < n; i++) {
		l = strlen(s[i]);
		memcpy(p, s[i], l);
		p += l;
		*p++ = i + 1 < n ? '.' : '\0';
	}
	return out;
}

int
jwe_encrypt_pbes2(const void *pt, size_t pt_len, const char *pw,
    size_t pw_len, long p2c, const char *cty, char **out)
{
	unsigned char p2s[JOSE_P2S_LEN], cek[CEK_LEN], kek[KEK_LEN];
	unsigned char iv[GCM_IV_LEN], tag[GCM_TAG_LEN], ek[WRAPPED_LEN + 8];
	unsigned char *ct = NULL;
	char *seg[5] = { NULL, NULL, NULL, NULL, NULL }, *hjs = NULL, *s64;
	size_t eklen, i;
	json_t *hdr = NULL;
	int rc = CA_FAIL;

	*out = NULL;
	if (pw_len == 0 || pw_len > CA_MAX_PASSWORD)
		return err_set(CA_INPUT, "jwe: password must be 1 to %d bytes",
		    CA_MAX_PASSWORD);
	if (p2c < JOSE_P2C_MIN || p2c > JOSE_P2C_MAX)
		return err_set(CA_INPUT, "jwe: p2c %ld outside [%d, %d]", p2c,
		    JOSE_P2C_MIN, JOSE_P2C_MAX);
	if (pt_len > CA_MAX_JWT)
		return err_set(CA_INPUT, "jwe: plaintext of %zu bytes exceeds "
		    "%d", pt_len, CA_MAX_JWT);
	if (RAND_bytes(p2s, sizeof(p2s)) != 1 ||
	    RAND_bytes(cek, sizeof(cek)) != 1 ||
	    RAND_bytes(iv, sizeof(iv)) != 1) {
		err_ssl(CA_FAIL, "jwe: random generator failed");
		goto done;
	}
	if ((s64 = b64url_encode(p2s, sizeof(p2s))) == NULL)
		goto done;
	if ((hdr = json_object()) == NULL ||
	    json_object_set_new(hdr, "alg", json_string(PBES2_ALG)) != 0 ||
	    json_object_set_new(hdr, "enc", json_string(PBES2_ENC)) != 0 ||
	    (cty != NULL &&
	    json_object_set_new(hdr, "cty", json_string(cty)) != 0) ||
	    json_object_set_new(hdr, "p2c", json_integer(p2c)) != 0 ||
	    json_object_set_new(hdr, "p2s", json_string(s64)) != 0 ||
	    (hjs = json_dumps(hdr, JSON_COMPACT)) == NULL) {
		free(s64);
		err_set(CA_FAIL, "jwe: building header");
		goto done;
	}
	free(s64);
	if ((seg[0] = b64url_encode(hjs, strlen(hjs))) == NULL)
		goto done;
	if ((rc = pbes2_kek(pw, pw_len, p2s, sizeof(p2s), p2c, kek)) != CA_OK)
		goto done;
	rc = CA_FAIL;
	if (!aes_kw(1, kek, cek, sizeof(cek), ek, &eklen) ||
	    eklen != WRAPPED_LEN) {
		err_ssl(CA_FAIL, "jwe: key wrap");
		goto done;
	}
	if ((ct = malloc(pt_len + 1)) == NULL) {
		err_set(CA_FAIL, "out of memory");
		goto done;
	}
	if (!aes_gcm(1, cek, iv, seg[0], strlen(seg[0]), pt, pt_len, ct,
	    tag)) {
		err_ssl(CA_FAIL, "jwe: AES-GCM");
		goto done;
	}
	if ((seg[1] = b64url_encode(ek, eklen)) == NULL ||
	    (seg[2] = b64url_encode(iv, sizeof(iv))) == NULL ||
	    (seg[3] = b64url_encode(ct, pt_len)) == NULL ||
	    (seg[4] = b64url_encode(tag, sizeof(tag))) == NULL)
		goto done;
	if ((*out = join_dots(seg, 5)) == NULL) {
		err_set(CA_FAIL, "out of memory");
		goto done;
	}
	if (strlen(*out) > CA_MAX_JWT) {
		rc = err_set(CA_INPUT, "jwe: token of %zu bytes exceeds %d",
		    strlen(*out), CA_MAX_JWT);
		free(*out);
		*out = NULL;
		goto done;
	}
	rc = CA_OK;
done:
	OPENSSL_cleanse(cek, sizeof(cek));
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(ek, sizeof(ek));
	free(ct);
	free(hjs);
	json_decref(hdr);
	for (i = 0; i < 5; i++)
		free(seg[i]);
	return rc;
}

/* Check the protected header of a PBES2 JWE; sets *p2c and p2s. */
static int
pbes2_header(const json_t *hdr, long *p2c, struct buf *p2s)
{
	json_t *v;
	json_int_t c;
	int rc;

	if (json_object_get(hdr, "crit") != NULL)
		return err_set(CA_REFUSED,
		    "jwe: critical header extensions (crit) not supported");
	if ((v = json_object_get(hdr, "alg")) == NULL || !json_is_string(v))
		return err_set(CA_INPUT, "jwe: header has no string \"alg\"");
	if (strcmp(json_string_value(v), PBES2_ALG) != 0)
		return err_set(CA_REFUSED, "jwe: alg \"%.32s\" not supported",
		    json_string_value(v));
	if ((v = json_object_get(hdr, "enc")) == NULL || !json_is_string(v))
		return err_set(CA_INPUT, "jwe: header has no string \"enc\"");
	if (strcmp(json_string_value(v), PBES2_ENC) != 0)
		return err_set(CA_REFUSED, "jwe: enc \"%.32s\" not supported",
		    json_string_value(v));
	if (json_object_get(hdr, "zip") != NULL)
		return err_set(CA_REFUSED, "jwe: compression (zip) not "
		    "supported");
	if ((v = json_object_get(hdr, "p2c")) == NULL || !json_is_integer(v))
		return err_set(CA_INPUT, "jwe: header has no integer \"p2c\"");
	c = json_integer_value(v);
	if (c < JOSE_P2C_MIN || c > JOSE_P2C_MAX)
		return err_set(CA_INPUT, "jwe: p2c %lld outside [%d, %d]",
		    (long long)c, JOSE_P2C_MIN, JOSE_P2C_MAX);
	*p2c = (long)c;
	if ((v = json_object_get(hdr, "p2s")) == NULL || !json_is_string(v))
		return err_set(CA_INPUT, "jwe: header has no string \"p2s\"");
	if ((rc = b64url_decode(json_string_value(v), json_string_length(v),
	    p2s)) != CA_OK) {
		err_prefix("jwe: p2s");
		return rc;
	}
	if (p2s->len < JOSE_P2S_MIN) {
		buf_free(p2s);
		return err_set(CA_INPUT, "jwe: p2s shorter than %d bytes",
		    JOSE_P2S_MIN);
	}
	return CA_OK;
}

int
jwe_decrypt_pbes2(const char *token, size_t len, const char *pw,
    size_t pw_len, struct buf *out)
{
	static const char *const segname[5] = {
		"header", "encrypted key", "iv", "ciphertext", "tag"
	};
	unsigned char kek[KEK_LEN], cek[WRAPPED_LEN + 8];
	struct buf seg[5], p2s, pt;
	size_t off[5], sl[5], i, ceklen = 0;
	json_t *hdr = NULL;
	long p2c = 0;
	int rc;

	out->data = NULL;
	out->len = 0;
	memset(seg, 0, sizeof(seg));
	memset(&p2s, 0, sizeof(p2s));
	memset(&pt, 0, sizeof(pt));
	if (len > CA_MAX_JWT)
		return err_set(CA_INPUT, "jwe: token of %zu bytes exceeds %d",
		    len, CA_MAX_JWT);
	if ((rc = split_compact(token, len, 5, off, sl, "jwe")) != CA_OK)
		return rc;
	for (i = 0; i < 5; i++) {
		if ((rc = b64url_decode(token + off[i], sl[i], &seg[i])) !=
		    CA_OK) {
			err_prefix("jwe: %s", segname[i]);
			goto done;
		}
	}
	if ((hdr = load_object(seg[0].data, seg[0].len, "jwe: header")) ==
	    NULL) {
		rc = CA_INPUT;
		goto done;
	}
	if ((rc = pbes2_header(hdr, &p2c, &p2s)) != CA_OK)
		goto done;
	rc = CA_INPUT;
	if (seg[1].len != WRAPPED_LEN) {
		err_set(CA_INPUT, "jwe: encrypted key must be %d bytes, not "
		    "%zu", WRAPPED_LEN, seg[1].len);
		goto done;
	}
	if (seg[2].len != GCM_IV_LEN) {
		err_set(CA_INPUT, "jwe: iv must be %d bytes, not %zu",
		    GCM_IV_LEN, seg[2].len);
		goto done;
	}
	if (seg[4].len != GCM_TAG_LEN) {
		err_set(CA_INPUT, "jwe: tag must be %d bytes, not %zu",
		    GCM_TAG_LEN, seg[4].len);
		goto done;
	}
	if (pw_len == 0 || pw_len > CA_MAX_PASSWORD) {
		err_set(CA_INPUT, "jwe: password must be 1 to %d bytes",
		    CA_MAX_PASSWORD);
		goto done;
	}
	if ((rc = pbes2_kek(pw, pw_len, p2s.data, p2s.len, p2c, kek)) !=
	    CA_OK)
		goto done;
	/* The wrap's integrity check is what a wrong password fails. */
	if (!aes_kw(0, kek, seg[1].data, seg[1].len, cek, &ceklen) ||
	    ceklen != CEK_LEN) {
		ERR_clear_error();
		rc = err_set(CA_REFUSED, "jwe: wrong password");
		goto done;
	}
	if ((pt.data = malloc(seg[3].len + 1)) == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto done;
	}
	pt.len = seg[3].len;
	if (!aes_gcm(0, cek, seg[2].data, token + off[0], sl[0], seg[3].data,
	    seg[3].len, pt.data, seg[4].data)) {
		ERR_clear_error();
		rc = err_set(CA_REFUSED, "jwe: decryption failed: ciphertext, "
		    "iv, tag or header modified");
		goto done;
	}
	pt.data[pt.len] = '\0';
	*out = pt;
	pt.data = NULL;
	pt.len = 0;
	rc = CA_OK;
done:
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(cek, sizeof(cek));
	buf_free(&pt);
	buf_free(&p2s);
	for (i = 0; i < 5; i++)
		buf_free(&seg[i]);
	json_decref(hdr);
	return rc;
}

/* ---- misc ---------------------------------------------------------- */

int
jose_jti(char out[JOSE_JTI_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[JOSE_JTI_LEN / 2];
	size_t i;

	out[0] = '\0';
	if (RAND_bytes(r, sizeof(r)) != 1)
		return err_ssl(CA_FAIL, "jti: random generator failed");
	for (i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 0xf];
	}
	out[JOSE_JTI_LEN] = '\0';
	return CA_OK;
}
