/*
 * Unit tests for lib/acmejws: ACME requests (RFC 8555 section 6) signed by
 * jwcrypto, an independent implementation (tests/unit/acmejws_interop.py,
 * run from the repository root), over keys made here with OpenSSL; every
 * refusal with its ACME meaning; the external account binding; key
 * authorizations and the dns-01 / tls-alpn-01 digests checked against
 * Python's hashlib and jwcrypto's thumbprints.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "acmejws.h"
#include "b64.h"
#include "ca_limits.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "tap.h"

#define PYTHON		"/usr/bin/python3"
#define INTEROP		"tests/unit/acmejws_interop.py"
/* As in acmejws_interop.py. */
#define URL		"https://ca.test/acme/acme/new-account"
#define NONCE		"bm9uY2Utb25l"
#define KID		"https://ca.test/acme/acme/account/abc"
#define EAB_KID		"eab-kid-1"

#define T_MALFORMED	"urn:ietf:params:acme:error:malformed"
#define T_BADALG	"urn:ietf:params:acme:error:badSignatureAlgorithm"

enum { K_ES256, K_ES384, K_ES512, K_RS256, K_RSA1024, K_EDDSA, K_OTHER,
    NKEYS };
static const char *const keyname[NKEYS] = { "es256", "es384", "es512",
    "rs256", "rsa1024", "eddsa", "other" };
static EVP_PKEY *keys[NKEYS];
static unsigned char hmac_key[32];
static char *token;
static json_t *cases;		/* cases.json */

/* ---- helpers ------------------------------------------------------- */

static char *
enc_str(const char *s)
{
	char *e;

	if ((e = b64url_encode(s, strlen(s))) == NULL)
		abort();
	return e;
}

/* A flattened body from the header and payload texts and a b64 signature. */
static json_t *
flat(const char *hdr, const char *payload, const char *sig64)
{
	char *h = enc_str(hdr), *p = enc_str(payload);
	json_t *j;

	j = json_pack("{s:s, s:s, s:s}", "protected", h, "payload", p,
	    "signature", sig64);
	free(h);
	free(p);
	if (j == NULL)
		abort();
	return j;
}

/* A copy of case name from cases.json (empty object if absent: fails). */
static json_t *
jcase(const char *name)
{
	json_t *v = json_object_get(json_object_get(cases, "jws"), name);

	if (v == NULL) {
		printf("# case %s missing\n", name);
		return json_object();
	}
	return json_deep_copy(v);
}

/* Parse case name; expect rc and why. */
static void
parse_expect(const char *name, int want, enum acme_jws_why why,
    const char *type)
{
	struct acme_jws j;
	json_t *b = jcase(name);
	int rc;

	rc = acme_jws_parse(b, &j);
	check_rc(rc, want, NULL, "%s: acme_jws_parse returns %d", name, want);
	is_int(j.why, why, "%s: why is %d", name, (int)why);
	is_str(acme_why_type(j.why), type, "%s: problem type", name);
	if (rc != CA_OK)
		ok(j.protected_hdr == NULL && j.payload == NULL &&
		    j.sig == NULL && j.signing_input == NULL &&
		    j.alg == NULL, "%s: nothing left on failure", name);
	acme_jws_free(&j);
	json_decref(b);
}

/* ---- accepted requests ---------------------------------------------- */

static void
test_accepted(void)
{
	static const int ks[] = { K_ES256, K_ES384, K_RS256, K_EDDSA };
	static const char *const algs[] = { "ES256", "ES384", "RS256",
	    "EdDSA" };
	struct acme_jws j;
	EVP_PKEY *k;
	char name[64], *thumb;
	json_t *b;
	size_t i;
	int rc;

	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "jwk_%s", keyname[ks[i]]);
		b = jcase(name);
		rc = acme_jws_parse(b, &j);
		check_rc(rc, CA_OK, NULL, "%s: parsed", name);
		is_int(j.why, ACME_WHY_NONE, "%s: why none", name);
		is_str(j.alg, algs[i], "%s: alg", name);
		is_str(j.nonce, NONCE, "%s: nonce", name);
		is_str(j.url, URL, "%s: url", name);
		ok(j.jwk != NULL && j.kid == NULL, "%s: jwk, no kid", name);
		ok(json_is_true(json_object_get(j.payload,
		    "termsOfServiceAgreed")), "%s: payload object read",
		    name);
		ok(j.payload_text != NULL && j.payload_len ==
		    strlen(j.payload_text) && strstr(j.payload_text,
		    "mailto:a@ca.test") != NULL, "%s: payload text kept", name);
		k = NULL;
		rc = acme_jws_jwk(&j, &k);
		check_rc(rc, CA_OK, NULL, "%s: jwk imports", name);
		thumb = k ? jwk_thumbprint(k) : NULL;
		is_str(thumb, json_string_value(json_object_get(
		    json_object_get(cases, "thumb"), keyname[ks[i]])),
		    "%s: thumbprint equals jwcrypto's", name);
		free(thumb);
		check_rc(acme_jws_verify(&j, k), CA_OK, NULL,
		    "%s: verifies with the jwk", name);
		check_rc(acme_jws_verify(&j, keys[ks[i]]), CA_OK, NULL,
		    "%s: verifies with the OpenSSL key", name);
		check_rc(acme_jws_verify(&j, keys[K_OTHER]), CA_REFUSED,
		    NULL, "%s: refused with another key", name);
		EVP_PKEY_free(k);
		acme_jws_free(&j);
		json_decref(b);

		snprintf(name, sizeof(name), "kid_%s", keyname[ks[i]]);
		b = jcase(name);
		rc = acme_jws_parse(b, &j);
		check_rc(rc, CA_OK, NULL, "%s: parsed", name);
		is_str(j.kid, KID, "%s: kid", name);
		ok(j.jwk == NULL, "%s: no jwk", name);
		is_str(j.payload_text, "{\"status\":\"deactivated\"}",
		    "%s: payload text as signed", name);
		check_rc(acme_jws_verify(&j, keys[ks[i]]), CA_OK, NULL,
		    "%s: verifies with the account key", name);
		k = NULL;
		check_rc(acme_jws_jwk(&j, &k), CA_INPUT, "no \"jwk\"",
		    "%s: acme_jws_jwk refuses a kid request", name);
		ok(k == NULL, "%s: no key returned", name);
		acme_jws_free(&j);
		json_decref(b);
	}

	b = jcase("postasget");
	rc = acme_jws_parse(b, &j);
	check_rc(rc, CA_OK, NULL, "POST-as-GET parsed");
	ok(j.payload == NULL, "POST-as-GET: payload object NULL");
	ok(j.payload_text != NULL && j.payload_text[0] == '\0' &&
	    j.payload_len == 0, "POST-as-GET: payload text empty");
	check_rc(acme_jws_verify(&j, keys[K_ES256]), CA_OK, NULL,
	    "POST-as-GET verifies");
	acme_jws_free(&j);
	json_decref(b);

	parse_expect("extra_member", CA_OK, ACME_WHY_NONE, NULL);
}

