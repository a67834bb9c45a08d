/*
 * Unit tests for lib/b64 and lib/jose: strict base64, the RFC 7638 and
 * RFC 7515 A.3 vectors, JWK import/export, JWS sign/parse/verify with
 * every refusal, PBES2 JWE, and interoperability with jwcrypto (run from
 * the repository root; skipped when /usr/bin/python3 lacks jwcrypto).
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
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "b64.h"
#include "ca_limits.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "tap.h"

#define PYTHON		"/usr/bin/python3"
#define INTEROP		"tests/unit/jose_interop.py"
#define PASSWORD	"correct horse battery staple \xc3\xa9"

/* RFC 7638 section 3.1 */
static const char rfc7638_jwk[] =
    "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWh"
    "M78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknj"
    "hMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
    "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08q"
    "NLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44"
    "-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\","
    "\"kid\":\"2011-04-29\"}";
static const char rfc7638_thumb[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/* RFC 7515 appendix A.3 */
static const char a3_jwk_pub[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
static const char a3_jwk_priv[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
    "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}";
static const char a3_hdr[] = "eyJhbGciOiJFUzI1NiJ9";
static const char a3_payload[] =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
static const char a3_sig[] =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
    "pmWQxfKTUJqPP3-Kg6NU1Q";

/* ---- helpers ------------------------------------------------------- */

static void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		abort();
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		abort();
	return p;
}

static char *
enc(const void *p, size_t n)
{
	char *s;

	if ((s = b64url_encode(p, n)) == NULL)
		abort();
	return s;
}

static char *
enc_str(const char *s)
{
	return enc(s, strlen(s));
}

/* a.b.c... joined by '.', malloc'd. */
static char *
join(char *const *seg, size_t n)
{
	size_t i, total = 0;
	char *out;

	for (i = 0; i < n; i++)
		total += strlen(seg[i]) + 1;
	out = xmalloc(total);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(out, seg[i]);
		if (i + 1 < n)
			strcat(out, ".");
	}
	return out;
}

/* Split a compact token into exactly n malloc'd segments; abort if not. */
static void
split(const char *tok, char **seg, size_t n)
{
	const char *p = tok, *dot;
	size_t i;

	for (i = 0; i < n; i++) {
		dot = strchr(p, '.');
		if ((dot == NULL) != (i + 1 == n))
			abort();
		if (dot == NULL)
			dot = p + strlen(p);
		seg[i] = xmalloc((size_t)(dot - p) + 1);
		memcpy(seg[i], p, (size_t)(dot - p));
		seg[i][dot - p] = '\0';
		p = dot + 1;
	}
}

static void
free_segs(char **seg, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(seg[i]);
		seg[i] = NULL;
	}
}

static int
dec_rc(const char *s, size_t n, int url)
{
	struct buf b;
	int rc;

	rc = url ? b64url_decode(s, n, &b) : b64_decode(s, n, &b);
	buf_free(&b);
	return rc;
}

static json_t *
load(const char *s)
{
	json_error_t e;
	json_t *j;

	if ((j = json_loads(s, JSON_DECODE_ANY, &e)) == NULL) {
		printf("# bad test JSON: %s\n", e.text);
		abort();
	}
	return j;
}

static EVP_PKEY *
import_str(const char *s, enum jwk_part part, int *rc)
{
	EVP_PKEY *k = NULL;
	json_t *j = load(s);

	*rc = jwk_import(j, part, &k);
	json_decref(j);
	return k;
}

static int
parse_rc(const char *tok)
{
	struct jws j;
	int rc;

	rc = jws_parse(tok, strlen(tok), &j);
	jws_free(&j);
	return rc;
}

/* Parse and, if that works, verify with key. */
static int
verify_rc(const char *tok, EVP_PKEY *key)
{
	struct jws j;
	int rc;

	if ((rc = jws_parse(tok, strlen(tok), &j)) == CA_OK)
		rc = jws_verify(&j, key);
	jws_free(&j);
	return rc;
}

/*
 * Sign hdr.payload (JSON texts, used verbatim) with an EC P-256 key, or
 * with HMAC-SHA256 under secret when key is NULL: tokens the library would
 * never make, to test the parser and verifier on their own.
 */
static char *
craft(EVP_PKEY *key, const unsigned char *secret, size_t secret_len,
    const char *hdr, const char *payload)
{
	unsigned char sig[64], mac[EVP_MAX_MD_SIZE], *der;
	const unsigned char *pp;
	unsigned int maclen;
	char *seg[3], *input, *tok;
	const BIGNUM *r, *s;
	EVP_MD_CTX *m;
	ECDSA_SIG *es;
	size_t derlen;

	seg[0] = enc_str(hdr);
	seg[1] = enc_str(payload);
	input = join(seg, 2);
	if (key == NULL) {
		if (HMAC(EVP_sha256(), secret, (int)secret_len,
		    (unsigned char *)input, strlen(input), mac, &maclen) == NULL)
			abort();
		seg[2] = enc(mac, maclen);
	} else {
		if ((m = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, key) != 1 ||
		    EVP_DigestSign(m, NULL, &derlen, (unsigned char *)input,
		    strlen(input)) != 1)
			abort();
		der = xmalloc(derlen);
		if (EVP_DigestSign(m, der, &derlen, (unsigned char *)input,
		    strlen(input)) != 1)
			abort();
		pp = der;
		if ((es = d2i_ECDSA_SIG(NULL, &pp, (long)derlen)) == NULL)
			abort();
		ECDSA_SIG_get0(es, &r, &s);
		BN_bn2binpad(r, sig, 32);
		BN_bn2binpad(s, sig + 32, 32);
		seg[2] = enc(sig, 64);
		ECDSA_SIG_free(es);
		free(der);
		EVP_MD_CTX_free(m);
	}
	tok = join(seg, 3);
	free(input);
	free_segs(seg, 3);
	return tok;
}

/* Replace segment i of a compact token with the base64url of p. */
static char *
replace_seg(const char *tok, size_t nseg, size_t i, const void *p, size_t n)
{
	char *seg[5], *out;

	split(tok, seg, nseg);
	free(seg[i]);
	seg[i] = enc(p, n);
	out = join(seg, nseg);
	free_segs(seg, nseg);
	return out;
}

/* Decode segment i of a compact token into b. */
static void
get_seg(const char *tok, size_t nseg, size_t i, struct buf *b)
{
	char *seg[5];

	split(tok, seg, nseg);
	if (b64url_decode(seg[i], strlen(seg[i]), b) != CA_OK)
		abort();
	free_segs(seg, nseg);
}

/* Flip one bit of decoded segment i at byte off (from the end if < 0). */
static char *
flip_seg(const char *tok, size_t nseg, size_t i, long off)
{
	struct buf b;
	char *out;

	get_seg(tok, nseg, i, &b);
	if (b.len == 0)
		abort();
	b.data[off < 0 ? (long)b.len + off : off] ^= 0x01;
	out = replace_seg(tok, nseg, i, b.data, b.len);
	buf_free(&b);
	return out;
}

static EVP_PKEY *
gen_ec(const char *curve)
{
	EVP_PKEY *k;

	if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve)) == NULL)
		abort();
	return k;
}

static EVP_PKEY *
gen_rsa(size_t bits)
{
	EVP_PKEY *k;

	if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits)) == NULL)
		abort();
	return k;
}

static EVP_PKEY *
gen_ed25519(void)
{
	EVP_PKEY *k;

	if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
		abort();
	return k;
}

static char *
dump(const json_t *j)
{
	char *s;

	if ((s = json_dumps(j, JSON_COMPACT)) == NULL)
		abort();
	return s;
}

/* A copy of the JSON text of jwk with member name set to value (JSON). */
static char *
with_member(const char *jwk, const char *name, const char *value)
{
	json_t *j = load(jwk);
	char *s;

	if (value == NULL)
		json_object_del(j, name);
	else
		json_object_set_new(j, name, load(value));
	s = dump(j);
	json_decref(j);
	return s;
}

/* ---- b64 ----------------------------------------------------------- */

