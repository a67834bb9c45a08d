/*
 * jose: the subset of JOSE a step-ca compatible CA needs.
 *
 *   JWK   EC P-256/P-384/P-521, RSA, Ed25519 <-> EVP_PKEY; RFC 7638
 *         thumbprints (used as "kid").
 *   JWS   compact serialization, ES256/ES384/ES512, RS256, EdDSA.  The
 *         algorithm is always the one implied by the verifying key; the
 *         token's "alg" only has to agree with it.  Keys named in the
 *         token (jwk, jku, x5u) are never used for trust.
 *   JWE   compact PBES2-HS256+A128KW / A256GCM with a password (step-ca's
 *         "encryptedKey").
 *
 * Conventions: functions returning int return CA_OK or an exit code from
 * enum ca_exit with a one-line message recorded (err.h); functions
 * returning a pointer return NULL with the message and code recorded.
 * CA_INPUT means the input is malformed, CA_REFUSED that it is well formed
 * but must not be trusted (wrong algorithm, bad signature, wrong password,
 * tampering, unsupported critical header), CA_FAIL an internal or
 * resource failure.
 */
#ifndef INCA_JOSE_H
#define INCA_JOSE_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "io.h"

/* PBES2 iteration counts accepted when decrypting (RFC 7518 4.8.1.2). */
#define JOSE_P2C_MIN      1000
/* Bounds the CPU a hostile header can make one decryption burn. */
#define JOSE_P2C_MAX      1200000
/* What step-ca currently writes (ca-init under an operator's password
 * writes as many, its KEY_ITER_OPERATOR). */
#define JOSE_P2C_DEFAULT  600000
#define JOSE_P2S_MIN      8      /* bytes of PBES2 salt accepted */
#define JOSE_P2S_LEN      16     /* bytes of PBES2 salt generated */
#define JOSE_RSA_MIN_BITS 2048   /* smaller RSA keys get no algorithm */
#define JOSE_RSA_MAX_BITS 16384  /* larger moduli are refused on import */
#define JOSE_JTI_LEN      64     /* hex characters from jose_jti() */

/* ---- JWK ------------------------------------------------------------ */

/* What jwk_import() requires of the "d" (private) member. */
enum jwk_part {
	JWK_PUBLIC,	/* "d" must be absent: a public key was expected */
	JWK_PRIVATE,	/* "d" (and the RSA CRT members) must be present */
	JWK_ANY		/* import whichever the JWK holds */
};

/*
 * Build a key from a JWK object.  Supported: kty "EC" with crv "P-256",
 * "P-384", "P-521" (x, y and d exactly the field size); kty "RSA" (n, e,
 * and for a private key all of d, p, q, dp, dq, qi; n and e without
 * leading zero octets); kty "OKP" with crv "Ed25519" (x, d 32 bytes).
 * Members must be strings in strict base64url.  Public points are checked
 * to be on the curve; a private key is checked against its public part.
 * An "alg" member, if present, must name the algorithm for the key's type
 * (ES256/ES384/ES512, RS256, EdDSA); key size is not judged here (an RSA
 * key below JOSE_RSA_MIN_BITS imports, and jose_key_alg() refuses it).
 * Other members (kid, use, key_ops...) are ignored.
 * On CA_OK *out is a new key the caller frees with EVP_PKEY_free().
 * CA_INPUT for a malformed or inconsistent JWK or an unsupported kty/crv.
 * Decoded private members are wiped.
 */
int jwk_import(const json_t *jwk, enum jwk_part part, EVP_PKEY **out);

/*
 * The JWK of key: the required public members, plus the private ones when
 * with_private (CA_INPUT if key has none).  Members are in the order of
 * RFC 7517 examples (kty, crv, x, y, d / kty, n, e, d, p, q, dp, dq, qi).
 * Returns a new reference the caller releases with json_decref(), or with
 * jose_json_wipe() when it holds private members; NULL on failure.
 */
json_t *jwk_export(EVP_PKEY *key, int with_private);

/*
 * RFC 7638 thumbprint of key: base64url(SHA-256(canonical JSON of the
 * required public members)), 43 characters.  Returns a malloc'd string
 * the caller frees with free(); NULL on failure (unsupported key: CA_INPUT).
 */
char *jwk_thumbprint(EVP_PKEY *key);

/*
 * The JWS algorithm for key: ES256/ES384/ES512 for EC P-256/P-384/P-521,
 * RS256 for RSA of at least JOSE_RSA_MIN_BITS, EdDSA for Ed25519.  *alg
 * is set to a static string.  CA_REFUSED for a too small RSA key, CA_INPUT
 * for any other key type or curve.
 */
int jose_key_alg(EVP_PKEY *key, const char **alg);

/*
 * Wipe every string value inside j (recursively) and drop the caller's
 * reference.  For JSON holding secrets (a private JWK); only call it on the
 * last reference, since the strings are wiped in place.  NULL is ignored.
 */
void jose_json_wipe(json_t *j);

/*
 * json_dumps() for JSON holding secrets: the text is written straight into
 * one buffer of the exact size, so no copy is left in freed memory.  The
 * caller wipes it with io_wipe_str().  NULL on failure (message recorded).
 */
char *jose_json_dumps_secret(const json_t *j, size_t flags);