/* ---- algorithms ----------------------------------------------------- */

static void
test_algs(void)
{
	static const char *const bad[] = { "none", "None", "NONE", "",
	    "HS256", "HS384", "HS512", "PS256", "PS384", "PS512", "ES512",
	    "RS384", "RS512", "ES256K", "Ed25519", "es256", "ES256 ",
	    "RSA-OAEP", "dir" };
	struct acme_jws j;
	char hdr[256];
	json_t *b;
	size_t i;
	int rc;

	/* Correctly signed by jwcrypto, refused for the alg alone. */
	parse_expect("alg_es512", CA_REFUSED, ACME_WHY_BAD_ALG, T_BADALG);
	parse_expect("alg_ps256", CA_REFUSED, ACME_WHY_BAD_ALG, T_BADALG);
	parse_expect("alg_hs256", CA_REFUSED, ACME_WHY_BAD_ALG, T_BADALG);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"" KID
		    "\",\"nonce\":\"" NONCE "\",\"url\":\"" URL "\"}", bad[i]);
		b = flat(hdr, "{}", "AAAA");
		rc = acme_jws_parse(b, &j);
		check_rc(rc, CA_REFUSED, "badSignatureAlgorithm",
		    "alg \"%s\" refused", bad[i]);
		is_int(j.why, ACME_WHY_BAD_ALG, "alg \"%s\": why bad alg",
		    bad[i]);
		acme_jws_free(&j);
		json_decref(b);
	}
	/* alg "none" with no signature at all: still the alg. */
	b = flat("{\"alg\":\"none\",\"kid\":\"" KID "\",\"nonce\":\"" NONCE
	    "\",\"url\":\"" URL "\"}", "{}", "");
	check_rc(acme_jws_parse(b, &j), CA_REFUSED, "badSignatureAlgorithm",
	    "alg none with an empty signature refused as badSignatureAlgorithm");
	acme_jws_free(&j);
	json_decref(b);
	/* alg not a string. */
	b = flat("{\"alg\":1,\"kid\":\"" KID "\",\"nonce\":\"" NONCE
	    "\",\"url\":\"" URL "\"}", "{}", "AAAA");
	check_rc(acme_jws_parse(b, &j), CA_INPUT, "alg",
	    "alg a number: malformed");
	is_int(j.why, ACME_WHY_MALFORMED, "alg a number: why malformed");
	acme_jws_free(&j);
	json_decref(b);
}

/* ---- keys ---------------------------------------------------------- */