static void
test_b64(void)
{
	static const struct {
		const char *in, *url, *std;
	} v[] = {
		{ "", "", "" },
		{ "f", "Zg", "Zg==" },
		{ "fo", "Zm8", "Zm8=" },
		{ "foo", "Zm9v", "Zm9v" },
		{ "foob", "Zm9vYg", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
	};
	static const unsigned char hi[] = { 0xfb, 0xff, 0xbf };
	static const struct {
		const char *s;
		const char *why;
	} bad_url[] = {
		{ "Zg==", "padding" },
		{ "Zm8=", "padding" },
		{ "Zm9v\n", "trailing newline" },
		{ "Zm 9v", "space" },
		{ " Zm9v", "leading space" },
		{ "Zm9v\t", "tab" },
		{ "Zm9v+A", "'+' (standard alphabet)" },
		{ "Zm9v/A", "'/' (standard alphabet)" },
		{ "Zm9v*A", "'*'" },
		{ "Z", "length 1 mod 4" },
		{ "Zm9vY", "length 5" },
		{ "Zh", "unused bits set (1 byte)" },
		{ "Zm9", "unused bits set (2 bytes)" },
		{ "Zm\xc3\xa9", "non-ASCII" },
	};
	static const struct {
		const char *s;
		const char *why;
	} bad_std[] = {
		{ "Zg", "missing padding" },
		{ "Zg=", "short padding" },
		{ "Z===", "three '='" },
		{ "Zg=a", "misplaced '='" },
		{ "=Zm9", "leading '='" },
		{ "Zh==", "unused bits set" },
		{ "Zm9=", "unused bits set (2 bytes)" },
		{ "-_8=", "URL alphabet" },
		{ "Zm9v\n", "newline" },
		{ "Zm9v Zm9v", "space" },
	};
	unsigned char rnd[64];
	struct buf b;
	char *s;
	size_t i, n;
	int rc, all;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		s = b64url_encode(v[i].in, strlen(v[i].in));
		is_str(s, v[i].url, "b64url encode \"%s\"", v[i].in);
		free(s);
		s = b64_encode(v[i].in, strlen(v[i].in));
		is_str(s, v[i].std, "b64 encode \"%s\"", v[i].in);
		free(s);
		rc = b64url_decode(v[i].url, strlen(v[i].url), &b);
		ok(rc == CA_OK && b.len == strlen(v[i].in) &&
		    memcmp(b.data, v[i].in, b.len) == 0 && b.data[b.len] == 0,
		    "b64url decode \"%s\"", v[i].url);
		buf_free(&b);
		rc = b64_decode(v[i].std, strlen(v[i].std), &b);
		ok(rc == CA_OK && b.len == strlen(v[i].in) &&
		    memcmp(b.data, v[i].in, b.len) == 0,
		    "b64 decode \"%s\"", v[i].std);
		buf_free(&b);
	}
	s = b64url_encode(hi, sizeof(hi));
	is_str(s, "-_-_", "b64url uses '-' and '_'");
	free(s);
	s = b64_encode(hi, sizeof(hi));
	is_str(s, "+/+/", "b64 uses '+' and '/'");
	free(s);
	is_int(b64url_len(0), 0, "b64url_len(0)");
	is_int(b64url_len(32), 43, "b64url_len(32)");
	is_int(b64url_len(64), 86, "b64url_len(64)");

	/* Every length 0..64 of random bytes survives a round trip. */
	all = 1;
	for (n = 0; n <= sizeof(rnd); n++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			abort();
		s = enc(rnd, n);
		if (strlen(s) != b64url_len(n) ||
		    b64url_decode(s, strlen(s), &b) != CA_OK || b.len != n ||
		    memcmp(b.data, rnd, n) != 0)
			all = 0;
		buf_free(&b);
		free(s);
		s = b64_encode(rnd, n);
		if (s == NULL || b64_decode(s, strlen(s), &b) != CA_OK ||
		    b.len != n || memcmp(b.data, rnd, n) != 0)
			all = 0;
		buf_free(&b);
		free(s);
	}
	ok(all, "b64url and b64 round trips, 0..64 bytes");

	for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++) {
		rc = dec_rc(bad_url[i].s, strlen(bad_url[i].s), 1);
		check_rc(rc, CA_INPUT, "base64url", "b64url refuses %s",
		    bad_url[i].why);
	}
	rc = dec_rc("Zm\0v", 4, 1);
	check_rc(rc, CA_INPUT, "invalid character", "b64url refuses NUL");
	rc = dec_rc("Zg==", 4, 1);
	check_rc(rc, CA_INPUT, "padding", "b64url padding message");
	rc = dec_rc("Zh", 2, 1);
	check_rc(rc, CA_INPUT, "non-canonical", "b64url trailing-bits message");
	rc = dec_rc("", 0, 1);
	check_rc(rc, CA_OK, NULL, "b64url accepts the empty string");
	rc = b64url_decode("Zm9vYmFy", 4, &b);
	ok(rc == CA_OK && b.len == 3 && memcmp(b.data, "foo", 3) == 0,
	    "b64url decodes only len characters");
	buf_free(&b);
	rc = b64url_decode("Zh", 2, &b);
	ok(rc == CA_INPUT && b.data == NULL && b.len == 0,
	    "b64url leaves out empty on failure");
	buf_free(&b);

	for (i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++) {
		rc = dec_rc(bad_std[i].s, strlen(bad_std[i].s), 0);
		check_rc(rc, CA_INPUT, "base64", "b64 refuses %s",
		    bad_std[i].why);
	}
	rc = dec_rc("", 0, 0);
	check_rc(rc, CA_OK, NULL, "b64 accepts the empty string");
}

/* ---- JWK ----------------------------------------------------------- */

static void
test_rfc7638(void)
{
	EVP_PKEY *k;
	char *t;
	const char *alg;
	int rc;

	k = import_str(rfc7638_jwk, JWK_PUBLIC, &rc);
	check_rc(rc, CA_OK, NULL, "RFC 7638 RSA JWK imports");
	if (k == NULL)
		return;
	t = jwk_thumbprint(k);
	is_str(t, rfc7638_thumb, "RFC 7638 section 3.1 thumbprint");
	free(t);
	rc = jose_key_alg(k, &alg);
	ok(rc == CA_OK && strcmp(alg, "RS256") == 0, "RSA 2048 -> RS256");
	EVP_PKEY_free(k);
}

/* Export, re-import both ways and compare thumbprints. */
static void
test_jwk_roundtrip(EVP_PKEY *k, const char *name, const char *want_alg)
{
	EVP_PKEY *pub = NULL, *priv = NULL, *tmp = NULL;
	json_t *jpub, *jpriv;
	char *t0, *t1, *t2, *s;
	const char *alg;
	int rc;

	jpub = jwk_export(k, 0);
	jpriv = jwk_export(k, 1);
	ok(jpub != NULL && jpriv != NULL, "%s: export", name);
	if (jpub == NULL || jpriv == NULL)
		return;
	ok(json_object_get(jpub, "d") == NULL &&
	    json_object_get(jpriv, "d") != NULL,
	    "%s: d only in the private export", name);
	rc = jwk_import(jpub, JWK_PUBLIC, &pub);
	check_rc(rc, CA_OK, NULL, "%s: public JWK imports", name);
	rc = jwk_import(jpriv, JWK_PRIVATE, &priv);
	check_rc(rc, CA_OK, NULL, "%s: private JWK imports", name);
	rc = jwk_import(jpriv, JWK_PUBLIC, &tmp);
	check_rc(rc, CA_INPUT, "public key is expected",
	    "%s: private JWK refused where a public one is expected", name);
	EVP_PKEY_free(tmp);
	t0 = jwk_thumbprint(k);
	t1 = pub ? jwk_thumbprint(pub) : NULL;
	t2 = priv ? jwk_thumbprint(priv) : NULL;
	ok(t0 && t1 && t2 && strlen(t0) == 43 && strcmp(t0, t1) == 0 &&
	    strcmp(t0, t2) == 0, "%s: thumbprints agree after round trip",
	    name);
	rc = jose_key_alg(k, &alg);
	ok(rc == CA_OK && strcmp(alg, want_alg) == 0, "%s -> %s", name,
	    want_alg);
	if (priv != NULL) {
		json_t *again = jwk_export(priv, 1);
		char *a = dump(jpriv), *b2 = again ? dump(again) : NULL;

		is_str(b2, a, "%s: private export is stable", name);
		free(a);
		io_wipe_str(b2);
		jose_json_wipe(again);
	}
	s = dump(jpub);
	ok(strstr(s, "\"d\"") == NULL, "%s: public JSON has no d", name);
	free(s);
	free(t0);
	free(t1);
	free(t2);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
	json_decref(jpub);
	jose_json_wipe(jpriv);
}

