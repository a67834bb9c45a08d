/*
 * acmejws: JWS as ACME (RFC 8555 section 6) uses it, on top of jose.
 *
 *   requests   the flattened JSON serialization only; protected header
 *              with alg (allow-listed), nonce, url and exactly one of
 *              jwk and kid; payload a JSON object or "" (POST-as-GET).
 *   verify     the signature with the account key; the key decides the
 *              algorithm (jws_verify), the header may only agree.
 *   EAB        the external account binding of RFC 8555 7.3.4: an inner
 *              HS256 JWS over the outer jwk, keyed by the CA's MAC key.
 *   key authz  token "." RFC 7638 thumbprint, and the tls-alpn-01 and
 *              dns-01 digests of it (RFC 8737, RFC 8555 8.4).
 *
 * Conventions as in jose.h: CA_OK, or an exit code with a one-line
 * message recorded (err.h).  Each refusal also has an ACME meaning, an
 * enum acme_jws_why: acme_jws_parse() stores it in the struct; the other
 * functions have one meaning per return code, given at each, and
 * acme_why_type() names the problem document type of each.
 */
#ifndef INCA_ACMEJWS_H
#define INCA_ACMEJWS_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

/* Bytes of SHA-256(key authorization), the tls-alpn-01 extension value. */
#define ACME_DIGEST_LEN	32

enum acme_jws_why {
	ACME_WHY_NONE = 0,	/* accepted */
	ACME_WHY_MALFORMED,	/* urn:ietf:params:acme:error:malformed */
	ACME_WHY_BAD_ALG,	/* ...:badSignatureAlgorithm */
	ACME_WHY_BAD_SIG,	/* signature does not verify: ...:malformed */
	ACME_WHY_BAD_KEY,	/* account key not accepted: ...:badPublicKey */
	ACME_WHY_UNAUTHORIZED	/* EAB not bound or MAC wrong: ...:unauthorized */
};

/*
 * The problem document type for why: a static
 * "urn:ietf:params:acme:error:..." string (ACME_WHY_NONE: NULL).
 */
const char *acme_why_type(enum acme_jws_why why);

/*
 * A parsed, NOT yet verified, ACME request.  Everything is owned by the
 * struct and released by acme_jws_free().  alg, nonce, url and kid point
 * into protected_hdr; jwk is a borrowed member of it (take json_incref()
 * to keep it longer).
 */
struct acme_jws {
	json_t *protected_hdr;	/* the protected header, a JSON object */
	const char *alg;	/* one of ES256, ES384, RS256, EdDSA */
	const char *nonce;	/* NULL only after acme_jws_parse_inner() */
	const char *url;
	json_t *jwk;		/* the "jwk" member, or NULL */
	const char *kid;	/* the "kid" member (account URL), or NULL */
	char *payload_text;	/* decoded payload, NUL-terminated ("" for
				   POST-as-GET) */
	size_t payload_len;
	json_t *payload;	/* the payload object; NULL for POST-as-GET */
	char *signing_input;	/* "<protected>.<payload>" as sent */
	size_t signing_input_len;
	unsigned char *sig;	/* decoded signature, never empty */
	size_t sig_len;
	enum acme_jws_why why;	/* set by the parsers, also on success */
};

/*
 * Parse an ACME request body (the JSON value the client POSTed), in this
 * order, each failure CA_INPUT with why ACME_WHY_MALFORMED unless said:
 *   - a JSON object of at most CA_MAX_JSON bytes (compact) whose members
 *     are exactly "protected", "payload" and "signature", all strings in
 *     strict base64url ("header", "signatures" or any other member is
 *     refused: only the flattened serialization, no unprotected header);
 *   - the protected header a JSON object without duplicate members, no
 *     "crit" (no extension is understood);
 *   - "alg" a string among ES256, ES384, RS256, EdDSA, else CA_REFUSED,
 *     why ACME_WHY_BAD_ALG ("none", HS*, PS*, ES512 and anything else);
 *   - "nonce" a non-empty string in strict (canonical) base64url, so
 *     the server's nonces must be b64url_encode() output; "url" a
 *     non-empty string (the caller spends the nonce and compares url
 *     with the URL requested);
 *   - exactly one of "jwk" (a JSON object) and "kid" (a non-empty string);
 *   - the payload "" (POST-as-GET) or a JSON object without duplicate
 *     members; the signature not empty.
 * Other header members are ignored.  On failure *out is left empty
 * except for why (acme_jws_free() on it is harmless).  Parsing proves
 * nothing: verify with acme_jws_verify().
 */
int acme_jws_parse(const json_t *body, struct acme_jws *out);

