/*
 * acmejws: ACME's JWS (RFC 8555 section 6).  See acmejws.h for the
 * contract.  Keys, thumbprints, base64url and the signature check itself
 * are jose's and b64's; this module adds the flattened serialization,
 * ACME's header rules, the EAB MAC and the key authorization.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "acmejws.h"
#include "b64.h"
#include "ca_limits.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "jsonerr.h"

#define HS256_LEN	32	/* bytes of an HMAC-SHA256 */

/* Which JWS a flattened object is: what its header must and must not hold. */
enum mode {
	M_REQUEST,	/* an ACME request: nonce, jwk xor kid */
	M_INNER,	/* a key change's inner JWS: jwk, no nonce, no kid */
	M_EAB		/* an external account binding: HS256, kid, no nonce */
};

/* The algorithms an ACME request may be signed with. */
static const char *const allowed_algs[] = { "ES256", "ES384", "RS256",
    "EdDSA" };

static int
alg_allowed(const char *alg)
{
	size_t i;

	for (i = 0; i < sizeof(allowed_algs) / sizeof(allowed_algs[0]); i++)
		if (strcmp(alg, allowed_algs[i]) == 0)
			return 1;
	return 0;
}

const char *
acme_why_type(enum acme_jws_why why)
{
	switch (why) {
	case ACME_WHY_NONE:
		return NULL;
	case ACME_WHY_BAD_ALG:
		return "urn:ietf:params:acme:error:badSignatureAlgorithm";
	case ACME_WHY_BAD_KEY:
		return "urn:ietf:params:acme:error:badPublicKey";
	case ACME_WHY_UNAUTHORIZED:
		return "urn:ietf:params:acme:error:unauthorized";
	case ACME_WHY_MALFORMED:
	case ACME_WHY_BAD_SIG:
		break;
	}
	return "urn:ietf:params:acme:error:malformed";
}

void
acme_jws_free(struct acme_jws *j)
{
	if (j == NULL)
		return;
	json_decref(j->protected_hdr);
	json_decref(j->payload);
	free(j->payload_text);
	free(j->signing_input);
	free(j->sig);
	memset(j, 0, sizeof(*j));
}