static void
test_jwk_strict(void)
{
	EVP_PKEY *k, *other;
	json_t *j;
	char *s, *t, *pubs, *ops;
	struct buf b;
	int rc;

	k = import_str(a3_jwk_priv, JWK_PRIVATE, &rc);
	check_rc(rc, CA_OK, NULL, "RFC 7515 A.3 private JWK imports");
	EVP_PKEY_free(k);
	k = import_str(a3_jwk_priv, JWK_ANY, &rc);
	check_rc(rc, CA_OK, NULL, "JWK_ANY accepts a private key");
	EVP_PKEY_free(k);
	k = import_str(a3_jwk_pub, JWK_ANY, &rc);
	check_rc(rc, CA_OK, NULL, "JWK_ANY accepts a public key");
	EVP_PKEY_free(k);
	k = import_str(a3_jwk_pub, JWK_PRIVATE, &rc);
	check_rc(rc, CA_INPUT, "not a private key",
	    "JWK_PRIVATE refuses a public key");
	ok(k == NULL, "no key on failure");

#define REFUSE_JWK(text, part, substr, name) do {			\
	EVP_PKEY *k_ = import_str((text), (part), &rc);			\
	check_rc(rc, CA_INPUT, (substr), (name));			\
	EVP_PKEY_free(k_);						\
} while (0)

	REFUSE_JWK("[]", JWK_ANY, "not a JSON object", "JWK array refused");
	REFUSE_JWK("{\"kty\":\"oct\",\"k\":\"AAAA\"}", JWK_ANY,
	    "unsupported kty \"oct\"", "kty oct refused");
	REFUSE_JWK("{\"kty\":\"ec\"}", JWK_ANY, "unsupported kty",
	    "kty is case-sensitive");
	REFUSE_JWK("{\"crv\":\"P-256\"}", JWK_ANY, "missing \"kty\"",
	    "kty missing");
	REFUSE_JWK("{\"kty\":1}", JWK_ANY, "not a string", "kty not a string");
	s = with_member(a3_jwk_pub, "crv", "\"P-192\"");
	REFUSE_JWK(s, JWK_ANY, "unsupported EC crv \"P-192\"",
	    "crv P-192 refused");
	free(s);
	s = with_member(a3_jwk_pub, "crv", "\"secp256k1\"");
	REFUSE_JWK(s, JWK_ANY, "unsupported EC crv", "crv secp256k1 refused");
	free(s);
	s = with_member(a3_jwk_pub, "crv", "\"P-384\"");
	REFUSE_JWK(s, JWK_ANY, "must be 48 bytes",
	    "P-256 coordinates with crv P-384 refused");
	free(s);
	s = with_member(a3_jwk_pub, "y", NULL);
	REFUSE_JWK(s, JWK_ANY, "missing \"y\"", "EC y missing");
	free(s);
	s = with_member(a3_jwk_pub, "x", "42");
	REFUSE_JWK(s, JWK_ANY, "\"x\" is not a string", "EC x not a string");
	free(s);
	s = with_member(a3_jwk_pub, "x",
	    "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU=\"");
	REFUSE_JWK(s, JWK_ANY, "padding", "EC x with padding refused");
	free(s);
	/* x as 31 bytes (leading byte dropped) and 33 (zero prepended) */
	j = load(a3_jwk_pub);
	if (b64url_decode(json_string_value(json_object_get(j, "x")), 43,
	    &b) != CA_OK || b.len != 32)
		abort();
	json_decref(j);
	{
		unsigned char x33[33];
		char *e, *q;

		e = enc(b.data + 1, 31);
		if (asprintf(&q, "\"%s\"", e) == -1)
			abort();
		s = with_member(a3_jwk_pub, "x", q);
		REFUSE_JWK(s, JWK_ANY, "must be 32 bytes",
		    "EC x of 31 bytes refused");
		free(s);
		free(q);
		free(e);
		x33[0] = 0;
		memcpy(x33 + 1, b.data, 32);
		e = enc(x33, 33);
		if (asprintf(&q, "\"%s\"", e) == -1)
			abort();
		s = with_member(a3_jwk_pub, "x", q);
		REFUSE_JWK(s, JWK_ANY, "must be 32 bytes",
		    "EC x with a leading zero (33 bytes) refused");
		free(s);
		free(q);
		free(e);
	}
	buf_free(&b);
	/* The A.3 point with y's last byte changed is not on the curve. */
	s = with_member(a3_jwk_pub, "y",
	    "\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4\"");
	REFUSE_JWK(s, JWK_ANY, "invalid EC key", "point not on the curve");
	free(s);
	s = with_member(a3_jwk_priv, "d",
	    "\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LA\"");
	REFUSE_JWK(s, JWK_ANY, "does not match", "EC d not matching x, y");
	free(s);
	s = with_member(a3_jwk_priv, "d",
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"");
	REFUSE_JWK(s, JWK_ANY, NULL, "EC d = 0 refused");
	free(s);
	s = with_member(a3_jwk_priv, "d", "\"jpsQ\"");
	REFUSE_JWK(s, JWK_ANY, "must be 32 bytes", "EC d too short");
	free(s);
	s = with_member(a3_jwk_pub, "alg", "\"ES384\"");
	REFUSE_JWK(s, JWK_ANY, "does not match the key",
	    "JWK alg ES384 on a P-256 key refused");
	free(s);
	s = with_member(a3_jwk_pub, "alg", "\"ES256\"");
	k = import_str(s, JWK_PUBLIC, &rc);
	check_rc(rc, CA_OK, NULL, "JWK alg ES256 on a P-256 key accepted");
	EVP_PKEY_free(k);
	free(s);
	s = with_member(a3_jwk_pub, "use", "\"sig\"");
	t = with_member(s, "kid", "\"x\"");
	k = import_str(t, JWK_PUBLIC, &rc);
	check_rc(rc, CA_OK, NULL, "JWK kid and use ignored");
	EVP_PKEY_free(k);
	free(s);
	free(t);

	/* RSA */
	s = with_member(rfc7638_jwk, "e", "\"AAEAAQ\"");
	REFUSE_JWK(s, JWK_ANY, "leading zero", "RSA e with a leading zero");
	free(s);
	j = load(rfc7638_jwk);
	if (b64url_decode(json_string_value(json_object_get(j, "n")),
	    json_string_length(json_object_get(j, "n")), &b) != CA_OK)
		abort();
	{
		unsigned char *z = xmalloc(b.len + 1);
		char *nz, *q;

		z[0] = 0;
		memcpy(z + 1, b.data, b.len);
		nz = enc(z, b.len + 1);
		if (asprintf(&q, "\"%s\"", nz) == -1)
			abort();
		s = with_member(rfc7638_jwk, "n", q);
		REFUSE_JWK(s, JWK_ANY, "leading zero",
		    "RSA n with a leading zero");
		free(s);
		free(q);
		free(nz);
		free(z);
		/* An even modulus is no RSA modulus. */
		b.data[b.len - 1] &= 0xfe;
		nz = enc(b.data, b.len);
		if (asprintf(&q, "\"%s\"", nz) == -1)
			abort();
		s = with_member(rfc7638_jwk, "n", q);
		REFUSE_JWK(s, JWK_ANY, "invalid RSA", "RSA even n refused");
		free(s);
		free(q);
		free(nz);
	}
	buf_free(&b);
	json_decref(j);
	s = with_member(rfc7638_jwk, "e", "\"AQAA\"");
	REFUSE_JWK(s, JWK_ANY, "invalid RSA", "RSA even e refused");
	free(s);
	s = with_member(rfc7638_jwk, "e", "\"AQ\"");
	REFUSE_JWK(s, JWK_ANY, "invalid RSA", "RSA e = 1 refused");
	free(s);
	s = with_member(rfc7638_jwk, "e", "\"Aw\"");
	REFUSE_JWK(s, JWK_ANY, "jwk: RSA public exponent 3: only 65537 accepted",
	    "RSA e = 3 refused (key_check)");
	free(s);
	s = with_member(rfc7638_jwk, "e", "\"AQAD\"");
	REFUSE_JWK(s, JWK_ANY, "jwk: RSA public exponent 65539: only 65537 accepted",
	    "RSA e = 65539 refused (key_check)");
	free(s);
	s = with_member(rfc7638_jwk, "p", "\"AQAB\"");
	REFUSE_JWK(s, JWK_ANY, "without \"d\"", "RSA p without d refused");
	free(s);
	s = with_member(rfc7638_jwk, "oth", "[]");
	REFUSE_JWK(s, JWK_ANY, "multi-prime", "RSA oth refused");
	free(s);
	s = with_member(rfc7638_jwk, "alg", "\"PS256\"");
	REFUSE_JWK(s, JWK_ANY, "does not match", "RSA JWK alg PS256 refused");
	free(s);

	/* A private RSA JWK missing a CRT member, or with a wrong one. */
	other = gen_rsa(2048);
	j = jwk_export(other, 1);
	json_object_del(j, "qi");
	s = dump(j);
	REFUSE_JWK(s, JWK_ANY, "missing \"qi\"", "RSA d without qi refused");
	io_wipe_str(s);
	jose_json_wipe(j);
	j = jwk_export(other, 1);
	json_object_set(j, "dp", json_object_get(j, "dq"));
	s = dump(j);
	REFUSE_JWK(s, JWK_ANY, "does not match", "RSA wrong dp refused");
	io_wipe_str(s);
	jose_json_wipe(j);
	EVP_PKEY_free(other);

	/* OKP */
	other = gen_ed25519();
	j = jwk_export(other, 1);
	pubs = dump(j);
	json_object_set_new(j, "crv", json_string("X25519"));
	s = dump(j);
	REFUSE_JWK(s, JWK_ANY, "unsupported OKP crv \"X25519\"",
	    "OKP X25519 refused");
	io_wipe_str(s);
	json_object_set_new(j, "crv", json_string("Ed448"));
	s = dump(j);
	REFUSE_JWK(s, JWK_ANY, "unsupported OKP crv", "OKP Ed448 refused");
	io_wipe_str(s);
	json_object_set_new(j, "crv", json_string("Ed25519"));
	json_object_set_new(j, "x", json_string("AAAA"));
	s = dump(j);
	REFUSE_JWK(s, JWK_ANY, "32 bytes", "Ed25519 x of 3 bytes refused");
	io_wipe_str(s);
	jose_json_wipe(j);
	/* d of one key with x of another */
	k = gen_ed25519();
	j = jwk_export(k, 0);
	ops = dump(j);
	json_decref(j);
	{
		json_t *jp = load(pubs), *jo = load(ops);

		json_object_set(jp, "x", json_object_get(jo, "x"));
		s = dump(jp);
		REFUSE_JWK(s, JWK_ANY, "does not match",
		    "Ed25519 d not matching x refused");
		io_wipe_str(s);
		jose_json_wipe(jp);
		json_decref(jo);
	}
	io_wipe_str(pubs);
	free(ops);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);

	/* Key types and sizes without a JWS algorithm */
	{
		const char *alg;
		char *tp;

		k = gen_rsa(1024);
		rc = jose_key_alg(k, &alg);
		check_rc(rc, CA_REFUSED, "below 2048", "RSA 1024 has no alg");
		j = json_pack("{s:s}", "sub", "x");
		rc = jws_sign(k, "kid", NULL, j, &tp);
		check_rc(rc, CA_REFUSED, "below 2048",
		    "jws_sign refuses RSA 1024");
		json_decref(j);
		j = jwk_export(k, 0);
		json_object_set_new(j, "alg", json_string("RS256"));
		other = NULL;
		rc = jwk_import(j, JWK_PUBLIC, &other);
		check_rc(rc, CA_INPUT, "jwk: RSA key of 1024 bits: at least 2048 required",
		    "RSA 1024 JWK with alg RS256 refused at import (key_check)");
		ok(other == NULL, "and no key is returned");
		EVP_PKEY_free(other);
		json_decref(j);
		EVP_PKEY_free(k);
		k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		rc = jose_key_alg(k, &alg);
		check_rc(rc, CA_INPUT, "unsupported key type",
		    "X25519 key has no alg");
		ok(jwk_export(k, 0) == NULL, "X25519 key does not export");
		EVP_PKEY_free(k);
		k = gen_ec("secp256k1");
		rc = jose_key_alg(k, &alg);
		check_rc(rc, CA_INPUT, "unsupported EC curve",
		    "secp256k1 key has no alg");
		EVP_PKEY_free(k);
	}
#undef REFUSE_JWK
}

/* ---- JWS ----------------------------------------------------------- */

