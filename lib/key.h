/*
 * key: key pairs: generation, the accepted set, digests for signing.
 */
#ifndef INCA_KEY_H
#define INCA_KEY_H

#include <openssl/evp.h>

/* What key pair to generate. */
struct key_spec {
	char kty[4];            /* "EC", "RSA", "OKP" */
	char curve[8];          /* "P-256", "P-384", "P-521", "Ed25519"; "" for RSA */
	int bits;               /* RSA only */
};

/*
 * Parse the --kty/--curve/--size options (each may be NULL) into a spec:
 * EC takes a curve (default P-256), RSA a size of 2048..8192 bits in
 * multiples of 8 (default 3072), OKP the curve Ed25519.  A curve for RSA,
 * a size for EC/OKP, or a malformed size is CA_USAGE.
 */
int key_spec_parse(const char *kty, const char *curve, const char *size,
    struct key_spec *out);
/* The spec of an existing key (to match a brought root); CA_INPUT if unsupported. */
int key_spec_of(EVP_PKEY *pk, struct key_spec *out);

/* Generate a key pair.  NULL on failure, message recorded. */
EVP_PKEY *key_generate(const struct key_spec *spec);

/*
 * The one key-acceptance rule, for every key this CA certifies or trusts
 * (CSR keys, CA keys, provisioner keys).  CA_OK if the key is EC
 * P-256/P-384/P-521 on a named curve with a valid point (not infinity),
 * Ed25519, or RSA of 2048..8192 bits with public exponent exactly 65537
 * and an odd modulus free of prime factors below 1,000.  Otherwise
 * CA_INPUT with the reason ("RSA public exponent 3: only 65537
 * accepted"); callers prefix what the key was.
 */
int key_check(EVP_PKEY *pk);

/* Short description: "EC P-256", "RSA 2048", "Ed25519"; static storage. */
const char *key_describe(EVP_PKEY *pk, char *buf, size_t len);
/* JOSE-style type and curve: kty "EC"/"RSA"/"OKP", crv or NULL; bits. */
void key_info(EVP_PKEY *pk, const char **kty, const char **crv, int *bits);

/* The digest to sign with this key (NULL for Ed25519, which takes none). */
const EVP_MD *key_digest(EVP_PKEY *pk);

#endif