static void
test_keys(void)
{
	struct acme_jws j;
	EVP_PKEY *k;
	json_t *b;
	char hdr[1024];
	const char *x, *y;
	json_t *pub;
	int rc;

	b = jcase("jwk_rsa1024");
	rc = acme_jws_parse(b, &j);
	check_rc(rc, CA_OK, NULL, "RSA 1024 jwk request parses");
	k = NULL;
	check_rc(acme_jws_jwk(&j, &k), CA_INPUT, "at least 2048",
	    "RSA 1024 jwk refused (badPublicKey)");
	ok(k == NULL, "RSA 1024: no key returned");
	check_rc(acme_jws_verify(&j, keys[K_RSA1024]), CA_INPUT,
	    "badPublicKey", "RSA 1024: verify refuses the key");
	acme_jws_free(&j);
	json_decref(b);

	b = jcase("jwk_p521");
	rc = acme_jws_parse(b, &j);
	check_rc(rc, CA_OK, NULL, "P-521 jwk with alg ES256 parses");
	k = NULL;
	check_rc(acme_jws_jwk(&j, &k), CA_REFUSED, "badPublicKey",
	    "P-521 jwk refused (ES512 is not accepted)");
	ok(k == NULL, "P-521: no key returned");
	check_rc(acme_jws_verify(&j, keys[K_ES512]), CA_INPUT,
	    "badPublicKey", "P-521: verify refuses the key");
	acme_jws_free(&j);
	json_decref(b);

	/* A private JWK in the header. */
	pub = jwk_export(keys[K_ES256], 1);
	x = json_string_value(json_object_get(pub, "x"));
	y = json_string_value(json_object_get(pub, "y"));
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"nonce\":\"" NONCE
	    "\",\"url\":\"" URL "\",\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}}", x, y,
	    json_string_value(json_object_get(pub, "d")));
	b = flat(hdr, "{}", "AAAA");
	rc = acme_jws_parse(b, &j);
	check_rc(rc, CA_OK, NULL, "request with a private jwk parses");
	k = NULL;
	check_rc(acme_jws_jwk(&j, &k), CA_INPUT, "private key",
	    "a jwk with \"d\" refused");
	ok(k == NULL, "private jwk: no key returned");
	acme_jws_free(&j);
	json_decref(b);
	/* A point off the curve. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"nonce\":\"" NONCE
	    "\",\"url\":\"" URL "\",\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"%s\",\"y\":\"%s\"}}", x, x);
	jose_json_wipe(pub);
	b = flat(hdr, "{}", "AAAA");
	rc = acme_jws_parse(b, &j);
	k = NULL;
	check_rc(rc == CA_OK ? acme_jws_jwk(&j, &k) : rc, CA_INPUT, NULL,
	    "a jwk off the curve refused");
	ok(k == NULL, "off the curve: no key returned");
	acme_jws_free(&j);
	json_decref(b);
	k = NULL;
	check_rc(acme_jws_jwk(NULL, &k), CA_INPUT, NULL,
	    "acme_jws_jwk(NULL) refused");
}

/* ---- verification --------------------------------------------------- */

/* Case name with its signature replaced by the n bytes at sig. */
static json_t *
with_sig(const char *name, const unsigned char *sig, size_t n)
{
	json_t *b = jcase(name);
	char *s;

	if ((s = b64url_encode(sig, n)) == NULL)
		abort();
	json_object_set_new(b, "signature", json_string(s));
	free(s);
	return b;
}

static void
verify_expect(json_t *b, EVP_PKEY *k, int want, const char *substr,
    const char *what)
{
	struct acme_jws j;
	int rc;

	rc = acme_jws_parse(b, &j);
	if (rc == CA_OK)
		rc = acme_jws_verify(&j, k);
	check_rc(rc, want, substr, "%s", what);
	acme_jws_free(&j);
	json_decref(b);
}

static void
test_verify(void)
{
	unsigned char sig[600];
	struct buf s;
	json_t *b, *o;
	struct acme_jws j;
	const char *p;

	/* The alg must be the key's: an ES256 request and a P-384 key. */
	verify_expect(jcase("kid_es256"), keys[K_ES384], CA_REFUSED,
	    "the key is for ES384", "ES256 request, P-384 key: refused");
	verify_expect(jcase("kid_rs256"), keys[K_ES256], CA_REFUSED,
	    "the key is for ES256", "RS256 request, P-256 key: refused");
	verify_expect(jcase("kid_es256"), keys[K_EDDSA], CA_REFUSED,
	    "the key is for EdDSA", "ES256 request, Ed25519 key: refused");
	verify_expect(jcase("kid_es256"), keys[K_OTHER], CA_REFUSED,
	    "bad signature", "ES256 request, another P-256 key: refused");

	/* Each signature with one bit flipped. */
	b = jcase("kid_es256");
	p = json_string_value(json_object_get(b, "signature"));
	if (b64url_decode(p, strlen(p), &s) != CA_OK || s.len != 64)
		abort();
	json_decref(b);
	memcpy(sig, s.data, 64);
	sig[10] ^= 1;
	verify_expect(with_sig("kid_es256", sig, 64), keys[K_ES256],
	    CA_REFUSED, "bad signature", "ES256 signature with a bit flipped");
	memcpy(sig, s.data, 64);
	memset(sig, 0, 32);
	verify_expect(with_sig("kid_es256", sig, 64), keys[K_ES256],
	    CA_REFUSED, "out of range", "ES256 signature with r = 0");
	/* The DER form (or any other length) is not r||s. */
	memcpy(sig, s.data, 64);
	verify_expect(with_sig("kid_es256", sig, 63), keys[K_ES256],
	    CA_REFUSED, "64 bytes", "ES256 signature of 63 bytes");
	memset(sig + 64, 0, 8);
	verify_expect(with_sig("kid_es256", sig, 72), keys[K_ES256],
	    CA_REFUSED, "64 bytes", "ES256 signature of 72 bytes (DER size)");
	buf_free(&s);

	b = jcase("kid_eddsa");
	p = json_string_value(json_object_get(b, "signature"));
	if (b64url_decode(p, strlen(p), &s) != CA_OK || s.len != 64)
		abort();
	json_decref(b);
	memcpy(sig, s.data, 64);
	sig[63] ^= 0x80;
	verify_expect(with_sig("kid_eddsa", sig, 64), keys[K_EDDSA],
	    CA_REFUSED, "bad signature", "EdDSA signature with a bit flipped");
	verify_expect(with_sig("kid_eddsa", s.data, 32), keys[K_EDDSA],
	    CA_REFUSED, "64 bytes", "EdDSA signature of 32 bytes");
	buf_free(&s);

	b = jcase("kid_rs256");
	p = json_string_value(json_object_get(b, "signature"));
	if (b64url_decode(p, strlen(p), &s) != CA_OK || s.len != 256)
		abort();
	json_decref(b);
	memcpy(sig, s.data, 256);
	sig[255] ^= 1;
	verify_expect(with_sig("kid_rs256", sig, 256), keys[K_RS256],
	    CA_REFUSED, "bad signature", "RS256 signature with a bit flipped");
	verify_expect(with_sig("kid_rs256", s.data, 255), keys[K_RS256],
	    CA_REFUSED, "256 bytes", "RS256 signature of 255 bytes");
	buf_free(&s);

	/* Another payload, or another request's header, under a signature. */
	b = jcase("kid_es256");
	o = jcase("postasget");
	json_object_set(b, "payload", json_object_get(o, "payload"));
	verify_expect(b, keys[K_ES256], CA_REFUSED, "bad signature",
	    "the payload swapped for another: refused");
	json_decref(o);
	o = jcase("extra_member");
	b = jcase("kid_es256");
	json_object_set(b, "protected", json_object_get(o, "protected"));
	verify_expect(b, keys[K_ES256], CA_REFUSED, "bad signature",
	    "the header swapped for another: refused");
	json_decref(o);

	/* A struct not made by the parser. */
	memset(&j, 0, sizeof(j));
	check_rc(acme_jws_verify(&j, keys[K_ES256]), CA_FAIL, NULL,
	    "verify of an empty struct: CA_FAIL");
	b = jcase("kid_es256");
	if (acme_jws_parse(b, &j) != CA_OK)
		abort();
	p = j.alg;
	j.alg = "ES512";
	check_rc(acme_jws_verify(&j, keys[K_ES256]), CA_REFUSED, "ES512",
	    "verify refuses an alg outside the list set by hand");
	j.alg = p;
	check_rc(acme_jws_verify(&j, NULL), CA_FAIL, NULL,
	    "verify without a key: CA_FAIL");
	acme_jws_free(&j);
	json_decref(b);
}

