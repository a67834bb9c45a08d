/*
 * key: key pairs: generation, the accepted set, digests for signing.
 */
#ifndef INCA_KEY_H
#define INCA_KEY_H

#include <openssl/evp.h>

/*
 * Generate a key pair.  kty "EC" (curve "P-256", "P-384", "P-521"),
 * "RSA" (bits 2048..8192, multiple of 8... 2048/3072/4096 typical),
 * "OKP" (curve "Ed25519").  curve or bits may be NULL/0 for the defaults
 * (P-256, 3072, Ed25519).  NULL on failure, message recorded.
 */
EVP_PKEY *key_generate(const char *kty, const char *curve, int bits);

/*
 * CA_OK if the key is one we sign for: EC P-256/P-384/P-521, Ed25519,
 * RSA 2048..8192 bits.  Otherwise CA_INPUT with the reason ("RSA key of
 * 1024 bits: at least 2048 required").
 */
int key_check(EVP_PKEY *pk);

/* Short description: "EC P-256", "RSA 2048", "Ed25519"; static storage. */
const char *key_describe(EVP_PKEY *pk, char *buf, size_t len);
/* JOSE-style type and curve: kty "EC"/"RSA"/"OKP", crv or NULL; bits. */
void key_info(EVP_PKEY *pk, const char **kty, const char **crv, int *bits);

/* The digest to sign with this key (NULL for Ed25519, which takes none). */
const EVP_MD *key_digest(EVP_PKEY *pk);

#endif