static void
test_a3(void)
{
	EVP_PKEY *pub, *priv;
	struct jws j;
	char *seg[3], *tok, *bad;
	char *s;
	int rc;

	pub = import_str(a3_jwk_pub, JWK_PUBLIC, &rc);
	priv = import_str(a3_jwk_priv, JWK_PRIVATE, &rc);
	seg[0] = (char *)a3_hdr;
	seg[1] = (char *)a3_payload;
	seg[2] = (char *)a3_sig;
	tok = join(seg, 3);
	rc = jws_parse(tok, strlen(tok), &j);
	check_rc(rc, CA_OK, NULL, "RFC 7515 A.3 parses");
	is_str(j.alg, "ES256", "A.3 alg");
	ok(j.kid == NULL, "A.3 has no kid");
	is_int(j.sig_len, 64, "A.3 signature is 64 bytes");
	is_int(j.signing_input_len, strlen(a3_hdr) + 1 + strlen(a3_payload),
	    "A.3 signing input length");
	is_str(json_string_value(json_object_get(j.claims, "iss")), "joe",
	    "A.3 claims");
	rc = jws_verify(&j, pub);
	check_rc(rc, CA_OK, NULL, "RFC 7515 A.3 ES256 signature verifies");
	jws_free(&j);
	rc = verify_rc(tok, priv);
	check_rc(rc, CA_OK, NULL, "A.3 verifies with the private JWK too");

	/* One payload byte changed ("joe" -> "jof"). */
	{
		struct buf p;

		get_seg(tok, 3, 1, &p);
		s = strstr((char *)p.data, "joe");
		s[2] = 'f';
		bad = replace_seg(tok, 3, 1, p.data, p.len);
		buf_free(&p);
	}
	rc = verify_rc(bad, pub);
	check_rc(rc, CA_REFUSED, "bad signature",
	    "A.3 with one payload byte changed refused");
	free(bad);
	bad = flip_seg(tok, 3, 2, -1);
	rc = verify_rc(bad, pub);
	check_rc(rc, CA_REFUSED, "bad signature",
	    "A.3 with one signature byte changed refused");
	free(bad);
	bad = flip_seg(tok, 3, 2, 0);
	rc = verify_rc(bad, pub);
	check_rc(rc, CA_REFUSED, "bad signature",
	    "A.3 with the first signature byte changed refused");
	free(bad);
	free(tok);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
}

static void
test_sign_roundtrip(EVP_PKEY *k, EVP_PKEY *other, const char *name,
    const char *alg, size_t siglen)
{
	EVP_PKEY *pub = NULL;
	json_t *claims, *extra, *jp;
	struct jws j;
	char *tok, *thumb, *bad;
	int rc;

	jp = jwk_export(k, 0);
	if (jwk_import(jp, JWK_PUBLIC, &pub) != CA_OK)
		abort();
	json_decref(jp);
	claims = json_pack("{s:s, s:s, s:i, s:[s]}", "iss", "inca-test",
	    "sub", "round trip", "exp", 2000000000, "sans", "a.example");
	rc = jws_sign(k, NULL, NULL, claims, &tok);
	check_rc(rc, CA_OK, NULL, "%s: sign", name);
	if (rc != CA_OK) {
		json_decref(claims);
		EVP_PKEY_free(pub);
		return;
	}
	rc = jws_parse(tok, strlen(tok), &j);
	check_rc(rc, CA_OK, NULL, "%s: parse own token", name);
	thumb = jwk_thumbprint(k);
	{
		struct buf hb;
		char *want;

		get_seg(tok, 3, 0, &hb);
		if (asprintf(&want, "{\"alg\":\"%s\",\"kid\":\"%s\","
		    "\"typ\":\"JWT\"}", alg, thumb) == -1)
			abort();
		is_str((char *)hb.data, want, "%s: header text", name);
		free(want);
		buf_free(&hb);
	}
	is_str(j.alg, alg, "%s: header alg", name);
	is_str(j.kid, thumb, "%s: default kid is the thumbprint", name);
	is_str(json_string_value(json_object_get(j.header, "typ")), "JWT",
	    "%s: typ JWT", name);
	is_int(json_object_size(j.header), 3, "%s: header has 3 members",
	    name);
	ok(json_equal(j.claims, claims), "%s: claims survive", name);
	is_int(j.sig_len, siglen, "%s: signature is %zu bytes", name, siglen);
	rc = jws_verify(&j, pub);
	check_rc(rc, CA_OK, NULL, "%s: verify with the public JWK", name);
	rc = jws_verify(&j, k);
	check_rc(rc, CA_OK, NULL, "%s: verify with the signing key", name);
	rc = jws_verify(&j, other);
	check_rc(rc, CA_REFUSED, "bad signature",
	    "%s: verify with another key of the same type refused", name);
	jws_free(&j);
	bad = flip_seg(tok, 3, 1, 3);
	rc = verify_rc(bad, pub);
	check_rc(rc, CA_REFUSED, NULL, "%s: payload bit flip refused", name);
	free(bad);
	bad = flip_seg(tok, 3, 2, -1);
	rc = verify_rc(bad, pub);
	check_rc(rc, CA_REFUSED, "bad signature",
	    "%s: signature bit flip refused", name);
	free(bad);
	free(tok);

	/* Explicit kid and extra header members. */
	extra = json_pack("{s:[s], s:s}", "x5c", "MIIB", "sans", "x");
	rc = jws_sign(k, "my-kid", extra, claims, &tok);
	check_rc(rc, CA_OK, NULL, "%s: sign with kid and extra header", name);
	if (rc == CA_OK) {
		rc = jws_parse(tok, strlen(tok), &j);
		ok(rc == CA_OK && strcmp(j.kid, "my-kid") == 0 &&
		    json_is_array(json_object_get(j.header, "x5c")) &&
		    json_object_size(j.header) == 5,
		    "%s: kid and extra header members present", name);
		rc = jws_verify(&j, pub);
		check_rc(rc, CA_OK, NULL, "%s: and it verifies", name);
		jws_free(&j);
		free(tok);
	}
	json_decref(extra);
	extra = json_pack("{s:s}", "alg", "none");
	rc = jws_sign(k, NULL, extra, claims, &tok);
	check_rc(rc, CA_INPUT, "set by the signer",
	    "%s: extra header may not set alg", name);
	json_decref(extra);
	extra = json_pack("{s:[s]}", "crit", "exp");
	rc = jws_sign(k, NULL, extra, claims, &tok);
	check_rc(rc, CA_INPUT, "set by the signer",
	    "%s: extra header may not set crit", name);
	json_decref(extra);
	free(thumb);
	json_decref(claims);
	EVP_PKEY_free(pub);
}

/* A token made by craft() whose total length is exactly want. */
static char *
token_of_len(EVP_PKEY *key, size_t want)
{
	char *hdr, *pay, *tok, *hp, *pp;
	size_t h, n, guess;

	/* header {"alg":"ES256","h":"..."}, payload {"pad":"..."}. */
	guess = (want - 120) * 3 / 4 - 10;
	for (h = 0; h < 4; h++) {
		for (n = guess - 8; n < guess + 8; n++) {
			hp = xmalloc(h + 1);
			memset(hp, 'h', h);
			hp[h] = '\0';
			pp = xmalloc(n + 1);
			memset(pp, 'p', n);
			pp[n] = '\0';
			if (asprintf(&hdr, "{\"alg\":\"ES256\",\"h\":\"%s\"}",
			    hp) == -1 ||
			    asprintf(&pay, "{\"pad\":\"%s\"}", pp) == -1)
				abort();
			free(hp);
			free(pp);
			if (b64url_len(strlen(hdr)) + b64url_len(strlen(pay)) +
			    2 + 86 == want) {
				tok = craft(key, NULL, 0, hdr, pay);
				free(hdr);
				free(pay);
				return tok;
			}
			free(hdr);
			free(pay);
		}
	}
	abort();
}