/* ---- structure and header rules ------------------------------------- */

static void
struct_expect(json_t *b, const char *substr, const char *what)
{
	struct acme_jws j;

	check_rc(acme_jws_parse(b, &j), CA_INPUT, substr, "%s", what);
	is_int(j.why, ACME_WHY_MALFORMED, "%s: why malformed", what);
	acme_jws_free(&j);
	json_decref(b);
}

/* A body of exactly size bytes (compact) if one is found, else NULL. */
static json_t *
body_of_size(size_t size)
{
	char *hdr, *pay;
	json_t *b;
	size_t k, p, n;

	/* base64url makes 4 characters of 3 bytes. */
	for (k = size * 3 / 4 - 600; k < size * 3 / 4; k++) {
		for (p = 0; p < 4; p++) {
			if (asprintf(&hdr, "{\"alg\":\"ES256\",\"kid\":\"" KID
			    "\",\"nonce\":\"" NONCE "\",\"url\":\"" URL "\","
			    "\"pad\":\"%0*d\"}", (int)k, 0) == -1 ||
			    asprintf(&pay, "{\"p\":\"%0*d\"}", (int)p + 1,
			    0) == -1)
				abort();
			b = flat(hdr, pay, "AAAA");
			free(hdr);
			free(pay);
			n = json_dumpb(b, NULL, 0, JSON_COMPACT);
			if (n == size)
				return b;
			json_decref(b);
		}
	}
	return NULL;
}

