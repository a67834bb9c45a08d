#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "err.h"
#include "key.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192
#define RSA_EXPONENT 65537
/*
 * Trial division of a modulus by every odd prime below this bound (167
 * primes; OpenSSL's SP 800-56B check and Let's Encrypt stop at 751).  A
 * generated key never fails it; it catches a modulus built with a small
 * factor, which anyone can then factor.
 */
#define RSA_SMALL_PRIME_BOUND 1000

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

/*
 * The smallest odd prime below RSA_SMALL_PRIME_BOUND that divides n, 0
 * if there is none, -1 on failure.  The primes are taken in groups whose
 * product fits 32 bits, so that one BN_mod_word (its fast case) serves
 * two or three of them: 50 reductions of n, 14 us of CPU for 2048 bits
 * and 31 us for 4096.
 */
static long
rsa_small_factor(const BIGNUM *n)
{
	unsigned char composite[RSA_SMALL_PRIME_BOUND];
	unsigned long primes[RSA_SMALL_PRIME_BOUND / 2], r;
	uint64_t m;
	size_t np = 0, i, j;
	long p, q;

	memset(composite, 0, sizeof(composite));
	for (p = 3; p < RSA_SMALL_PRIME_BOUND; p += 2) {
		if (composite[p])
			continue;
		primes[np++] = (unsigned long)p;
		for (q = p * p; q < RSA_SMALL_PRIME_BOUND; q += 2 * p)
			composite[q] = 1;
	}
	for (i = 0; i < np; i = j) {
		for (m = 1, j = i; j < np && m * primes[j] <= 0xffffffffU; j++)
			m *= primes[j];
		if ((r = BN_mod_word(n, (BN_ULONG)m)) == (unsigned long)(BN_ULONG)-1)
			return -1;
		for (; i < j; i++)
			if (r % primes[i] == 0)
				return (long)primes[i];
	}
	return 0;
}

/*
 * The RSA rule.  The public exponent must be exactly 65537: with e = 1
 * the "signature" of a message is its own padded digest (no private key
 * needed), e = 2 is a Rabin key, small odd exponents invite the
 * low-exponent attacks on bad padding, and an even exponent is not RSA
 * at all.  Every mainstream generator (OpenSSL, Go, Java, Windows
 * CryptoAPI) uses 65537, and a single value keeps verification
 * cost bounded, so nothing wider is accepted (the rule Let's Encrypt
 * applies).  The modulus must be odd, 2048..8192 bits, and free of small
 * prime factors.
 */
static int
rsa_check(EVP_PKEY *pk, int bits)
{
	BIGNUM *n = NULL, *e = NULL;
	char *dec = NULL;
	long f;
	int rc = CA_OK;

	if (bits < RSA_MIN_BITS)
		return err_set(CA_INPUT, "RSA key of %d bits: at least %d required",
		    bits, RSA_MIN_BITS);
	if (bits > RSA_MAX_BITS)
		return err_set(CA_INPUT, "RSA key of %d bits: at most %d accepted",
		    bits, RSA_MAX_BITS);
	if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e)) {
		rc = err_ssl(CA_INPUT, "RSA key without modulus or exponent");
		goto out;
	}
	if (!BN_is_word(e, RSA_EXPONENT)) {
		/* Bounded: e is shown only when it is small. */
		if (BN_num_bits(e) <= 64 && (dec = BN_bn2dec(e)) != NULL)
			rc = err_set(CA_INPUT, "RSA public exponent %s: only %d accepted",
			    dec, RSA_EXPONENT);
		else
			rc = err_set(CA_INPUT, "RSA public exponent of %d bits: only %d accepted",
			    BN_num_bits(e), RSA_EXPONENT);
		goto out;
	}
	if (!BN_is_odd(n)) {
		rc = err_set(CA_INPUT, "RSA modulus is even");
		goto out;
	}
	if ((f = rsa_small_factor(n)) < 0)
		rc = err_set(CA_FAIL, "RSA key check: out of memory");
	else if (f > 0)
		rc = err_set(CA_INPUT, "RSA modulus has the small factor %ld", f);
out:
	OPENSSL_free(dec);
	BN_free(n);
	BN_free(e);
	return rc;
}

