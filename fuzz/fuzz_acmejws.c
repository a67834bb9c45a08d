/*
 * fuzz_acmejws: hostile ACME request bodies, every way lib/acmejws reads
 * them.
 *
 * The bytes, read as JSON (duplicates refused, as a request body is),
 * go to
 *   - acme_jws_parse and acme_jws_parse_inner: the return code and why
 *     must be within the contract, an accepted request must hold what
 *     the header promises (an allowed alg, a nonce for a request and none
 *     for an inner JWS, exactly one of jwk and kid, the payload text and
 *     object agreeing, the signing input "protected.payload" as sent),
 *     and a refused one must hold nothing;
 *   - acme_jws_jwk for a jwk request, then acme_jws_verify with that key,
 *     or with the fixed P-256 key (the RFC 7515 A.3 key, so the seeds
 *     verify) and a fixed Ed25519 key;
 *   - acme_eab_kid and acme_eab_verify with a fixed MAC key, kid, url and
 *     account key (the seed eab.json verifies), a refusal's message one
 *     line; for the payload of a parsed request, its
 *     "externalAccountBinding" member too;
 * and the bytes as a challenge token to acme_key_authz, whose result must
 * be "token.thumbprint", with its dns-01 value of 43 characters.
 * Return codes outside each function's contract abort the run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "acmejws.h"
#include "err.h"
#include "jose.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HMAC_KEY	"fuzz hmac key"
#define FUZZ_EAB_KID	"eab-kid-1"
#define FUZZ_URL	"https://ca.test/acme/acme/new-account"

static const char a3_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

static EVP_PKEY *ec_key, *ed_key;
static json_t *outer_jwk;

static void
fail(const char *what, int rc)
{
	fprintf(stderr, "fuzz_acmejws: %s (rc %d, last error: %s)\n", what, rc,
	    err_msg());
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int rc;

	(void)argc;
	(void)argv;
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	if ((outer_jwk = json_loads(a3_jwk, 0, NULL)) == NULL)
		fail("cannot parse the fixed JWK", 0);
	if ((rc = jwk_import(outer_jwk, JWK_PUBLIC, &ec_key)) != CA_OK)
		fail("cannot import the fixed JWK", rc);
	if ((ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
		fail("cannot make an Ed25519 key", 0);
	return 0;
}

static int
allowed(const char *alg)
{
	return strcmp(alg, "ES256") == 0 || strcmp(alg, "ES384") == 0 ||
	    strcmp(alg, "RS256") == 0 || strcmp(alg, "EdDSA") == 0;
}

static void
check_verify(int rc)
{
	if (rc != CA_OK && rc != CA_REFUSED && rc != CA_INPUT)
		fail("acme_jws_verify: unexpected code", rc);
}

static void
fuzz_eab(const json_t *eab)
{
	char *kid = NULL;
	int rc;

	rc = acme_eab_kid(eab, &kid);
	if (rc == CA_OK) {
		if (kid == NULL || *kid == '\0')
			fail("acme_eab_kid: accepted without a kid", rc);
	} else if ((rc != CA_INPUT && rc != CA_REFUSED) || kid != NULL)
		fail("acme_eab_kid: unexpected failure", rc);
	free(kid);
	rc = acme_eab_verify(eab, FUZZ_EAB_KID,
	    (const unsigned char *)FUZZ_HMAC_KEY, strlen(FUZZ_HMAC_KEY),
	    outer_jwk, FUZZ_URL);
	if (rc != CA_OK && rc != CA_INPUT && rc != CA_REFUSED)
		fail("acme_eab_verify: unexpected code", rc);
	/* A refusal is said in one line, whatever the binding held. */
	if (rc != CA_OK && strpbrk(err_msg(), "\r\n") != NULL)
		fail("acme_eab_verify: a message of more than one line", rc);
}

static void
fuzz_parse(const json_t *body, int inner)
{
	struct acme_jws j;
	EVP_PKEY *k = NULL;
	size_t pl;
	int rc;

	rc = inner ? acme_jws_parse_inner(body, &j) :
	    acme_jws_parse(body, &j);
	if (rc != CA_OK) {
		if (rc != CA_INPUT && rc != CA_REFUSED)
			fail("acme_jws_parse: unexpected code", rc);
		if (rc == CA_REFUSED && j.why != ACME_WHY_BAD_ALG)
			fail("acme_jws_parse: refusal without bad alg", rc);
		if (rc == CA_INPUT && j.why != ACME_WHY_MALFORMED)
			fail("acme_jws_parse: malformed without why", rc);
		if (j.protected_hdr != NULL || j.payload != NULL ||
		    j.payload_text != NULL || j.sig != NULL ||
		    j.signing_input != NULL || j.alg != NULL)
			fail("acme_jws_parse left output on failure", rc);
		return;
	}
	pl = strlen(json_string_value(json_object_get(body, "protected")));
	if (j.why != ACME_WHY_NONE || j.alg == NULL || !allowed(j.alg) ||
	    j.url == NULL || *j.url == '\0' ||
	    (inner ? j.nonce != NULL || j.jwk == NULL || j.kid != NULL :
	    j.nonce == NULL || (j.jwk == NULL) == (j.kid == NULL)) ||
	    j.payload_text == NULL || (j.payload == NULL) !=
	    (j.payload_len == 0) || j.sig == NULL || j.sig_len == 0 ||
	    j.signing_input_len <= pl || j.signing_input[pl] != '.' ||
	    memcmp(j.signing_input, json_string_value(json_object_get(body,
	    "protected")), pl) != 0)
		fail("acme_jws_parse broke its contract", rc);
	if (j.jwk != NULL) {
		rc = acme_jws_jwk(&j, &k);
		if (rc == CA_OK)
			check_verify(acme_jws_verify(&j, k));
		else if ((rc != CA_INPUT && rc != CA_REFUSED) || k != NULL)
			fail("acme_jws_jwk: unexpected failure", rc);
		EVP_PKEY_free(k);
	}
	check_verify(acme_jws_verify(&j, ec_key));
	check_verify(acme_jws_verify(&j, ed_key));
	if (!inner && j.payload != NULL &&
	    json_object_get(j.payload, "externalAccountBinding") != NULL)
		fuzz_eab(json_object_get(j.payload, "externalAccountBinding"));
	acme_jws_free(&j);
}

static void
fuzz_token(const uint8_t *data, size_t size)
{
	char *tok, *ka, *dns;
	size_t n;

	if ((tok = malloc(size + 1)) == NULL)
		return;
	memcpy(tok, data, size);
	tok[size] = '\0';
	n = strlen(tok);
	if ((ka = acme_key_authz(tok, ec_key)) != NULL) {
		if (strncmp(ka, tok, n) != 0 || ka[n] != '.' ||
		    strlen(ka + n + 1) != 43)
			fail("acme_key_authz broke its contract", 0);
		if ((dns = acme_dns01_value(ka)) == NULL || strlen(dns) != 43)
			fail("acme_dns01_value", 0);
		free(dns);
		free(ka);
	} else if (err_code() != CA_INPUT)
		fail("acme_key_authz: unexpected failure", err_code());
	free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body;

	if ((body = json_loadb((const char *)data, size,
	    JSON_REJECT_DUPLICATES, NULL)) != NULL) {
		fuzz_parse(body, 0);
		fuzz_parse(body, 1);
		fuzz_eab(body);
		json_decref(body);
	}
	fuzz_token(data, size);
	err_clear();
	return 0;
}