static void
test_structure(void)
{
	static const struct {
		const char *name, *substr;
	} hdrcases[] = {
		{ "jwk_and_kid", "exactly one of" },
		{ "neither", "exactly one of" },
		{ "no_nonce", "\"nonce\"" },
		{ "empty_nonce", "\"nonce\"" },
		{ "nonce_not_b64", "nonce" },
		{ "nonce_number", "\"nonce\"" },
		{ "no_url", "\"url\"" },
		{ "url_number", "\"url\"" },
		{ "kid_number", "\"kid\"" },
		{ "kid_empty", "\"kid\"" },
		{ "jwk_string", "\"jwk\"" },
		{ "crit", "crit" },
		{ "dup_header", "duplicate" },
		{ "payload_array", "not a JSON object" },
		{ "payload_dup", "duplicate" },
		{ "payload_json_text", "payload" },
	};
	struct acme_jws j;
	json_t *b;
	size_t i;
	char *s;

	for (i = 0; i < sizeof(hdrcases) / sizeof(hdrcases[0]); i++) {
		b = jcase(hdrcases[i].name);
		check_rc(acme_jws_parse(b, &j), CA_INPUT, hdrcases[i].substr,
		    "%s (signed by jwcrypto): malformed", hdrcases[i].name);
		is_int(j.why, ACME_WHY_MALFORMED, "%s: why malformed",
		    hdrcases[i].name);
		is_str(acme_why_type(j.why), T_MALFORMED, "%s: problem type",
		    hdrcases[i].name);
		acme_jws_free(&j);
		json_decref(b);
	}

	struct_expect(json_array(), "not a JSON object", "body an array");
	struct_expect(json_string("x.y.z"), "not a JSON object",
	    "body a compact JWS string");
	b = jcase("kid_es256");
	json_object_set_new(b, "header", json_pack("{s:s}", "kid", "x"));
	struct_expect(b, "flattened", "unprotected \"header\" member refused");
	b = jcase("kid_es256");
	json_object_set_new(b, "header", json_object());
	struct_expect(b, "flattened", "empty \"header\" member refused");
	b = jcase("kid_es256");
	json_object_set_new(b, "x", json_null());
	struct_expect(b, "flattened", "an unknown member refused");
	/* The general serialization. */
	{
		json_t *f = jcase("kid_es256"), *sig;

		sig = json_pack("[{s:O, s:O}]", "protected",
		    json_object_get(f, "protected"), "signature",
		    json_object_get(f, "signature"));
		b = json_pack("{s:O, s:o}", "payload",
		    json_object_get(f, "payload"), "signatures", sig);
		struct_expect(b, "must be strings",
		    "general serialization (\"signatures\") refused");
		b = json_deep_copy(f);
		json_object_set_new(b, "signatures", json_array());
		struct_expect(b, "flattened",
		    "flattened with a \"signatures\" member refused");
		json_decref(f);
	}
	b = jcase("kid_es256");
	json_object_del(b, "signature");
	struct_expect(b, "must be strings", "no signature member");
	b = jcase("kid_es256");
	json_object_del(b, "payload");
	struct_expect(b, "must be strings", "no payload member");
	b = jcase("kid_es256");
	json_object_set_new(b, "protected", json_object());
	struct_expect(b, "must be strings", "protected an object");
	b = jcase("kid_es256");
	json_object_set_new(b, "payload", json_integer(1));
	struct_expect(b, "must be strings", "payload a number");
	b = jcase("kid_es256");
	json_object_set_new(b, "signature", json_string(""));
	struct_expect(b, "empty signature", "empty signature");
	b = jcase("kid_es256");
	json_object_set_new(b, "signature", json_string("AA=="));
	struct_expect(b, "signature", "padded signature");
	b = jcase("kid_es256");
	json_object_set_new(b, "protected", json_string(""));
	struct_expect(b, "empty", "empty protected header");
	b = jcase("kid_es256");
	if (asprintf(&s, "%s=", json_string_value(json_object_get(b,
	    "protected"))) == -1)
		abort();
	json_object_set_new(b, "protected", json_string(s));
	free(s);
	struct_expect(b, "protected header", "protected header with '='");
	b = jcase("kid_es256");
	if (asprintf(&s, " %s", json_string_value(json_object_get(b,
	    "protected"))) == -1)
		abort();
	json_object_set_new(b, "protected", json_string(s));
	free(s);
	struct_expect(b, "protected header", "protected header with a space");
	b = jcase("kid_es256");
	if (asprintf(&s, "%s+", json_string_value(json_object_get(b,
	    "payload"))) == -1)
		abort();
	json_object_set_new(b, "payload", json_string(s));
	free(s);
	struct_expect(b, "payload", "payload with a standard base64 character");
	struct_expect(flat("not json", "{}", "AAAA"), "invalid JSON",
	    "protected header not JSON");
	struct_expect(flat("[1]", "{}", "AAAA"), "not a JSON object",
	    "protected header an array");
	struct_expect(flat("{\"alg\":\"ES256\",\"kid\":\"" KID "\",\"nonce\":\""
	    NONCE "\",\"url\":\"" URL "\"}", "{}x", "AAAA"), "invalid JSON",
	    "payload with trailing bytes");

	/* The size bound, at the boundary. */
	b = body_of_size(CA_MAX_JSON);
	ok(b != NULL, "a body of exactly %d bytes built", CA_MAX_JSON);
	if (b != NULL) {
		check_rc(acme_jws_parse(b, &j), CA_OK, NULL,
		    "a body of exactly %d bytes parses", CA_MAX_JSON);
		acme_jws_free(&j);
		json_decref(b);
	}
	b = body_of_size(CA_MAX_JSON + 1);
	ok(b != NULL, "a body of %d bytes built", CA_MAX_JSON + 1);
	if (b != NULL)
		struct_expect(b, "more than", "a body of CA_MAX_JSON + 1 bytes");
}

/* ---- key change's inner JWS ----------------------------------------- */

static void
test_inner(void)
{
	struct acme_jws j;
	EVP_PKEY *k = NULL;
	json_t *b;

	b = jcase("inner");
	check_rc(acme_jws_parse_inner(b, &j), CA_OK, NULL,
	    "key change: inner JWS parsed");
	ok(j.nonce == NULL && j.kid == NULL && j.jwk != NULL,
	    "inner: jwk, no nonce, no kid");
	is_str(j.url, URL, "inner: url");
	is_str(json_string_value(json_object_get(j.payload, "account")), KID,
	    "inner: payload account");
	check_rc(acme_jws_jwk(&j, &k), CA_OK, NULL, "inner: new key imports");
	check_rc(acme_jws_verify(&j, k), CA_OK, NULL,
	    "inner: verifies with the new key");
	EVP_PKEY_free(k);
	acme_jws_free(&j);
	check_rc(acme_jws_parse(b, &j), CA_INPUT, "\"nonce\"",
	    "the inner JWS is no request (no nonce)");
	acme_jws_free(&j);
	json_decref(b);
	b = jcase("inner_nonce");
	check_rc(acme_jws_parse_inner(b, &j), CA_INPUT, "\"nonce\"",
	    "inner JWS with a nonce refused");
	is_int(j.why, ACME_WHY_MALFORMED, "inner nonce: why malformed");
	acme_jws_free(&j);
	json_decref(b);
	b = jcase("inner_kid");
	check_rc(acme_jws_parse_inner(b, &j), CA_INPUT, "\"jwk\"",
	    "inner JWS with a kid and no jwk refused");
	acme_jws_free(&j);
	json_decref(b);
	b = jcase("jwk_es256");
	check_rc(acme_jws_parse_inner(b, &j), CA_INPUT, "\"nonce\"",
	    "a request (with a nonce) is no inner JWS");
	acme_jws_free(&j);
	json_decref(b);
	b = jcase("postasget");
	check_rc(acme_jws_parse_inner(b, &j), CA_INPUT, NULL,
	    "inner JWS with a kid request's header refused");
	acme_jws_free(&j);
	json_decref(b);
}