/* Record a refusal: the message, and why in out. */
static int
refuse(struct acme_jws *out, enum acme_jws_why why, int code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
refuse(struct acme_jws *out, enum acme_jws_why why, int code,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(code, fmt, ap);
	va_end(ap);
	out->why = why;
	return code;
}

/* A member of the flattened object: a string, returned with its length. */
static const char *
flat_member(const json_t *body, const char *name, size_t *len)
{
	json_t *v;

	if ((v = json_object_get(body, name)) == NULL || !json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

/*
 * Decode len base64url characters at s as a JSON object without duplicate
 * members into *obj; the decoded text is kept in *text when text is not
 * NULL.  An empty s is allowed only when empty_ok (then *obj is NULL).
 */
static int
decode_object(const char *what, const char *s, size_t len, int empty_ok,
    json_t **obj, char **text, size_t *textlen)
{
	json_error_t jerr;
	struct buf b;
	int rc;

	*obj = NULL;
	if (text != NULL) {
		*text = NULL;
		*textlen = 0;
	}
	if ((rc = b64url_decode(s, len, &b)) != CA_OK) {
		err_prefix("%s", what);
		return rc;
	}
	if (b.len == 0 && !empty_ok) {
		buf_free(&b);
		return err_set(CA_INPUT, "%s: empty", what);
	}
	if (b.len > 0) {
		if ((*obj = json_loadb((const char *)b.data, b.len,
		    JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
			char why[JSONERR_LEN];

			buf_free(&b);
			return err_set(CA_INPUT, "%s: invalid JSON: %s", what,
			    jsonerr_text(&jerr, why, sizeof(why)));
		}
		if (!json_is_object(*obj)) {
			json_decref(*obj);
			*obj = NULL;
			buf_free(&b);
			return err_set(CA_INPUT, "%s: not a JSON object", what);
		}
	}
	if (text != NULL) {
		/* b64url_decode NUL-terminates; the text is not secret. */
		*text = (char *)b.data;
		*textlen = b.len;
		return CA_OK;
	}
	buf_free(&b);
	return CA_OK;
}

/*
 * A header member that must be a non-empty string: its value, or NULL
 * with CA_INPUT recorded (absent too).
 */
static const char *
header_str(const json_t *hdr, const char *what, const char *name)
{
	json_t *v;

	if ((v = json_object_get(hdr, name)) == NULL) {
		err_set(CA_INPUT, "%s: header has no \"%s\"", what, name);
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		err_set(CA_INPUT, "%s: header \"%s\" is not a non-empty string",
		    what, name);
		return NULL;
	}
	return json_string_value(v);
}

/* The rules of the protected header for mode, after alg. */
static int
check_header(struct acme_jws *out, enum mode mode, const char *what)
{
	const json_t *hdr = out->protected_hdr;
	json_t *jwk, *kid, *nonce;
	struct buf b;
	int rc;

	nonce = json_object_get(hdr, "nonce");
	jwk = json_object_get(hdr, "jwk");
	kid = json_object_get(hdr, "kid");
	if (mode == M_REQUEST) {
		if ((out->nonce = header_str(hdr, what, "nonce")) == NULL)
			return CA_INPUT;
		if ((rc = b64url_decode(out->nonce, strlen(out->nonce), &b)) !=
		    CA_OK) {
			err_prefix("%s: header \"nonce\"", what);
			return rc;
		}
		buf_free(&b);
	} else if (nonce != NULL)
		return err_set(CA_INPUT, "%s: header has a \"nonce\"", what);
	if ((out->url = header_str(hdr, what, "url")) == NULL)
		return CA_INPUT;
	if (mode == M_REQUEST && (jwk == NULL) == (kid == NULL))
		return err_set(CA_INPUT, "%s: header must have exactly one of "
		    "\"jwk\" and \"kid\"", what);
	if (mode == M_INNER && jwk == NULL)
		return err_set(CA_INPUT, "%s: header has no \"jwk\"", what);
	if (mode != M_REQUEST && mode != M_EAB && kid != NULL)
		return err_set(CA_INPUT, "%s: header has a \"kid\"", what);
	if (mode == M_EAB && jwk != NULL)
		return err_set(CA_INPUT, "%s: header has a \"jwk\"", what);
	if (mode == M_EAB && kid == NULL)
		return err_set(CA_INPUT, "%s: header has no \"kid\"", what);
	if (jwk != NULL) {
		if (!json_is_object(jwk))
			return err_set(CA_INPUT,
			    "%s: header \"jwk\" is not an object", what);
		out->jwk = jwk;
	}
	if (kid != NULL && (out->kid = header_str(hdr, what, "kid")) == NULL)
		return CA_INPUT;
	return CA_OK;
}

/* The flattened JWS in body, under the rules of mode. */
static int
parse_flat(const json_t *body, enum mode mode, struct acme_jws *out)
{
	const char *what = mode == M_EAB ? "acme eab" : mode == M_INNER ?
	    "acme jws (inner)" : "acme jws";
	const char *prot, *pay, *sig;
	size_t plen, ylen, slen, n;
	struct buf b;
	json_t *v;
	int rc;

	memset(out, 0, sizeof(*out));
	out->why = ACME_WHY_MALFORMED;
	if (!json_is_object(body))
		return err_set(CA_INPUT, "%s: not a JSON object", what);
	/* json_dumpb with no buffer returns the size it would need. */
	if ((n = json_dumpb(body, NULL, 0, JSON_COMPACT)) == 0 ||
	    n > CA_MAX_JSON)
		return err_set(CA_INPUT, "%s: more than %d bytes", what,
		    CA_MAX_JSON);
	if ((prot = flat_member(body, "protected", &plen)) == NULL ||
	    (pay = flat_member(body, "payload", &ylen)) == NULL ||
	    (sig = flat_member(body, "signature", &slen)) == NULL)
		return err_set(CA_INPUT, "%s: \"protected\", \"payload\" and "
		    "\"signature\" must be strings", what);
	if (json_object_size(body) != 3)
		return err_set(CA_INPUT, "%s: members other than "
		    "\"protected\", \"payload\" and \"signature\" (only the "
		    "flattened serialization without an unprotected header is "
		    "accepted)", what);
	if ((rc = decode_object("protected header", prot, plen, 0,
	    &out->protected_hdr, NULL, NULL)) != CA_OK) {
		err_prefix("%s", what);
		goto fail;
	}
	/* No extension is understood, so any critical one must fail. */
	if (json_object_get(out->protected_hdr, "crit") != NULL) {
		rc = err_set(CA_INPUT, "%s: critical header extensions (crit) "
		    "not supported", what);
		goto fail;
	}
	if ((v = json_object_get(out->protected_hdr, "alg")) == NULL ||
	    !json_is_string(v)) {
		rc = err_set(CA_INPUT, "%s: header has no string \"alg\"", what);
		goto fail;
	}
	out->alg = json_string_value(v);
	if (mode == M_EAB && strcmp(out->alg, "HS256") != 0) {
		rc = refuse(out, ACME_WHY_UNAUTHORIZED, CA_REFUSED,
		    "%s: alg refused: only HS256", what);
		goto fail;
	}
	if (mode != M_EAB && !alg_allowed(out->alg)) {
		rc = refuse(out, ACME_WHY_BAD_ALG, CA_REFUSED,
		    "%s: badSignatureAlgorithm: alg \"%.32s\" refused "
		    "(accepted: ES256, ES384, RS256, EdDSA)", what, out->alg);
		goto fail;
	}
	if ((rc = check_header(out, mode, what)) != CA_OK)
		goto fail;
	if ((rc = decode_object("payload", pay, ylen, mode == M_REQUEST,
	    &out->payload, &out->payload_text, &out->payload_len)) != CA_OK) {
		err_prefix("%s", what);
		goto fail;
	}
	if ((rc = b64url_decode(sig, slen, &b)) != CA_OK) {
		err_prefix("%s: signature", what);
		goto fail;
	}
	if (b.len == 0) {
		buf_free(&b);
		rc = err_set(CA_INPUT, "%s: empty signature", what);
		goto fail;
	}
	out->sig = b.data;
	out->sig_len = b.len;
	out->signing_input_len = plen + 1 + ylen;
	if ((out->signing_input = malloc(out->signing_input_len + 1)) ==
	    NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto fail;
	}
	memcpy(out->signing_input, prot, plen);
	out->signing_input[plen] = '.';
	memcpy(out->signing_input + plen + 1, pay, ylen);
	out->signing_input[out->signing_input_len] = '\0';
	out->why = ACME_WHY_NONE;
	return CA_OK;
fail:
	{
		enum acme_jws_why why = out->why;

		acme_jws_free(out);
		out->why = why;
	}
	return rc;
}

int
acme_jws_parse(const json_t *body, struct acme_jws *out)
{
	return parse_flat(body, M_REQUEST, out);
}

int
acme_jws_parse_inner(const json_t *body, struct acme_jws *out)
{
	return parse_flat(body, M_INNER, out);
}

/*
 * Whether key may sign ACME requests: CA_OK with its alg, CA_REFUSED for
 * a key of a known type outside the allow-list, CA_INPUT otherwise.
 */
static int
key_allowed(EVP_PKEY *key, const char **alg)
{
	int rc, bits;

	if ((rc = jose_key_alg(key, alg)) != CA_OK) {
		err_prefix("acme jws: badPublicKey");
		return rc;
	}
	if (!alg_allowed(*alg))
		return err_set(CA_REFUSED, "acme jws: badPublicKey: a key for "
		    "%s is not accepted", *alg);
	if (EVP_PKEY_is_a(key, "RSA") &&
	    (bits = EVP_PKEY_get_bits(key)) > JOSE_RSA_MAX_BITS)
		return err_set(CA_REFUSED, "acme jws: badPublicKey: RSA key of "
		    "%d bits is above %d", bits, JOSE_RSA_MAX_BITS);
	return CA_OK;
}

int
acme_jws_jwk(const struct acme_jws *j, EVP_PKEY **out)
{
	const char *alg;
	int rc;

	*out = NULL;
	if (j == NULL || j->jwk == NULL)
		return err_set(CA_INPUT, "acme jws: no \"jwk\" in the header");
	if ((rc = jwk_import(j->jwk, JWK_PUBLIC, out)) != CA_OK) {
		err_prefix("acme jws: badPublicKey");
		return rc;
	}
	if ((rc = key_allowed(*out, &alg)) != CA_OK) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return rc == CA_INPUT ? CA_INPUT : CA_REFUSED;
	}
	return CA_OK;
}

int
acme_jws_verify(const struct acme_jws *j, EVP_PKEY *key)
{
	struct jws w;
	const char *alg;
	int rc;

	if (j == NULL || j->alg == NULL || j->sig == NULL ||
	    j->signing_input == NULL)
		return err_set(CA_FAIL, "acme jws: verify without a parsed "
		    "request");
	if ((rc = key_allowed(key, &alg)) != CA_OK)
		return rc == CA_FAIL ? CA_FAIL : CA_INPUT;
	/* Again here: the struct may not have come from the parser. */
	if (!alg_allowed(j->alg))
		return err_set(CA_REFUSED, "acme jws: alg \"%.32s\" refused",
		    j->alg);
	/*
	 * jws_verify() binds the alg to the key, checks the signature's size
	 * (r||s for ECDSA) and verifies; it only reads these members.
	 */
	memset(&w, 0, sizeof(w));
	w.alg = j->alg;
	w.signing_input = j->signing_input;
	w.signing_input_len = j->signing_input_len;
	w.sig = j->sig;
	w.sig_len = j->sig_len;
	if ((rc = jws_verify(&w, key)) != CA_OK)
		err_prefix("acme jws");
	return rc;
}

int
acme_eab_kid(const json_t *eab, char **kid)
{
	struct acme_jws j;
	int rc;

	*kid = NULL;
	if ((rc = parse_flat(eab, M_EAB, &j)) != CA_OK)
		return rc;
	if ((*kid = strdup(j.kid)) == NULL)
		rc = err_set(CA_FAIL, "out of memory");
	acme_jws_free(&j);
	return rc;
}

/* The RFC 7638 thumbprint of a public JWK, or NULL (message recorded). */
static char *
jwk_thumb(const json_t *jwk, const char *what)
{
	EVP_PKEY *k;
	char *t;

	if (jwk_import(jwk, JWK_PUBLIC, &k) != CA_OK) {
		err_prefix("%s", what);
		return NULL;
	}
	t = jwk_thumbprint(k);
	EVP_PKEY_free(k);
	return t;
}

int
acme_eab_verify(const json_t *eab, const char *kid,
    const unsigned char *hmac_key, size_t keylen, const json_t *outer_jwk,
    const char *url)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *t_in = NULL, *t_out = NULL;
	struct acme_jws j;
	int rc;

	if (kid == NULL || url == NULL || outer_jwk == NULL)
		return err_set(CA_FAIL, "acme eab: no kid, url or account key");
	if (hmac_key == NULL || keylen == 0)
		return err_set(CA_FAIL, "acme eab: no MAC key");
	if ((rc = parse_flat(eab, M_EAB, &j)) != CA_OK)
		return rc;
	rc = CA_REFUSED;
	if (strcmp(j.kid, kid) != 0) {
		err_set(CA_REFUSED, "acme eab: unauthorized: the kid is not the "
		    "expected one");
		goto done;
	}
	if (strcmp(j.url, url) != 0) {
		err_set(CA_REFUSED, "acme eab: unauthorized: the url is not the "
		    "request's");
		goto done;
	}
	if (HMAC(EVP_sha256(), hmac_key, (int)keylen,
	    (const unsigned char *)j.signing_input, j.signing_input_len, mac,
	    &maclen) == NULL || maclen != HS256_LEN) {
		rc = err_ssl(CA_FAIL, "acme eab: HMAC-SHA256");
		goto done;
	}
	if (j.sig_len != HS256_LEN ||
	    CRYPTO_memcmp(mac, j.sig, HS256_LEN) != 0) {
		err_set(CA_REFUSED, "acme eab: unauthorized: bad MAC");
		goto done;
	}
	if ((t_in = jwk_thumb(j.payload, "acme eab: payload")) == NULL ||
	    (t_out = jwk_thumb(outer_jwk, "acme eab: account key")) == NULL) {
		rc = err_code() == CA_FAIL ? CA_FAIL : CA_INPUT;
		goto done;
	}
	if (strcmp(t_in, t_out) != 0) {
		err_set(CA_REFUSED, "acme eab: unauthorized: the binding is "
		    "for another account key");
		goto done;
	}
	rc = CA_OK;
done:
	OPENSSL_cleanse(mac, sizeof(mac));
	free(t_in);
	free(t_out);
	acme_jws_free(&j);
	return rc;
}

char *
acme_key_authz(const char *token, EVP_PKEY *acctkey)
{
	struct buf b;
	char *thumb, *out;
	size_t tl, hl;

	if (token == NULL || *token == '\0') {
		err_set(CA_INPUT, "acme: empty challenge token");
		return NULL;
	}
	tl = strlen(token);
	if (b64url_decode(token, tl, &b) != CA_OK) {
		err_prefix("acme: challenge token");
		return NULL;
	}
	buf_free(&b);
	if ((thumb = jwk_thumbprint(acctkey)) == NULL)
		return NULL;
	hl = strlen(thumb);
	if ((out = malloc(tl + 1 + hl + 1)) == NULL) {
		free(thumb);
		err_set(CA_FAIL, "out of memory");
		return NULL;
	}
	memcpy(out, token, tl);
	out[tl] = '.';
	memcpy(out + tl + 1, thumb, hl + 1);
	free(thumb);
	return out;
}

int
acme_keyauthz_digest(const char *keyauthz, unsigned char out[ACME_DIGEST_LEN])
{
	unsigned int n = 0;

	if (keyauthz == NULL)
		return err_set(CA_FAIL, "acme: no key authorization");
	if (EVP_Digest(keyauthz, strlen(keyauthz), out, &n, EVP_sha256(),
	    NULL) != 1 || n != ACME_DIGEST_LEN)
		return err_ssl(CA_FAIL, "acme: SHA-256");
	return CA_OK;
}

char *
acme_dns01_value(const char *keyauthz)
{
	unsigned char md[ACME_DIGEST_LEN];

	if (acme_keyauthz_digest(keyauthz, md) != CA_OK)
		return NULL;
	return b64url_encode(md, sizeof(md));
}