/* ---- JWS ------------------------------------------------------------ */

/*
 * Sign claims (a JSON object) as a compact JWS with protected header
 * {"alg":<jose_key_alg(key)>,"kid":<kid>,"typ":"JWT", ...extra}.  kid NULL
 * means the RFC 7638 thumbprint of key.  extra (may be NULL) is an object
 * whose members are appended to the header (e.g. "x5c"); it must not set
 * alg, kid, typ or crit (CA_INPUT).  ES* signatures are r||s, fixed size.
 * On CA_OK *out is a malloc'd NUL-terminated token the caller frees with
 * free().  A token longer than CA_MAX_JWT is refused (CA_INPUT), since
 * jws_parse() would refuse it.
 */
int jws_sign(EVP_PKEY *key, const char *kid, const json_t *extra,
    const json_t *claims, char **out);

/*
 * A parsed, NOT yet verified, compact JWS.  Everything is owned by the
 * struct and released by jws_free(); take a json_incref() to keep header
 * or claims longer.  alg and kid point into header (kid NULL if absent).
 */
struct jws {
	json_t *header;		/* protected header, a JSON object */
	json_t *claims;		/* payload, a JSON object */
	const char *alg;
	const char *kid;
	char *signing_input;	/* "<b64 header>.<b64 payload>", NUL-terminated */
	size_t signing_input_len;
	unsigned char *sig;	/* decoded signature, never empty */
	size_t sig_len;
};

/*
 * Parse the len bytes of token (need not be NUL-terminated), in this
 * order: len <= CA_MAX_JWT; exactly three '.'-separated segments, each
 * strict base64url, signature not empty; header and payload JSON objects
 * without duplicate members; header "alg" a string, "kid" a string if
 * present (all CA_INPUT); no "crit" member (CA_REFUSED, since no extension
 * is understood).  On CA_OK the caller frees *out with jws_free(); on
 * failure *out is left empty (jws_free() on it is harmless).
 * Parsing proves nothing: pick the key (by iss, kid) and call jws_verify().
 */
int jws_parse(const char *token, size_t len, struct jws *out);

/*
 * Verify jws with key.  The header alg must equal jose_key_alg(key), else
 * CA_REFUSED naming the alg (this refuses "none", HS256 and any algorithm
 * confusion).  ES*: the signature must be exactly r||s of the curve size
 * with 0 < r, s < order; RS256: exactly the modulus size; EdDSA: 64 bytes.
 * A signature that does not verify is CA_REFUSED "bad signature".
 */
int jws_verify(const struct jws *jws, EVP_PKEY *key);

/* Release everything jws holds and empty it.  NULL is ignored. */
void jws_free(struct jws *jws);

/* ---- JWE ------------------------------------------------------------ */

/*
 * Encrypt pt as a compact JWE with header {"alg":"PBES2-HS256+A128KW",
 * "enc":"A256GCM","cty":<cty>,"p2c":<p2c>,"p2s":<16 random bytes>} (cty
 * omitted when NULL; step-ca uses "jwk+json").  pw is pw_len bytes, not
 * empty.  p2c must be within [JOSE_P2C_MIN, JOSE_P2C_MAX] (CA_INPUT);
 * JOSE_P2C_DEFAULT is step-ca's value.  On CA_OK *out is a malloc'd token
 * the caller frees with free().  Key material is wiped.
 */
int jwe_encrypt_pbes2(const void *pt, size_t pt_len, const char *pw,
    size_t pw_len, long p2c, const char *cty, char **out);

/*
 * Decrypt a compact JWE made as above.  Strict: len <= CA_MAX_JWT, five
 * strict base64url segments, header a JSON object without duplicates, alg
 * and enc exactly the values above, no "crit" or "zip", p2c an integer in
 * [JOSE_P2C_MIN, JOSE_P2C_MAX], p2s at least JOSE_P2S_MIN bytes, encrypted
 * key 40 bytes, IV 12, tag 16 (CA_INPUT, or CA_REFUSED for an unsupported
 * alg/enc/crit/zip).  The bounds are checked before any key derivation.
 * A failed key unwrap is CA_REFUSED "wrong password"; a failed GCM tag
 * (ciphertext, IV, tag or header modified) is CA_REFUSED.  On CA_OK out
 * holds the plaintext (NUL-terminated, not counted in out->len); the
 * caller frees it with buf_free(), which wipes it.
 */
int jwe_decrypt_pbes2(const char *token, size_t len, const char *pw,
    size_t pw_len, struct buf *out);

/* ---- misc ----------------------------------------------------------- */

/*
 * Split the len bytes at s (a compact JWS or JWE; need not be
 * NUL-terminated) at every '.': segment i is seglen[i] bytes at s +
 * off[i].  Returns the number of segments (at least 1), or max + 1 when
 * there are more than max (off and seglen then hold the first max).
 * Sets no message: the caller knows what it expected.
 */
size_t jose_split(const char *s, size_t len, size_t max, size_t *off,
    size_t *seglen);

/*
 * A fresh "jti": JOSE_JTI_LEN lowercase hex characters from 32 random
 * bytes, NUL-terminated in out.  CA_FAIL (out emptied) if the random
 * generator fails.
 */
int jose_jti(char out[JOSE_JTI_LEN + 1]);

#endif