/* ---- external account binding --------------------------------------- */

static void
eab_expect(const char *name, const char *kid, const unsigned char *key,
    size_t keylen, const json_t *outer, const char *url, int want,
    const char *substr, const char *what)
{
	json_t *b = jcase(name);

	check_rc(acme_eab_verify(b, kid, key, keylen, outer, url), want, substr,
	    "EAB %s: %s", name, what);
	json_decref(b);
}

/* Rewrite the protected header of the flattened JWS b with alg. */
static void
eab_set_alg(json_t *b, const char *alg)
{
	const char *p = json_string_value(json_object_get(b, "protected"));
	json_t *h;
	struct buf d;
	char *t, *e;

	if (b64url_decode(p, strlen(p), &d) != CA_OK ||
	    (h = json_loadb((const char *)d.data, d.len, 0, NULL)) == NULL)
		abort();
	buf_free(&d);
	json_object_set_new(h, "alg", json_string(alg));
	if ((t = json_dumps(h, JSON_COMPACT)) == NULL ||
	    (e = b64url_encode(t, strlen(t))) == NULL)
		abort();
	json_object_set_new(b, "protected", json_string(e));
	free(t);
	free(e);
	json_decref(h);
}

static void
test_eab(void)
{
	unsigned char other[32];
	struct acme_jws outer;
	json_t *b, *ojwk, *xjwk;
	struct buf s;
	const char *p;
	char *kid = NULL, *e;

	b = jcase("jwk_es256");
	if (acme_jws_parse(b, &outer) != CA_OK)
		abort();
	json_decref(b);
	ojwk = outer.jwk;
	xjwk = jwk_export(keys[K_OTHER], 0);

	eab_expect("eab", EAB_KID, hmac_key, 32, ojwk, URL, CA_OK, NULL,
	    "accepted");
	b = jcase("eab");
	check_rc(acme_eab_kid(b, &kid), CA_OK, NULL, "EAB kid read");
	is_str(kid, EAB_KID, "EAB kid is the binding's");
	free(kid);
	json_decref(b);
	eab_expect("eab_reordered", EAB_KID, hmac_key, 32, ojwk, URL, CA_OK,
	    NULL, "the same key written otherwise: accepted");

	memcpy(other, hmac_key, 32);
	other[0] ^= 1;
	eab_expect("eab", EAB_KID, other, 32, ojwk, URL, CA_REFUSED, "bad MAC",
	    "another MAC key refused");
	eab_expect("eab", EAB_KID, hmac_key, 31, ojwk, URL, CA_REFUSED,
	    "bad MAC", "a MAC key one byte short refused");
	eab_expect("eab", "eab-kid-2", hmac_key, 32, ojwk, URL, CA_REFUSED,
	    "kid", "another kid refused");
	eab_expect("eab", EAB_KID, hmac_key, 32, ojwk,
	    "https://ca.test/acme/other/new-account", CA_REFUSED, "url",
	    "another url refused");
	eab_expect("eab", EAB_KID, hmac_key, 32, xjwk, URL, CA_REFUSED,
	    "another account key", "bound to another account key");
	eab_expect("eab_other_key", EAB_KID, hmac_key, 32, ojwk, URL,
	    CA_REFUSED, "another account key",
	    "payload another key (MAC good)");
	eab_expect("eab_hs384", EAB_KID, hmac_key, 32, ojwk, URL, CA_REFUSED,
	    "only HS256", "HS384 refused");
	eab_expect("eab_hs512", EAB_KID, hmac_key, 32, ojwk, URL, CA_REFUSED,
	    "only HS256", "HS512 refused");
	eab_expect("eab_es256", EAB_KID, hmac_key, 32, ojwk, URL, CA_REFUSED,
	    "only HS256", "ES256 (no MAC) refused");
	eab_expect("eab_nonce", EAB_KID, hmac_key, 32, ojwk, URL, CA_INPUT,
	    "\"nonce\"", "a nonce refused");
	eab_expect("eab_jwk", EAB_KID, hmac_key, 32, ojwk, URL, CA_INPUT,
	    "\"jwk\"", "a jwk refused");
	eab_expect("eab_no_kid", EAB_KID, hmac_key, 32, ojwk, URL, CA_INPUT,
	    "\"kid\"", "no kid refused");
	eab_expect("eab_private", EAB_KID, hmac_key, 32, ojwk, URL, CA_INPUT,
	    "private key", "a private JWK as payload refused");
	eab_expect("eab_empty_payload", EAB_KID, hmac_key, 32, ojwk, URL,
	    CA_INPUT, "empty", "an empty payload refused");
	eab_expect("eab", EAB_KID, hmac_key, 0, ojwk, URL, CA_FAIL, "MAC key",
	    "no MAC key: the caller's error");
	b = json_pack("{s:s}", "kty", "EC");
	eab_expect("eab", EAB_KID, hmac_key, 32, b, URL, CA_INPUT, "account key",
	    "an outer jwk that does not import");
	json_decref(b);

	/* The MAC truncated, and the payload swapped under a good MAC. */
	b = jcase("eab");
	p = json_string_value(json_object_get(b, "signature"));
	if (b64url_decode(p, strlen(p), &s) != CA_OK || s.len != 32)
		abort();
	e = b64url_encode(s.data, 16);
	json_object_set_new(b, "signature", json_string(e));
	free(e);
	check_rc(acme_eab_verify(b, EAB_KID, hmac_key, 32, ojwk, URL),
	    CA_REFUSED, "bad MAC", "EAB MAC truncated to 16 bytes refused");
	json_decref(b);
	buf_free(&s);
	b = jcase("eab");
	{
		json_t *o = jcase("eab_other_key");

		json_object_set(b, "payload", json_object_get(o, "payload"));
		json_decref(o);
	}
	check_rc(acme_eab_verify(b, EAB_KID, hmac_key, 32, xjwk, URL),
	    CA_REFUSED, "bad MAC",
	    "EAB payload swapped for another key: bad MAC");
	json_decref(b);
	b = jcase("eab");
	json_object_set_new(b, "header", json_object());
	check_rc(acme_eab_verify(b, EAB_KID, hmac_key, 32, ojwk, URL),
	    CA_INPUT, "flattened", "EAB with an unprotected header refused");
	json_decref(b);

	/* alg "none", with or without a MAC: refused before any MAC. */
	{
		const char *sigs[] = { "", "AAAA" };
		size_t k;

		for (k = 0; k < 2; k++) {
			b = jcase("eab");
			eab_set_alg(b, "none");
			json_object_set_new(b, "signature", json_string(sigs[k]));
			check_rc(acme_eab_verify(b, EAB_KID, hmac_key, 32, ojwk,
			    URL), CA_REFUSED, "only HS256", "EAB alg none (%s "
			    "signature) refused", k == 0 ? "empty" : "some");
			json_decref(b);
		}
	}
	/* A refusal's message never repeats the binding's own bytes. */
	eab_expect("eab", EAB_KID, hmac_key, 32, ojwk,
	    "https://ca.test/acme/other/new-account", CA_REFUSED, "url",
	    "another url refused (again)");
	ok(strstr(err_msg(), "ca.test") == NULL, "the url is not quoted");
	eab_expect("eab", "eab-kid-2", hmac_key, 32, ojwk, URL, CA_REFUSED,
	    "kid", "another kid refused (again)");
	ok(strstr(err_msg(), EAB_KID) == NULL, "the kid is not quoted");
	eab_expect("eab_hs384", EAB_KID, hmac_key, 32, ojwk, URL, CA_REFUSED,
	    "only HS256", "HS384 refused (again)");
	ok(strstr(err_msg(), "HS384") == NULL, "the alg is not quoted");

	/* An EAB is no request: HS256 is not an account key's alg. */
	b = jcase("eab");
	{
		struct acme_jws j;

		check_rc(acme_jws_parse(b, &j), CA_REFUSED,
		    "badSignatureAlgorithm", "an EAB JWS as a request: "
		    "badSignatureAlgorithm");
		acme_jws_free(&j);
	}
	json_decref(b);
	json_decref(xjwk);
	acme_jws_free(&outer);
}

