/*
 * fuzz_jose: hostile JOSE input, every way lib/b64 and lib/jose read it.
 *
 * The same bytes go to
 *   - b64url_decode and b64_decode: whatever decodes must encode back to
 *     exactly the input, since only canonical encodings are accepted;
 *   - jws_parse and, when that succeeds, jws_verify with a fixed P-256 key
 *     (the RFC 7515 A.3 key, so the seed token verifies);
 *   - jwe_decrypt_pbes2 with a fixed password, skipped when the header
 *     visibly asks for more than FUZZ_P2C_MAX PBKDF2 iterations, so that
 *     no input costs more than the library's minimum;
 *   - jwk_import of the bytes as JSON: an imported key must export and
 *     import again with the same thumbprint, and a private one must sign
 *     a token that its public half verifies.
 * Return codes outside each function's contract abort the run.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 \
 *       -D_GNU_SOURCE -Ilib fuzz/fuzz_jose.c lib/b64.c lib/jose.c \
 *       lib/err.c lib/io.c -lcrypto -ljansson -o /tmp/fuzz_jose
 *   /tmp/fuzz_jose -runs=200000 fuzz/corpus/jose
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "b64.h"
#include "err.h"
#include "io.h"
#include "jose.h"

#define FUZZ_PASSWORD	"fuzz password"
#define FUZZ_P2C_MAX	JOSE_P2C_MIN
/* RSA private keys are validated with Miller-Rabin rounds on n: keep
 * the moduli the harness imports small enough to stay fast. */
#define FUZZ_RSA_MAX_N	683	/* base64url characters: 4096 bits */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char a3_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

static EVP_PKEY *verify_key;

static void
fail(const char *what, int rc)
{
	fprintf(stderr, "fuzz_jose: %s (rc %d, last error: %s)\n", what, rc,
	    err_msg());
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_t *j;
	int rc;

	(void)argc;
	(void)argv;
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	if ((j = json_loads(a3_jwk, 0, NULL)) == NULL)
		fail("cannot parse the fixed JWK", 0);
	if ((rc = jwk_import(j, JWK_PUBLIC, &verify_key)) != CA_OK)
		fail("cannot import the fixed JWK", rc);
	json_decref(j);
	return 0;
}

static void
fuzz_b64(const uint8_t *data, size_t size)
{
	struct buf b;
	char *s;

	if (b64url_decode((const char *)data, size, &b) == CA_OK) {
		if ((s = b64url_encode(b.data, b.len)) == NULL)
			fail("b64url_encode", 0);
		if (strlen(s) != size || memcmp(s, data, size) != 0)
			fail("b64url_decode accepted a non-canonical encoding",
			    0);
		free(s);
		buf_free(&b);
	} else if (b.data != NULL || b.len != 0)
		fail("b64url_decode left output on failure", 0);
	if (b64_decode((const char *)data, size, &b) == CA_OK) {
		if ((s = b64_encode(b.data, b.len)) == NULL)
			fail("b64_encode", 0);
		if (strlen(s) != size || memcmp(s, data, size) != 0)
			fail("b64_decode accepted a non-canonical encoding", 0);
		free(s);
		buf_free(&b);
	} else if (b.data != NULL || b.len != 0)
		fail("b64_decode left output on failure", 0);
}

static void
fuzz_jws(const uint8_t *data, size_t size)
{
	struct jws j;
	int rc;

	rc = jws_parse((const char *)data, size, &j);
	if (rc != CA_OK) {
		if (rc != CA_INPUT && rc != CA_REFUSED)
			fail("jws_parse: unexpected code", rc);
		if (j.header != NULL || j.claims != NULL || j.sig != NULL)
			fail("jws_parse left output on failure", rc);
		return;
	}
	if (!json_is_object(j.header) || !json_is_object(j.claims) ||
	    j.alg == NULL || j.sig == NULL || j.sig_len == 0 ||
	    j.signing_input_len >= size ||
	    memcmp(j.signing_input, data, j.signing_input_len) != 0)
		fail("jws_parse broke its contract", rc);
	rc = jws_verify(&j, verify_key);
	if (rc != CA_OK && rc != CA_REFUSED)
		fail("jws_verify: unexpected code", rc);
	jws_free(&j);
}