static void
test_jws_refusals(void)
{
	static const unsigned char sig64[64] = { 1, 2, 3 };
	EVP_PKEY *ec, *ec384, *rsa, *ed;
	json_t *jp, *claims;
	struct jws j;
	struct buf b;
	unsigned char *der;
	char *tok, *s, *jwk_text, *seg[3];
	unsigned char raw[132];
	int rc, derlen;

	ec = gen_ec("P-256");
	ec384 = gen_ec("P-384");
	rsa = gen_rsa(2048);
	ed = gen_ed25519();

	/* alg none: refused by parse (empty signature) or by verify. */
	seg[0] = enc_str("{\"alg\":\"none\"}");
	seg[1] = enc_str("{\"sub\":\"x\"}");
	seg[2] = xstrdup("");
	tok = join(seg, 3);
	rc = parse_rc(tok);
	check_rc(rc, CA_INPUT, "empty signature",
	    "alg none with empty signature refused by parse");
	free(tok);
	free(seg[2]);
	seg[2] = enc(sig64, sizeof(sig64));
	tok = join(seg, 3);
	rc = verify_rc(tok, ec);
	check_rc(rc, CA_REFUSED, "alg \"none\" refused",
	    "alg none with a signature refused by verify");
	free(tok);
	free_segs(seg, 3);
	tok = craft(NULL, (const unsigned char *)"", 0,
	    "{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"sub\":\"x\"}");
	rc = verify_rc(tok, ed);
	check_rc(rc, CA_REFUSED, "\"none\"", "alg none refused for Ed25519");
	free(tok);

	/* HS256 keyed with the public key, in every form it might take. */
	jp = jwk_export(ec, 0);
	jwk_text = dump(jp);
	json_decref(jp);
	tok = craft(NULL, (unsigned char *)jwk_text, strlen(jwk_text),
	    "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"x\"}");
	rc = verify_rc(tok, ec);
	check_rc(rc, CA_REFUSED, "alg \"HS256\" refused",
	    "HS256 with the public JWK as secret refused");
	free(tok);
	free(jwk_text);
	der = NULL;
	if ((derlen = i2d_PUBKEY(ec, &der)) <= 0)
		abort();
	tok = craft(NULL, der, (size_t)derlen,
	    "{\"alg\":\"HS256\"}", "{\"sub\":\"x\"}");
	rc = verify_rc(tok, ec);
	check_rc(rc, CA_REFUSED, "HS256",
	    "HS256 with the public key DER as secret refused");
	free(tok);
	OPENSSL_free(der);
	der = NULL;
	if ((derlen = i2d_PUBKEY(rsa, &der)) <= 0)
		abort();
	tok = craft(NULL, der, (size_t)derlen,
	    "{\"alg\":\"HS256\"}", "{\"sub\":\"x\"}");
	rc = verify_rc(tok, rsa);
	check_rc(rc, CA_REFUSED, "HS256",
	    "HS256 with the RSA public key DER as secret refused");
	free(tok);
	OPENSSL_free(der);
	tok = craft(NULL, (const unsigned char *)"k", 1,
	    "{\"alg\":\"HS512\"}", "{\"sub\":\"x\"}");
	rc = verify_rc(tok, ec);
	check_rc(rc, CA_REFUSED, "HS512", "HS512 refused");
	free(tok);

	/* Algorithm and key disagree. */
	tok = craft(ec, NULL, 0, "{\"alg\":\"RS256\"}", "{\"sub\":\"x\"}");
	rc = verify_rc(tok, ec);
	check_rc(rc, CA_REFUSED, "alg \"RS256\" refused: the key is for ES256",
	    "RS256 header against an EC key refused");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES384\"}", "{\"sub\":\"x\"}");
	rc = verify_rc(tok, ec);
	check_rc(rc, CA_REFUSED, "ES384", "ES384 header against P-256 refused");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\"}", "{\"sub\":\"x\"}");
	rc = verify_rc(tok, ec384);
	check_rc(rc, CA_REFUSED, "ES256", "ES256 token against P-384 refused");
	rc = verify_rc(tok, rsa);
	check_rc(rc, CA_REFUSED, "ES256", "ES256 token against RSA refused");
	rc = verify_rc(tok, ed);
	check_rc(rc, CA_REFUSED, "ES256", "ES256 token against Ed25519 refused");
	rc = verify_rc(tok, ec);
	check_rc(rc, CA_OK, NULL, "the crafted ES256 token itself verifies");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":\"es256\"}", "{\"sub\":\"x\"}");
	rc = verify_rc(tok, ec);
	check_rc(rc, CA_REFUSED, "es256", "alg is case-sensitive");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":\"EdDSA\"}", "{\"sub\":\"x\"}");
	rc = verify_rc(tok, ec);
	check_rc(rc, CA_REFUSED, "EdDSA", "EdDSA header against EC refused");
	free(tok);

	/* crit */
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\",\"crit\":[\"exp\"],"
	    "\"exp\":1}", "{\"sub\":\"x\"}");
	rc = parse_rc(tok);
	check_rc(rc, CA_REFUSED, "crit", "crit header refused");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\",\"b64\":false,"
	    "\"crit\":[\"b64\"]}", "{\"sub\":\"x\"}");
	rc = parse_rc(tok);
	check_rc(rc, CA_REFUSED, "crit", "unencoded payload (b64) refused");
	free(tok);

	/* Duplicates: both readings must be impossible. */
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\",\"alg\":\"none\"}",
	    "{\"sub\":\"x\"}");
	rc = parse_rc(tok);
	check_rc(rc, CA_INPUT, "duplicate", "duplicate alg in header refused");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\",\"kid\":\"a\","
	    "\"kid\":\"b\"}", "{\"sub\":\"x\"}");
	rc = parse_rc(tok);
	check_rc(rc, CA_INPUT, "duplicate", "duplicate kid in header refused");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\"}",
	    "{\"sub\":\"a\",\"sub\":\"b\"}");
	rc = parse_rc(tok);
	check_rc(rc, CA_INPUT, "duplicate", "duplicate sub in payload refused");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\"}",
	    "{\"x\":{\"a\":1,\"a\":2}}");
	rc = parse_rc(tok);
	check_rc(rc, CA_INPUT, "duplicate",
	    "nested duplicate in payload refused");
	free(tok);

	/* Shapes of header and payload */
	tok = craft(ec, NULL, 0, "[\"ES256\"]", "{\"sub\":\"x\"}");
	rc = parse_rc(tok);
	check_rc(rc, CA_INPUT, "not a JSON object", "header array refused");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\"}", "\"sub\"");
	rc = parse_rc(tok);
	check_rc(rc, CA_INPUT, "jws: payload: invalid JSON",
	    "payload string refused");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\"}", "{\"sub\":\"x\"} x");
	rc = parse_rc(tok);
	check_rc(rc, CA_INPUT, "invalid JSON", "payload with trailing junk");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"typ\":\"JWT\"}", "{\"sub\":\"x\"}");
	rc = parse_rc(tok);
	check_rc(rc, CA_INPUT, "no string \"alg\"", "header without alg");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":256}", "{\"sub\":\"x\"}");
	rc = parse_rc(tok);
	check_rc(rc, CA_INPUT, "no string \"alg\"", "alg not a string");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\",\"kid\":7}",
	    "{\"sub\":\"x\"}");
	rc = parse_rc(tok);
	check_rc(rc, CA_INPUT, "kid", "kid not a string");
	free(tok);
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\"},"
	    "\"jku\":\"https://x\",\"x5u\":\"https://x\"}", "{\"sub\":\"x\"}");
	rc = verify_rc(tok, ec);
	check_rc(rc, CA_OK, NULL,
	    "jwk/jku/x5u are ignored (the caller's key decides)");
	free(tok);

	/* Segments */
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\"}", "{\"sub\":\"x\"}");
	split(tok, seg, 3);
	{
		char *two[2] = { seg[0], seg[1] };
		char *four[4] = { seg[0], seg[1], seg[2], seg[2] };

		s = join(two, 2);
		rc = parse_rc(s);
		check_rc(rc, CA_INPUT, "2 segments", "2 segments refused");
		free(s);
		s = join(four, 4);
		rc = parse_rc(s);
		check_rc(rc, CA_INPUT, "more than 3", "4 segments refused");
		free(s);
	}
	rc = parse_rc("");
	check_rc(rc, CA_INPUT, NULL, "empty token refused");
	rc = parse_rc("..");
	check_rc(rc, CA_INPUT, NULL, "\"..\" refused");
	if (asprintf(&s, "%s.%s.%s=", seg[0], seg[1], seg[2]) == -1)
		abort();
	rc = parse_rc(s);
	check_rc(rc, CA_INPUT, "signature: base64url",
	    "signature with padding refused");
	free(s);
	if (asprintf(&s, "%s=.%s.%s", seg[0], seg[1], seg[2]) == -1)
		abort();
	rc = parse_rc(s);
	check_rc(rc, CA_INPUT, "header: base64url", "header with '=' refused");
	free(s);
	if (asprintf(&s, "%s.%s+.%s", seg[0], seg[1], seg[2]) == -1)
		abort();
	rc = parse_rc(s);
	check_rc(rc, CA_INPUT, "payload: base64url",
	    "payload with '+' refused");
	free(s);
	if (asprintf(&s, " %s.%s.%s", seg[0], seg[1], seg[2]) == -1)
		abort();
	rc = parse_rc(s);
	check_rc(rc, CA_INPUT, "base64url", "leading space refused");
	free(s);
	if (asprintf(&s, "%s.%s.%s\n", seg[0], seg[1], seg[2]) == -1)
		abort();
	rc = parse_rc(s);
	check_rc(rc, CA_INPUT, "base64url", "trailing newline refused");
	free(s);
	/* len, not the NUL, ends the token. */
	rc = jws_parse(tok, strlen(tok) - 1, &j);
	check_rc(rc, CA_INPUT, "bad length", "parse of len - 1 refused");
	jws_free(&j);
	rc = jws_parse(tok, strlen(tok) - 2, &j);
	check_rc(rc, CA_OK, NULL, "parse of len - 2 works");
	if (rc == CA_OK)
		rc = jws_verify(&j, ec);
	check_rc(rc, CA_REFUSED, "wants 64 bytes",
	    "and its 63-byte signature is refused");
	jws_free(&j);
	free_segs(seg, 3);
	free(tok);

	/* Size limit: exactly CA_MAX_JWT passes, one more byte does not. */
	tok = token_of_len(ec, CA_MAX_JWT);
	is_int(strlen(tok), CA_MAX_JWT, "token of CA_MAX_JWT bytes built");
	rc = verify_rc(tok, ec);
	check_rc(rc, CA_OK, NULL, "token of exactly CA_MAX_JWT bytes accepted");
	free(tok);
	tok = token_of_len(ec, CA_MAX_JWT + 1);
	is_int(strlen(tok), CA_MAX_JWT + 1, "token of CA_MAX_JWT+1 bytes built");
	rc = verify_rc(tok, ec);
	check_rc(rc, CA_INPUT, "exceeds 16384",
	    "token of CA_MAX_JWT+1 bytes refused");
	free(tok);
	claims = json_object();
	s = xmalloc(CA_MAX_JWT);
	memset(s, 'a', CA_MAX_JWT - 1);
	s[CA_MAX_JWT - 1] = '\0';
	json_object_set_new(claims, "pad", json_string(s));
	free(s);
	rc = jws_sign(ec, NULL, NULL, claims, &tok);
	check_rc(rc, CA_INPUT, "exceeds", "jws_sign refuses an oversize token");
	ok(tok == NULL, "and returns no token");
	json_decref(claims);
	claims = json_pack("{s:s}", "sub", "x");
	rc = jws_sign(ec, "\xff", NULL, claims, &tok);
	check_rc(rc, CA_INPUT, "UTF-8", "jws_sign refuses a non-UTF-8 kid");
	rc = jws_sign(ec, NULL, claims, claims, &tok);
	check_rc(rc, CA_OK, NULL, "extra header members are copied");
	if (rc == CA_OK)
		free(tok);
	jp = json_pack("[s]", "x");
	rc = jws_sign(ec, NULL, NULL, jp, &tok);
	check_rc(rc, CA_INPUT, "claims", "jws_sign refuses non-object claims");
	json_decref(jp);
	json_decref(claims);

	/* ES256 signature shape */
	tok = craft(ec, NULL, 0, "{\"alg\":\"ES256\"}", "{\"sub\":\"x\"}");
	get_seg(tok, 3, 2, &b);
	memcpy(raw, b.data, 64);
	buf_free(&b);
	s = replace_seg(tok, 3, 2, raw, 63);
	rc = verify_rc(s, ec);
	check_rc(rc, CA_REFUSED, "wants 64 bytes", "ES256 63-byte signature");
	free(s);
	raw[64] = 0;
	s = replace_seg(tok, 3, 2, raw, 65);
	rc = verify_rc(s, ec);
	check_rc(rc, CA_REFUSED, "wants 64 bytes", "ES256 65-byte signature");
	free(s);
	memset(raw, 0, 32);
	s = replace_seg(tok, 3, 2, raw, 64);
	rc = verify_rc(s, ec);
	check_rc(rc, CA_REFUSED, "out of range", "ES256 r = 0 refused");
	free(s);
	get_seg(tok, 3, 2, &b);
	memcpy(raw, b.data, 64);
	buf_free(&b);
	memset(raw + 32, 0, 32);
	s = replace_seg(tok, 3, 2, raw, 64);
	rc = verify_rc(s, ec);
	check_rc(rc, CA_REFUSED, "out of range", "ES256 s = 0 refused");
	free(s);
	memset(raw, 0, 64);
	s = replace_seg(tok, 3, 2, raw, 64);
	rc = verify_rc(s, ec);
	check_rc(rc, CA_REFUSED, "out of range", "ES256 all-zero refused");
	free(s);
	/* r = n (the group order), s valid: out of range. */
	{
		BIGNUM *order = NULL;

		if (!EVP_PKEY_get_bn_param(ec, "order", &order))
			abort();
		get_seg(tok, 3, 2, &b);
		memcpy(raw, b.data, 64);
		buf_free(&b);
		BN_bn2binpad(order, raw, 32);
		s = replace_seg(tok, 3, 2, raw, 64);
		rc = verify_rc(s, ec);
		check_rc(rc, CA_REFUSED, "out of range",
		    "ES256 r = order refused");
		free(s);
		get_seg(tok, 3, 2, &b);
		memcpy(raw, b.data, 64);
		buf_free(&b);
		BN_bn2binpad(order, raw + 32, 32);
		s = replace_seg(tok, 3, 2, raw, 64);
		rc = verify_rc(s, ec);
		check_rc(rc, CA_REFUSED, "out of range",
		    "ES256 s = order refused");
		free(s);
		BN_free(order);
	}
	memset(raw, 0xff, 64);
	s = replace_seg(tok, 3, 2, raw, 64);
	rc = verify_rc(s, ec);
	check_rc(rc, CA_REFUSED, "out of range", "ES256 r, s = 2^256-1 refused");
	free(s);
	/* A DER signature where r||s belongs. */
	{
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		unsigned char dsig[80];
		size_t dl = sizeof(dsig);
		char *seg3[3];

		split(tok, seg3, 3);
		if (asprintf(&s, "%s.%s", seg3[0], seg3[1]) == -1 ||
		    EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, ec) != 1 ||
		    EVP_DigestSign(m, dsig, &dl, (unsigned char *)s,
		    strlen(s)) != 1)
			abort();
		free(s);
		s = replace_seg(tok, 3, 2, dsig, dl);
		rc = verify_rc(s, ec);
		check_rc(rc, CA_REFUSED, "bad signature",
		    "ES256 DER-encoded signature refused");
		free(s);
		free_segs(seg3, 3);
		EVP_MD_CTX_free(m);
	}
	free(tok);

	/* RS256 and EdDSA signature lengths */
	claims = json_pack("{s:s}", "sub", "x");
	if (jws_sign(rsa, NULL, NULL, claims, &tok) != CA_OK)
		abort();
	get_seg(tok, 3, 2, &b);
	s = replace_seg(tok, 3, 2, b.data, b.len - 1);
	rc = verify_rc(s, rsa);
	check_rc(rc, CA_REFUSED, "wants 256 bytes", "RS256 short signature");
	free(s);
	buf_free(&b);
	free(tok);
	if (jws_sign(ed, NULL, NULL, claims, &tok) != CA_OK)
		abort();
	get_seg(tok, 3, 2, &b);
	s = replace_seg(tok, 3, 2, b.data, b.len - 1);
	rc = verify_rc(s, ed);
	check_rc(rc, CA_REFUSED, "wants 64 bytes", "EdDSA 63-byte signature");
	free(s);
	buf_free(&b);
	free(tok);
	json_decref(claims);

	memset(&j, 0, sizeof(j));
	rc = jws_verify(&j, ec);
	check_rc(rc, CA_FAIL, NULL, "verify of an unparsed struct fails");
	jws_free(NULL);

	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