/* ---- key authorization ---------------------------------------------- */

static void
test_authz(void)
{
	static const int ks[] = { K_ES256, K_RS256, K_EDDSA };
	static const char *const badtok[] = { "", "a+b", "abc=", "ab cd",
	    "tok_abc-123", "a" };
	unsigned char md[ACME_DIGEST_LEN];
	char hex[2 * ACME_DIGEST_LEN + 1], *ka, *dns;
	json_t *want;
	size_t i, n;

	for (i = 0; i < 3; i++) {
		want = json_object_get(json_object_get(cases, "authz"),
		    keyname[ks[i]]);
		ka = acme_key_authz(token, keys[ks[i]]);
		is_str(ka, json_string_value(json_object_get(want,
		    "keyAuthorization")), "%s: key authorization equals "
		    "jwcrypto's token.thumbprint", keyname[ks[i]]);
		dns = acme_dns01_value(ka);
		is_str(dns, json_string_value(json_object_get(want, "dns01")),
		    "%s: dns-01 value equals hashlib's", keyname[ks[i]]);
		memset(hex, 0, sizeof(hex));
		if (acme_keyauthz_digest(ka, md) == CA_OK)
			for (n = 0; n < ACME_DIGEST_LEN; n++)
				snprintf(hex + 2 * n, 3, "%02x", md[n]);
		is_str(hex, json_string_value(json_object_get(want, "digest")),
		    "%s: tls-alpn-01 digest equals hashlib's", keyname[ks[i]]);
		free(ka);
		free(dns);
	}
	for (i = 0; i < sizeof(badtok) / sizeof(badtok[0]); i++) {
		ka = acme_key_authz(badtok[i], keys[K_ES256]);
		ok(ka == NULL && err_code() == CA_INPUT,
		    "token \"%s\" refused", badtok[i]);
		free(ka);
	}
	ok(acme_key_authz(NULL, keys[K_ES256]) == NULL, "NULL token refused");
	ok(acme_key_authz(token, NULL) == NULL, "no account key: NULL");
	check_rc(acme_keyauthz_digest(NULL, md), CA_FAIL, NULL,
	    "digest of NULL: CA_FAIL");
}