/*
 * The EC point: on the curve and not the point at infinity.  (An encoding
 * off the curve does not even decode; infinity does.)  The curves taken
 * have cofactor 1, so a point on the curve is in the prime-order group.
 */
static int
ec_point_check(EVP_PKEY *pk)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	int ok = ctx != NULL && EVP_PKEY_public_check_quick(ctx) == 1;

	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		return err_ssl(CA_INPUT, "EC public key is not a valid point of its curve");
	return CA_OK;
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
	if (strcmp(kty, "EC") == 0) {
		char enc[32];

		/* Explicit curve parameters: refused by verifiers (RFC 5480). */
		if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_EC_ENCODING,
		    enc, sizeof(enc), NULL) || strcmp(enc, "named_curve") != 0)
			return err_set(CA_INPUT, "EC key with explicit parameters: a named curve is required");
		return ec_point_check(pk);
	}
	if (strcmp(kty, "RSA") == 0)
		return rsa_check(pk, bits);
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

int
key_spec_parse(const char *kty, const char *curve, const char *size,
    struct key_spec *out)
{
	char *end;
	long bits;

	memset(out, 0, sizeof(*out));
	if (kty == NULL || strcmp(kty, "EC") == 0) {
		if (size != NULL)
			return err_set(CA_USAGE, "--size is for RSA keys; EC takes --curve");
		if (curve == NULL)
			curve = "P-256";
		if (strcmp(curve, "P-256") && strcmp(curve, "P-384") &&
		    strcmp(curve, "P-521"))
			return err_set(CA_USAGE, "--curve %s: P-256, P-384 or P-521", curve);
		snprintf(out->kty, sizeof(out->kty), "EC");
		snprintf(out->curve, sizeof(out->curve), "%s", curve);
	} else if (strcmp(kty, "RSA") == 0) {
		if (curve != NULL)
			return err_set(CA_USAGE, "--curve is for EC and OKP keys; RSA takes --size");
		bits = 3072;
		if (size != NULL) {
			bits = strtol(size, &end, 10);
			if (size[0] == '\0' || *end != '\0')
				return err_set(CA_USAGE, "--size %s: a number of bits", size);
		}
		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || bits % 8)
			return err_set(CA_USAGE, "--size %ld: %d..%d bits, a multiple of 8",
			    bits, RSA_MIN_BITS, RSA_MAX_BITS);
		snprintf(out->kty, sizeof(out->kty), "RSA");
		out->bits = (int)bits;
	} else if (strcmp(kty, "OKP") == 0) {
		if (size != NULL)
			return err_set(CA_USAGE, "--size is for RSA keys");
		if (curve != NULL && strcmp(curve, "Ed25519") != 0)
			return err_set(CA_USAGE, "--curve %s: OKP keys are Ed25519", curve);
		snprintf(out->kty, sizeof(out->kty), "OKP");
		snprintf(out->curve, sizeof(out->curve), "Ed25519");
	} else
		return err_set(CA_USAGE, "--kty %s: EC, RSA or OKP", kty);
	return CA_OK;
}

int
key_spec_of(EVP_PKEY *pk, struct key_spec *out)
{
	const char *kty, *crv;
	int bits;

	key_info(pk, &kty, &crv, &bits);
	memset(out, 0, sizeof(*out));
	if (kty == NULL || (strcmp(kty, "RSA") != 0 && crv == NULL))
		return err_set(CA_INPUT, "unsupported key type");
	snprintf(out->kty, sizeof(out->kty), "%s", kty);
	if (crv != NULL)
		snprintf(out->curve, sizeof(out->curve), "%s", crv);
	if (strcmp(kty, "RSA") == 0)
		out->bits = bits < RSA_MIN_BITS ? RSA_MIN_BITS :
		    bits > RSA_MAX_BITS ? RSA_MAX_BITS : bits - bits % 8;
	return CA_OK;
}

EVP_PKEY *
key_generate(const struct key_spec *spec)
{
	EVP_PKEY *pk;

	if (strcmp(spec->kty, "EC") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", spec->curve);
	else if (strcmp(spec->kty, "RSA") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)spec->bits);
	else if (strcmp(spec->kty, "OKP") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else {
		err_set(CA_USAGE, "%s: unsupported key type", spec->kty);
		return NULL;
	}
	if (pk == NULL)
		err_ssl(CA_FAIL, "key generation failed");
	return pk;
}