/* ---- JWE ----------------------------------------------------------- */

static char *
jwe_with_header(const char *tok, const char *hdr)
{
	return replace_seg(tok, 5, 0, hdr, strlen(hdr));
}

static int
decrypt_rc(const char *tok, const char *pw)
{
	struct buf b;
	int rc;

	rc = jwe_decrypt_pbes2(tok, strlen(tok), pw, strlen(pw), &b);
	buf_free(&b);
	return rc;
}

static void
test_jwe(void)
{
	static const char plain[] = "{\"kty\":\"EC\",\"d\":\"secret\"}";
	struct buf b, h;
	json_t *hdr;
	char *tok, *s, *seg[5], *t6[6], *p2s;
	int rc;

	rc = jwe_encrypt_pbes2(plain, strlen(plain), PASSWORD,
	    strlen(PASSWORD), 1000, "jwk+json", &tok);
	check_rc(rc, CA_OK, NULL, "JWE encrypt (p2c 1000)");
	if (rc != CA_OK)
		return;
	rc = jwe_decrypt_pbes2(tok, strlen(tok), PASSWORD, strlen(PASSWORD),
	    &b);
	check_rc(rc, CA_OK, NULL, "JWE decrypt");
	ok(rc == CA_OK && b.len == strlen(plain) &&
	    memcmp(b.data, plain, b.len) == 0 && b.data[b.len] == '\0',
	    "JWE round trip gives the plaintext");
	buf_free(&b);
	get_seg(tok, 5, 0, &h);
	hdr = load((char *)h.data);
	buf_free(&h);
	is_str(json_string_value(json_object_get(hdr, "alg")),
	    "PBES2-HS256+A128KW", "JWE header alg");
	is_str(json_string_value(json_object_get(hdr, "enc")), "A256GCM",
	    "JWE header enc");
	is_str(json_string_value(json_object_get(hdr, "cty")), "jwk+json",
	    "JWE header cty");
	is_int(json_integer_value(json_object_get(hdr, "p2c")), 1000,
	    "JWE header p2c");
	p2s = xstrdup(json_string_value(json_object_get(hdr, "p2s")));
	rc = b64url_decode(p2s, strlen(p2s), &h);
	ok(rc == CA_OK && h.len == 16, "JWE p2s is 16 bytes");
	buf_free(&h);
	json_decref(hdr);
	split(tok, seg, 5);
	ok(strlen(seg[1]) == 54 && strlen(seg[2]) == 16 &&
	    strlen(seg[4]) == 22, "JWE key, iv and tag sizes (40, 12, 16)");

	rc = decrypt_rc(tok, "wrong password");
	check_rc(rc, CA_REFUSED, "wrong password", "wrong password refused");
	rc = decrypt_rc(tok, "");
	check_rc(rc, CA_INPUT, "password", "empty password refused");
	s = flip_seg(tok, 5, 3, 0);
	rc = decrypt_rc(s, PASSWORD);
	check_rc(rc, CA_REFUSED, "modified", "tampered ciphertext refused");
	free(s);
	s = flip_seg(tok, 5, 4, -1);
	rc = decrypt_rc(s, PASSWORD);
	check_rc(rc, CA_REFUSED, "modified", "tampered tag refused");
	free(s);
	s = flip_seg(tok, 5, 2, 5);
	rc = decrypt_rc(s, PASSWORD);
	check_rc(rc, CA_REFUSED, "modified", "tampered iv refused");
	free(s);
	s = flip_seg(tok, 5, 1, 20);
	rc = decrypt_rc(s, PASSWORD);
	check_rc(rc, CA_REFUSED, NULL, "tampered encrypted key refused");
	free(s);

	/* Header changes */
#define HDR(fmt, ...) do {						\
	if (asprintf(&s, fmt, __VA_ARGS__) == -1)			\
		abort();						\
	t6[0] = jwe_with_header(tok, s);				\
	free(s);							\
} while (0)
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"cty\":\"jwt\",\"p2c\":1000,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_REFUSED, "modified", "tampered header (cty) refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"cty\":\"jwk+json\",\"p2c\":1001,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_REFUSED, NULL, "tampered header (p2c) refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"p2c\":999,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "p2c 999 outside", "p2c 999 refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"p2c\":1200001,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "p2c 1200001 outside", "p2c 1200001 refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"p2c\":9223372036854775807,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "outside", "p2c 2^63-1 refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"p2c\":-1000,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "outside", "negative p2c refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"p2c\":\"1000\",\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "integer \"p2c\"", "p2c as a string refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"p2c\":1000.0,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "integer \"p2c\"", "p2c as a real refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "p2c", "p2c missing refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"p2c\":1000,\"p2s\":\"%s\"}", "AAAAAAAAAA");
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "p2s shorter", "p2s of 7 bytes refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"p2c\":1000,\"p2s\":\"%s=\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "p2s", "p2s with padding refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"p2c\":1000}%s", "");
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "p2s", "p2s missing refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A128GCM\","
	    "\"p2c\":1000,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_REFUSED, "enc \"A128GCM\" not supported",
	    "enc A128GCM refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256CBC-HS512\","
	    "\"p2c\":1000,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_REFUSED, "not supported", "enc A256CBC-HS512 refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS512+A256KW\",\"enc\":\"A256GCM\","
	    "\"p2c\":1000,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_REFUSED, "alg \"PBES2-HS512+A256KW\" not supported",
	    "alg PBES2-HS512+A256KW refused");
	free(t6[0]);
	HDR("{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"p2c\":1000,"
	    "\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_REFUSED, "alg \"dir\"", "alg dir refused");
	free(t6[0]);
	HDR("{\"enc\":\"A256GCM\",\"p2c\":1000,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "alg", "alg missing refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"zip\":\"DEF\",\"p2c\":1000,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_REFUSED, "zip", "zip refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"crit\":[\"x\"],\"x\":1,\"p2c\":1000,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_REFUSED, "crit", "crit refused");
	free(t6[0]);
	HDR("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\","
	    "\"p2c\":1000,\"p2c\":1000,\"p2s\":\"%s\"}", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "duplicate", "duplicate p2c refused");
	free(t6[0]);
	HDR("[\"PBES2-HS256+A128KW\",\"%s\"]", p2s);
	rc = decrypt_rc(t6[0], PASSWORD);
	check_rc(rc, CA_INPUT, "not a JSON object", "header array refused");
	free(t6[0]);
#undef HDR

	/* Segment counts and sizes */
	{
		unsigned char z[64] = { 0 };
		char *four[4] = { seg[0], seg[1], seg[2], seg[3] };

		s = join(four, 4);
		rc = decrypt_rc(s, PASSWORD);
		check_rc(rc, CA_INPUT, "4 segments", "JWE of 4 segments");
		free(s);
		memcpy(t6, seg, sizeof(seg));
		t6[5] = seg[4];
		s = join(t6, 6);
		rc = decrypt_rc(s, PASSWORD);
		check_rc(rc, CA_INPUT, "more than 5", "JWE of 6 segments");
		free(s);
		s = replace_seg(tok, 5, 1, z, 39);
		rc = decrypt_rc(s, PASSWORD);
		check_rc(rc, CA_INPUT, "encrypted key must be 40",
		    "encrypted key of 39 bytes");
		free(s);
		s = replace_seg(tok, 5, 1, z, 48);
		rc = decrypt_rc(s, PASSWORD);
		check_rc(rc, CA_INPUT, "encrypted key must be 40",
		    "encrypted key of 48 bytes");
		free(s);
		s = replace_seg(tok, 5, 2, z, 11);
		rc = decrypt_rc(s, PASSWORD);
		check_rc(rc, CA_INPUT, "iv must be 12", "iv of 11 bytes");
		free(s);
		s = replace_seg(tok, 5, 2, z, 16);
		rc = decrypt_rc(s, PASSWORD);
		check_rc(rc, CA_INPUT, "iv must be 12", "iv of 16 bytes");
		free(s);
		s = replace_seg(tok, 5, 4, z, 15);
		rc = decrypt_rc(s, PASSWORD);
		check_rc(rc, CA_INPUT, "tag must be 16", "tag of 15 bytes");
		free(s);
		s = replace_seg(tok, 5, 4, z, 0);
		rc = decrypt_rc(s, PASSWORD);
		check_rc(rc, CA_INPUT, "tag must be 16", "empty tag");
		free(s);
		if (asprintf(&s, "%s.%s.%s.%s=.%s", seg[0], seg[1], seg[2],
		    seg[3], seg[4]) == -1)
			abort();
		rc = decrypt_rc(s, PASSWORD);
		check_rc(rc, CA_INPUT, "ciphertext: base64url",
		    "ciphertext with padding");
		free(s);
		s = xmalloc(CA_MAX_JWT + 2);
		memset(s, 'A', CA_MAX_JWT + 1);
		s[CA_MAX_JWT + 1] = '\0';
		rc = decrypt_rc(s, PASSWORD);
		check_rc(rc, CA_INPUT, "exceeds", "JWE over CA_MAX_JWT refused");
		free(s);
	}
	free_segs(seg, 5);
	free(p2s);
	free(tok);

	/* Encrypt-side bounds */
	rc = jwe_encrypt_pbes2("x", 1, PASSWORD, strlen(PASSWORD), 999, NULL,
	    &tok);
	check_rc(rc, CA_INPUT, "p2c 999", "encrypt refuses p2c 999");
	rc = jwe_encrypt_pbes2("x", 1, PASSWORD, strlen(PASSWORD), 1200001,
	    NULL, &tok);
	check_rc(rc, CA_INPUT, "p2c", "encrypt refuses p2c 1200001");
	rc = jwe_encrypt_pbes2("x", 1, "", 0, 1000, NULL, &tok);
	check_rc(rc, CA_INPUT, "password", "encrypt refuses an empty password");

	/* Empty plaintext, no cty */
	rc = jwe_encrypt_pbes2("", 0, "pw", 2, 1000, NULL, &tok);
	check_rc(rc, CA_OK, NULL, "encrypt an empty plaintext");
	if (rc == CA_OK) {
		rc = jwe_decrypt_pbes2(tok, strlen(tok), "pw", 2, &b);
		ok(rc == CA_OK && b.len == 0, "and decrypt it");
		buf_free(&b);
		get_seg(tok, 5, 0, &h);
		ok(strstr((char *)h.data, "cty") == NULL, "no cty when NULL");
		buf_free(&h);
		free(tok);
	}

	/* step-ca's iteration count, once. */
	rc = jwe_encrypt_pbes2(plain, strlen(plain), PASSWORD,
	    strlen(PASSWORD), JOSE_P2C_DEFAULT, "jwk+json", &tok);
	check_rc(rc, CA_OK, NULL, "JWE encrypt with p2c 600000");
	if (rc == CA_OK) {
		rc = jwe_decrypt_pbes2(tok, strlen(tok), PASSWORD,
		    strlen(PASSWORD), &b);
		ok(rc == CA_OK && b.len == strlen(plain) &&
		    memcmp(b.data, plain, b.len) == 0,
		    "JWE with p2c 600000 round trip");
		buf_free(&b);
		get_seg(tok, 5, 0, &h);
		ok(strstr((char *)h.data, "\"p2c\":600000") != NULL,
		    "header says p2c 600000");
		buf_free(&h);
		free(tok);
	}
}