/* 0 if the header asks for more PBKDF2 iterations than the harness runs. */
static int
jwe_cheap(const uint8_t *data, size_t size)
{
	const uint8_t *dot;
	struct buf h;
	json_t *j, *v;
	int cheap = 1;

	if ((dot = memchr(data, '.', size)) == NULL)
		return 1;
	if (b64url_decode((const char *)data, (size_t)(dot - data), &h) !=
	    CA_OK)
		return 1;
	if ((j = json_loadb((const char *)h.data, h.len, 0, NULL)) != NULL) {
		v = json_object_get(j, "p2c");
		if (json_is_integer(v) &&
		    json_integer_value(v) > FUZZ_P2C_MAX)
			cheap = 0;
		json_decref(j);
	}
	buf_free(&h);
	return cheap;
}

static void
fuzz_jwe(const uint8_t *data, size_t size)
{
	struct buf out;
	int rc;

	if (!jwe_cheap(data, size))
		return;
	rc = jwe_decrypt_pbes2((const char *)data, size, FUZZ_PASSWORD,
	    strlen(FUZZ_PASSWORD), &out);
	if (rc == CA_OK) {
		if (out.data == NULL || out.data[out.len] != '\0')
			fail("jwe_decrypt_pbes2 broke its contract", rc);
	} else if (rc != CA_INPUT && rc != CA_REFUSED)
		fail("jwe_decrypt_pbes2: unexpected code", rc);
	buf_free(&out);
}

/* A private key must sign a token its re-imported public half verifies. */
static void
sign_and_verify(EVP_PKEY *priv, EVP_PKEY *pub)
{
	const char *alg;
	json_t *claims;
	struct jws j;
	char *tok;
	int rc;

	if (jose_key_alg(priv, &alg) != CA_OK)
		return;		/* e.g. RSA below 2048 bits */
	if ((claims = json_pack("{s:s}", "sub", "fuzz")) == NULL)
		fail("json_pack", 0);
	if ((rc = jws_sign(priv, NULL, NULL, claims, &tok)) != CA_OK)
		fail("jws_sign with an imported key", rc);
	if ((rc = jws_parse(tok, strlen(tok), &j)) != CA_OK)
		fail("jws_parse of an own token", rc);
	if ((rc = jws_verify(&j, pub)) != CA_OK)
		fail("jws_verify of an own token", rc);
	jws_free(&j);
	free(tok);
	json_decref(claims);
}

static void
fuzz_jwk(const uint8_t *data, size_t size)
{
	EVP_PKEY *k = NULL, *pub = NULL, *priv = NULL;
	json_t *j, *n, *jp, *jpriv;
	char *t0, *t1;
	int rc, has_d;

	if ((j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		return;
	has_d = json_object_get(j, "d") != NULL;
	n = json_object_get(j, "n");
	if (has_d && json_is_string(n) &&
	    json_string_length(n) > FUZZ_RSA_MAX_N) {
		json_decref(j);
		return;
	}
	rc = jwk_import(j, JWK_ANY, &k);
	json_decref(j);
	if (rc != CA_OK) {
		if (rc != CA_INPUT || k != NULL)
			fail("jwk_import: unexpected failure", rc);
		return;
	}
	if ((jp = jwk_export(k, 0)) == NULL)
		fail("jwk_export of an imported key", err_code());
	if ((rc = jwk_import(jp, JWK_PUBLIC, &pub)) != CA_OK)
		fail("jwk_import of an exported public key", rc);
	json_decref(jp);
	t0 = jwk_thumbprint(k);
	t1 = jwk_thumbprint(pub);
	if (t0 == NULL || t1 == NULL || strcmp(t0, t1) != 0)
		fail("thumbprint changed by export and import", 0);
	free(t0);
	free(t1);
	if (has_d) {
		if ((jpriv = jwk_export(k, 1)) == NULL)
			fail("jwk_export of an imported private key",
			    err_code());
		if ((rc = jwk_import(jpriv, JWK_PRIVATE, &priv)) != CA_OK)
			fail("jwk_import of an exported private key", rc);
		jose_json_wipe(jpriv);
		sign_and_verify(priv, pub);
		EVP_PKEY_free(priv);
	}
	EVP_PKEY_free(pub);
	EVP_PKEY_free(k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_b64(data, size);
	fuzz_jws(data, size);
	fuzz_jwe(data, size);
	fuzz_jwk(data, size);
	err_clear();
	return 0;
}