/* RFC 7638 section 3.1's key and thumbprint: a fixed key authorization. */
static void
test_authz_rfc7638(void)
{
	static const char jwk[] =
	    "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWh"
	    "M78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknj"
	    "hMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
	    "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08q"
	    "NLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44"
	    "-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\"}";
	EVP_PKEY *k = NULL;
	json_t *j;
	char *ka;

	if ((j = json_loads(jwk, 0, NULL)) == NULL ||
	    jwk_import(j, JWK_PUBLIC, &k) != CA_OK)
		abort();
	ka = acme_key_authz("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", k);
	is_str(ka, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA."
	    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
	    "key authorization of the RFC 7638 key: token.thumbprint");
	free(ka);
	EVP_PKEY_free(k);
	json_decref(j);
}

static void
test_why(void)
{
	is_str(acme_why_type(ACME_WHY_NONE), NULL, "why none: no type");
	is_str(acme_why_type(ACME_WHY_MALFORMED), T_MALFORMED,
	    "why malformed: malformed");
	is_str(acme_why_type(ACME_WHY_BAD_ALG), T_BADALG,
	    "why bad alg: badSignatureAlgorithm");
	is_str(acme_why_type(ACME_WHY_BAD_SIG), T_MALFORMED,
	    "why bad signature: malformed");
	is_str(acme_why_type(ACME_WHY_BAD_KEY),
	    "urn:ietf:params:acme:error:badPublicKey",
	    "why bad key: badPublicKey");
	is_str(acme_why_type(ACME_WHY_UNAUTHORIZED),
	    "urn:ietf:params:acme:error:unauthorized",
	    "why unauthorized: unauthorized");
}

/* ---- setup: keys here, signatures by jwcrypto ------------------------ */

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void
write_key(const char *dir, const char *name, EVP_PKEY *k)
{
	char *p;
	FILE *f;

	if (asprintf(&p, "%s/%s.pem", dir, name) == -1 ||
	    (f = fopen(p, "w")) == NULL ||
	    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fclose(f) != 0)
		abort();
	free(p);
}

static void
write_bytes(const char *dir, const char *name, const void *d, size_t n)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) == -1 ||
	    io_write_excl(p, d, n, 0600) != CA_OK)
		abort();
	free(p);
}

/* Make the keys, run the helper; 0 when cases.json was read. */
static int
setup(char *dir)
{
	char *cmd, line[512], *p;
	unsigned char rnd[32];
	struct buf b;
	json_error_t e;
	FILE *fp;
	int st, lines = 0;
	size_t i;

	keys[K_ES256] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keys[K_ES384] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	keys[K_ES512] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	keys[K_RS256] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	keys[K_RSA1024] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	keys[K_EDDSA] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	keys[K_OTHER] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	for (i = 0; i < NKEYS; i++)
		if (keys[i] == NULL)
			abort();
	if (RAND_bytes(hmac_key, sizeof(hmac_key)) != 1 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    (token = b64url_encode(rnd, sizeof(rnd))) == NULL)
		abort();
	if (access(INTEROP, R_OK) != 0) {
		ok(0, INTEROP " found (run from the repository root)");
		return 1;
	}
	if (system(PYTHON " -c 'import jwcrypto' >/dev/null 2>&1") != 0) {
		ok(0, "python3-jwcrypto installed (make deps)");
		return 1;
	}
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return 1;
	}
	for (i = 0; i < NKEYS; i++)
		write_key(dir, keyname[i], keys[i]);
	write_bytes(dir, "hmac.key", hmac_key, sizeof(hmac_key));
	write_bytes(dir, "token", token, strlen(token));
	if (asprintf(&cmd, PYTHON " " INTEROP " %s 2>&1", dir) == -1 ||
	    (fp = popen(cmd, "r")) == NULL)
		abort();
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "ok - ", 5) == 0) {
			lines++;
		} else if (strncmp(line, "not ok - ", 9) == 0) {
			ok(0, "jwcrypto: %s", line + 9);
			lines++;
		} else
			printf("# %s\n", line);
	}
	st = pclose(fp);
	free(cmd);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && lines >= 9,
	    "acmejws_interop.py ran its %d steps and exited 0", lines);
	if (asprintf(&p, "%s/cases.json", dir) == -1)
		abort();
	if (io_read_file(p, 1024 * 1024, &b) != CA_OK) {
		free(p);
		ok(0, "cases.json read: %s", err_msg());
		return 1;
	}
	free(p);
	cases = json_loadb((char *)b.data, b.len, 0, &e);
	buf_free(&b);
	ok(cases != NULL, "cases.json is JSON");
	return cases == NULL;
}

int
main(void)
{
	char dir[] = "/tmp/inca-acmejws-XXXXXX";
	size_t i;
	int bad;

	err_prog("test_acmejws");
	setvbuf(stdout, NULL, _IOLBF, 0);
	bad = setup(dir);
	test_why();
	test_authz_rfc7638();
	if (!bad) {
		test_accepted();
		test_algs();
		test_keys();
		test_verify();
		test_structure();
		test_inner();
		test_eab();
		test_authz();
	}
	if (dir[strlen(dir) - 1] != 'X')
		nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	json_decref(cases);
	for (i = 0; i < NKEYS; i++)
		EVP_PKEY_free(keys[i]);
	free(token);
	return tap_done();
}