/* ---- jti ----------------------------------------------------------- */

static void
test_jti(void)
{
	char a[JOSE_JTI_LEN + 1], b[JOSE_JTI_LEN + 1];
	int rc1, rc2;

	rc1 = jose_jti(a);
	rc2 = jose_jti(b);
	ok(rc1 == CA_OK && rc2 == CA_OK, "jti generated");
	ok(strlen(a) == 64 && strspn(a, "0123456789abcdef") == 64,
	    "jti is 64 lowercase hex characters");
	ok(strcmp(a, b) != 0, "two jtis differ");
}

/* ---- interoperability with jwcrypto --------------------------------- */

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int
write_file(const char *dir, const char *name, const char *data)
{
	char *p;
	int rc;

	if (asprintf(&p, "%s/%s", dir, name) == -1)
		abort();
	unlink(p);
	rc = io_write_excl(p, data, strlen(data), 0600);
	free(p);
	return rc;
}

static int
read_file(const char *dir, const char *name, struct buf *b)
{
	char *p;
	int rc;

	if (asprintf(&p, "%s/%s", dir, name) == -1)
		abort();
	rc = io_read_file(p, CA_MAX_JSON, b);
	free(p);
	return rc;
}

static const char *const interop_checks[] = {
	"jwcrypto verifies the C JWSs (ES256, ES384, ES512, RS256, EdDSA)",
	"jwcrypto decrypts the C JWE",
	"C verifies a jwcrypto ES256 JWS",
	"C verifies a jwcrypto RS256 JWS",
	"C verifies a jwcrypto EdDSA JWS",
	"C decrypts a jwcrypto PBES2 JWE",
	"C refuses the jwcrypto JWE with a wrong password",
};

static void
interop_c_side(const char *dir)
{
	static const struct {
		const char *name, *type, *param;
	} keys[] = {
		{ "es256", "EC", "P-256" },
		{ "es384", "EC", "P-384" },
		{ "es512", "EC", "P-521" },
		{ "rs256", "RSA", NULL },
		{ "eddsa", "ED25519", NULL },
	};
	char name[64], *s, *tok;
	json_t *claims, *jp;
	EVP_PKEY *k;
	size_t i;

	claims = json_pack("{s:s, s:s, s:i}", "iss", "inca-test", "sub",
	    "interop", "n", 1);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].type, "EC") == 0)
			k = gen_ec(keys[i].param);
		else if (strcmp(keys[i].type, "RSA") == 0)
			k = gen_rsa(2048);
		else
			k = gen_ed25519();
		jp = jwk_export(k, 0);
		s = dump(jp);
		snprintf(name, sizeof(name), "c_%s.jwk", keys[i].name);
		if (write_file(dir, name, s) != CA_OK)
			abort();
		free(s);
		json_decref(jp);
		if (jws_sign(k, NULL, NULL, claims, &tok) != CA_OK)
			abort();
		snprintf(name, sizeof(name), "c_%s.jws", keys[i].name);
		if (write_file(dir, name, tok) != CA_OK)
			abort();
		free(tok);
		EVP_PKEY_free(k);
	}
	json_decref(claims);

	/* A JWE of a private JWK, as step-ca's encryptedKey. */
	k = gen_ec("P-256");
	jp = jwk_export(k, 1);
	s = dump(jp);
	jose_json_wipe(jp);
	EVP_PKEY_free(k);
	if (jwe_encrypt_pbes2(s, strlen(s), PASSWORD, strlen(PASSWORD), 1000,
	    "jwk+json", &tok) != CA_OK ||
	    write_file(dir, "c.jwe", tok) != CA_OK ||
	    write_file(dir, "c_jwe.plain", s) != CA_OK ||
	    write_file(dir, "password", PASSWORD) != CA_OK)
		abort();
	io_wipe_str(s);
	free(tok);
}

