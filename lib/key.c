#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "err.h"
#include "key.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192

static const char *
ec_curve(EVP_PKEY *pk)
{
	char name[64];
	size_t n;

	if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
	    name, sizeof(name), &n))
		return NULL;
	if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0)
		return "P-256";
	if (strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0)
		return "P-384";
	if (strcmp(name, "secp521r1") == 0 || strcmp(name, "P-521") == 0)
		return "P-521";
	return NULL;
}

void
key_info(EVP_PKEY *pk, const char **kty, const char **crv, int *bits)
{
	*kty = NULL;
	*crv = NULL;
	*bits = EVP_PKEY_get_bits(pk);
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_EC:
		*kty = "EC";
		*crv = ec_curve(pk);
		break;
	case EVP_PKEY_RSA:
		*kty = "RSA";
		break;
	case EVP_PKEY_ED25519:
		*kty = "OKP";
		*crv = "Ed25519";
		break;
	default:
		break;
	}
}

const char *
key_describe(EVP_PKEY *pk, char *buf, size_t len)
{
	const char *kty, *crv;
	int bits;

	key_info(pk, &kty, &crv, &bits);
	if (kty == NULL)
		snprintf(buf, len, "%s", OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
	else if (strcmp(kty, "RSA") == 0)
		snprintf(buf, len, "RSA %d", bits);
	else if (crv != NULL && strcmp(kty, "EC") == 0)
		snprintf(buf, len, "EC %s", crv);
	else if (crv != NULL)
		snprintf(buf, len, "%s", crv);
	else
		snprintf(buf, len, "EC (unsupported curve)");
	return buf;
}

int
key_check(EVP_PKEY *pk)
{
	const char *kty, *crv;
	char d[64];
	int bits;

	key_info(pk, &kty, &crv, &bits);
	if (kty == NULL)
		return err_set(CA_INPUT, "unsupported key type %s (EC P-256/P-384/P-521, Ed25519 or RSA >= %d)",
		    key_describe(pk, d, sizeof(d)), RSA_MIN_BITS);
	if (strcmp(kty, "EC") == 0 && crv == NULL)
		return err_set(CA_INPUT, "unsupported EC curve (P-256, P-384, P-521)");
	if (strcmp(kty, "RSA") == 0 && bits < RSA_MIN_BITS)
		return err_set(CA_INPUT, "RSA key of %d bits: at least %d required",
		    bits, RSA_MIN_BITS);
	if (strcmp(kty, "RSA") == 0 && bits > RSA_MAX_BITS)
		return err_set(CA_INPUT, "RSA key of %d bits: at most %d accepted",
		    bits, RSA_MAX_BITS);
	return CA_OK;
}

const EVP_MD *
key_digest(EVP_PKEY *pk)
{
	const char *kty, *crv;
	int bits;

	key_info(pk, &kty, &crv, &bits);
	if (kty != NULL && strcmp(kty, "OKP") == 0)
		return NULL;
	if (crv != NULL && strcmp(crv, "P-384") == 0)
		return EVP_sha384();
	if (crv != NULL && strcmp(crv, "P-521") == 0)
		return EVP_sha512();
	return EVP_sha256();
}

EVP_PKEY *
key_generate(const char *kty, const char *curve, int bits)
{
	EVP_PKEY *pk = NULL;

	if (kty == NULL || strcmp(kty, "EC") == 0) {
		const char *group;

		if (curve == NULL || strcmp(curve, "P-256") == 0)
			group = "P-256";
		else if (strcmp(curve, "P-384") == 0)
			group = "P-384";
		else if (strcmp(curve, "P-521") == 0)
			group = "P-521";
		else {
			err_set(CA_USAGE, "%s: unsupported curve (P-256, P-384, P-521)", curve);
			return NULL;
		}
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
	} else if (strcmp(kty, "RSA") == 0) {
		if (bits == 0)
			bits = 3072;
		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || bits % 8) {
			err_set(CA_USAGE, "RSA size %d: %d..%d bits, a multiple of 8",
			    bits, RSA_MIN_BITS, RSA_MAX_BITS);
			return NULL;
		}
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	} else if (strcmp(kty, "OKP") == 0) {
		if (curve != NULL && strcmp(curve, "Ed25519") != 0) {
			err_set(CA_USAGE, "%s: unsupported OKP curve (Ed25519)", curve);
			return NULL;
		}
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	} else {
		err_set(CA_USAGE, "%s: unsupported key type (EC, RSA, OKP)", kty);
		return NULL;
	}
	if (pk == NULL)
		err_ssl(CA_FAIL, "key generation failed");
	return pk;
}