/*
 * The same for the inner JWS of a key change (RFC 8555 7.3.5): "jwk"
 * required, "kid" and "nonce" refused; otherwise as acme_jws_parse().
 * The caller compares url with the outer url.
 */
int acme_jws_parse_inner(const json_t *body, struct acme_jws *out);

/* Release everything j holds and empty it.  NULL is ignored. */
void acme_jws_free(struct acme_jws *j);

/*
 * The key of a request that carries "jwk": jwk_import() with JWK_PUBLIC
 * (a "d" member is refused).  The key must have an algorithm of the
 * allow-list: EC P-256 or P-384, RSA of JOSE_RSA_MIN_BITS up to
 * JOSE_RSA_MAX_BITS, Ed25519.  CA_INPUT: no jwk, or one that does not
 * import (malformed, off the curve, or refused by key_check, which takes
 * no RSA key below 2048 bits or with an exponent other than 65537);
 * CA_REFUSED: a key that imports but has no algorithm of the list (EC
 * P-521).  Both mean ACME_WHY_BAD_KEY.  On CA_OK the caller frees *out
 * with EVP_PKEY_free().
 */
int acme_jws_jwk(const struct acme_jws *j, EVP_PKEY **out);

/*
 * Verify j with key (the jwk's, or the account's for a kid request).
 * The key must be one acme_jws_jwk() accepts and the header alg the one
 * the key implies (jose_key_alg); then the signature over
 * "<protected>.<payload>" (ECDSA as fixed-size r||s with r, s in range).
 * CA_REFUSED means ACME_WHY_BAD_SIG (also for an alg that does not match
 * the key); CA_INPUT a key outside the allow-list (ACME_WHY_BAD_KEY);
 * CA_FAIL an internal failure.
 */
int acme_jws_verify(const struct acme_jws *j, EVP_PKEY *key);

/*
 * The "kid" of an externalAccountBinding object, so that the caller can
 * look up its MAC key: the object is parsed as acme_eab_verify() does.
 * On CA_OK *kid is a malloc'd copy the caller frees with free().
 * CA_INPUT (ACME_WHY_MALFORMED) for a malformed binding, CA_REFUSED
 * (ACME_WHY_UNAUTHORIZED) for an alg other than HS256.
 */
int acme_eab_kid(const json_t *eab, char **kid);

/*
 * Verify an externalAccountBinding (RFC 8555 7.3.4) of a newAccount
 * request whose url is url and whose key is outer_jwk: the flattened JWS
 * as in acme_jws_parse(), except that its protected header has "alg"
 * exactly "HS256", "kid" equal to kid, "url" equal to url, and no
 * "nonce" and no "jwk"; its payload is a JWK of the same public key as
 * outer_jwk (compared by RFC 7638 thumbprint, so member order and extra
 * members do not matter); its MAC, HMAC-SHA256 with hmac_key (keylen
 * bytes, not empty) over "<protected>.<payload>", is 32 bytes and is
 * compared in constant time.
 * CA_INPUT (ACME_WHY_MALFORMED): malformed, a "nonce" or "jwk" in the
 * header, a payload that is not a JWK, or an outer_jwk that does not
 * import; CA_REFUSED (ACME_WHY_UNAUTHORIZED): another alg, kid, url or
 * key, or a wrong MAC; CA_FAIL: no hmac_key (the caller's error) or an
 * internal failure.  The MAC is checked before the key is compared.
 * No message repeats the binding's bytes (its alg, kid or url).
 */
int acme_eab_verify(const json_t *eab, const char *kid,
    const unsigned char *hmac_key, size_t keylen, const json_t *outer_jwk,
    const char *url);

/*
 * The key authorization of token for the account key: token "."
 * jwk_thumbprint(acctkey).  token must be non-empty base64url (the
 * server's own; CA_INPUT otherwise).  Returns a malloc'd string the
 * caller frees with free(); NULL with the message recorded on failure.
 */
char *acme_key_authz(const char *token, EVP_PKEY *acctkey);

/*
 * SHA-256 of the key authorization keyauthz (its bytes, without NUL) into
 * out: the value of the tls-alpn-01 acmeIdentifier extension (RFC 8737
 * 3).  CA_OK, or CA_FAIL.
 */
int acme_keyauthz_digest(const char *keyauthz,
    unsigned char out[ACME_DIGEST_LEN]);

/*
 * base64url(SHA-256(keyauthz)), 43 characters: the TXT record value of
 * dns-01 (RFC 8555 8.4).  Returns a malloc'd string the caller frees
 * with free(); NULL with the message recorded on failure.
 */
char *acme_dns01_value(const char *keyauthz);

#endif