static void
interop_py_jws(const char *dir, const char *name)
{
	struct buf jwk, tok, want;
	EVP_PKEY *k = NULL;
	json_error_t e;
	json_t *j;
	struct jws p;
	char fn[64], *thumb;
	int rc;

	memset(&p, 0, sizeof(p));
	snprintf(fn, sizeof(fn), "py_%s.jwk", name);
	if (read_file(dir, fn, &jwk) != CA_OK) {
		ok(0, "C verifies a jwcrypto %s JWS: %s", name, err_msg());
		return;
	}
	snprintf(fn, sizeof(fn), "py_%s.jws", name);
	if (read_file(dir, fn, &tok) != CA_OK) {
		buf_free(&jwk);
		ok(0, "C verifies a jwcrypto %s JWS: %s", name, err_msg());
		return;
	}
	snprintf(fn, sizeof(fn), "py_%s.claims", name);
	if (read_file(dir, fn, &want) != CA_OK)
		abort();
	j = json_loadb((char *)jwk.data, jwk.len, JSON_REJECT_DUPLICATES, &e);
	rc = j ? jwk_import(j, JWK_PUBLIC, &k) : CA_INPUT;
	if (rc == CA_OK)
		rc = jws_parse((char *)tok.data, tok.len, &p);
	if (rc == CA_OK)
		rc = jws_verify(&p, k);
	check_rc(rc, CA_OK, NULL, "C verifies a jwcrypto %s JWS", name);
	thumb = k ? jwk_thumbprint(k) : NULL;
	ok(rc == CA_OK && p.kid != NULL && thumb != NULL &&
	    strcmp(p.kid, thumb) == 0,
	    "jwcrypto's %s kid equals the C RFC 7638 thumbprint", name);
	if (rc == CA_OK) {
		json_t *w = json_loadb((char *)want.data, want.len, 0, &e);

		ok(w != NULL && json_equal(w, p.claims),
		    "jwcrypto's %s claims read back", name);
		json_decref(w);
	}
	free(thumb);
	jws_free(&p);
	json_decref(j);
	EVP_PKEY_free(k);
	buf_free(&jwk);
	buf_free(&tok);
	buf_free(&want);
}

static void
interop_py_jwe(const char *dir)
{
	struct buf tok, want, got;
	int rc;

	if (read_file(dir, "py.jwe", &tok) != CA_OK) {
		ok(0, "C decrypts a jwcrypto PBES2 JWE: %s", err_msg());
		return;
	}
	if (read_file(dir, "py_jwe.plain", &want) != CA_OK)
		abort();
	rc = jwe_decrypt_pbes2((char *)tok.data, tok.len, PASSWORD,
	    strlen(PASSWORD), &got);
	check_rc(rc, CA_OK, NULL, "C decrypts a jwcrypto PBES2 JWE");
	ok(rc == CA_OK && got.len == want.len &&
	    memcmp(got.data, want.data, got.len) == 0,
	    "jwcrypto JWE plaintext matches");
	if (rc == CA_OK) {
		json_t *jk = json_loadb((char *)got.data, got.len, 0, NULL);
		EVP_PKEY *k = NULL;

		rc = jk ? jwk_import(jk, JWK_PRIVATE, &k) : CA_INPUT;
		check_rc(rc, CA_OK, NULL,
		    "the decrypted jwcrypto private JWK imports");
		EVP_PKEY_free(k);
		jose_json_wipe(jk);
	}
	buf_free(&got);
	rc = jwe_decrypt_pbes2((char *)tok.data, tok.len, "nope", 4, &got);
	check_rc(rc, CA_REFUSED, "wrong password",
	    "C refuses the jwcrypto JWE with a wrong password");
	buf_free(&got);
	buf_free(&tok);
	buf_free(&want);
}

static void
test_interop(void)
{
	char dir[] = "/tmp/inca-jose-XXXXXX", *cmd, line[512];
	const char *names[] = { "es256", "rs256", "eddsa" };
	const char *why;
	size_t i, n;
	FILE *fp;
	int st, lines;

	why = NULL;
	if (access(INTEROP, R_OK) != 0)
		why = INTEROP " not found (run from the repository root)";
	else if (system(PYTHON " -c 'import jwcrypto' >/dev/null 2>&1") != 0)
		why = "jwcrypto not installed";
	if (why != NULL) {
		for (i = 0; i < sizeof(interop_checks) /
		    sizeof(interop_checks[0]); i++)
			printf("ok %d - %s # skip %s\n", ++tap_n,
			    interop_checks[i], why);
		return;
	}
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	interop_c_side(dir);
	if (asprintf(&cmd, PYTHON " " INTEROP " %s 2>&1", dir) == -1)
		abort();
	if ((fp = popen(cmd, "r")) == NULL)
		abort();
	lines = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "ok - ", 5) == 0) {
			ok(1, "jwcrypto: %s", line + 5);
			lines++;
		} else if (strncmp(line, "not ok - ", 9) == 0) {
			ok(0, "jwcrypto: %s", line + 9);
			lines++;
		} else {
			printf("# %s\n", line);
		}
	}
	st = pclose(fp);
	free(cmd);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && lines >= 10,
	    "jose_interop.py ran its %d checks and exited 0", lines);
	n = sizeof(names) / sizeof(names[0]);
	for (i = 0; i < n; i++)
		interop_py_jws(dir, names[i]);
	interop_py_jwe(dir);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/*
 * b64url_random: its length, its alphabet, never a leading '-' (of 4096
 * plain draws about 64 would begin with one), no repeats, and its limit.
 */
static void
test_b64_random(void)
{
	char *s, *prev = NULL;
	int i, dash = 0, bad = 0, same = 0;
	struct buf b;

	for (i = 0; i < 4096; i++) {
		if ((s = b64url_random(16)) == NULL) {
			bad++;
			continue;
		}
		if (strlen(s) != 22 || b64url_decode(s, strlen(s), &b) != CA_OK ||
		    b.len != 16)
			bad++;
		else
			buf_free(&b);
		dash += s[0] == '-';
		same += prev != NULL && strcmp(prev, s) == 0;
		free(prev);
		prev = s;
	}
	free(prev);
	is_int(bad, 0, "b64url_random(16): 22 base64url characters, 16 bytes");
	is_int(dash, 0, "b64url_random: none of 4096 begins with '-'");
	is_int(same, 0, "b64url_random: no draw repeats the one before");
	ok((s = b64url_random(B64_RANDOM_MAX)) != NULL, "b64url_random(%d)",
	    B64_RANDOM_MAX);
	free(s);
	ok(b64url_random(B64_RANDOM_MAX + 1) == NULL, "b64url_random(%d) "
	    "refused", B64_RANDOM_MAX + 1);
	ok(strstr(err_msg(), "at most 64") != NULL, "says so: %s", err_msg());
}

int
main(void)
{
	EVP_PKEY *k, *o;

	err_prog("test_jose");
	/* Line-buffered, so a crash still shows the last check. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_b64();
	test_b64_random();
	test_rfc7638();

	k = gen_ec("P-256");
	test_jwk_roundtrip(k, "EC P-256", "ES256");
	EVP_PKEY_free(k);
	k = gen_ec("P-384");
	test_jwk_roundtrip(k, "EC P-384", "ES384");
	EVP_PKEY_free(k);
	k = gen_ec("P-521");
	test_jwk_roundtrip(k, "EC P-521", "ES512");
	EVP_PKEY_free(k);
	k = gen_rsa(2048);
	test_jwk_roundtrip(k, "RSA 2048", "RS256");
	EVP_PKEY_free(k);
	k = gen_ed25519();
	test_jwk_roundtrip(k, "Ed25519", "EdDSA");
	EVP_PKEY_free(k);
	test_jwk_strict();

	test_a3();
	k = gen_ec("P-256");
	o = gen_ec("P-256");
	test_sign_roundtrip(k, o, "ES256", "ES256", 64);
	EVP_PKEY_free(k);
	EVP_PKEY_free(o);
	k = gen_ec("P-384");
	o = gen_ec("P-384");
	test_sign_roundtrip(k, o, "ES384", "ES384", 96);
	EVP_PKEY_free(k);
	EVP_PKEY_free(o);
	k = gen_ec("P-521");
	o = gen_ec("P-521");
	test_sign_roundtrip(k, o, "ES512", "ES512", 132);
	EVP_PKEY_free(k);
	EVP_PKEY_free(o);
	/* RSA key generation is slow: one 3072-bit key, reused 2048s. */
	k = gen_rsa(2048);
	o = gen_rsa(2048);
	test_sign_roundtrip(k, o, "RS256", "RS256", 256);
	EVP_PKEY_free(o);
	o = gen_rsa(3072);
	test_sign_roundtrip(o, k, "RS256 (3072)", "RS256", 384);
	EVP_PKEY_free(k);
	EVP_PKEY_free(o);
	k = gen_ed25519();
	o = gen_ed25519();
	test_sign_roundtrip(k, o, "EdDSA", "EdDSA", 64);
	EVP_PKEY_free(k);
	EVP_PKEY_free(o);
	test_jws_refusals();

	test_jwe();
	test_jti();
	test_interop();
	return tap_done();
}
