/*
 * fuzz_pem: the strict PEM/DER reader and what is read through it.
 *
 * One input goes to every entry point: pem_decode (up to CA_MAX_CHAIN
 * blocks), pem_load_certs (a chain as ca-sign and ca-verify read it),
 * pem_load_csr and pem_load_key, the last with a fixed password and with
 * none (a key that loads and is accepted signs once).  Each certificate read is then inspected the way the programs do
 * (subject CN, SANs through sans_from_general_names, validity times,
 * fingerprint, serial, key policy) and written back with pem_cert, which
 * must read again as the same certificate.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ca_limits.h"
#include "err.h"
#include "key.h"
#include "pem.h"
#include "san.h"
#include "x509.h"

/* The seed corpus's encrypted key uses this password. */
#define FUZZ_PASSWORD "fuzz-password"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_pem: %s (last error: %s)\n", what, err_msg());
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	return 0;
}

static void
decode(const uint8_t *data, size_t size)
{
	struct pem_block *b = NULL;
	size_t n = 0, i;

	if (pem_decode(data, size, CA_MAX_CHAIN, &b, &n) != CA_OK) {
		if (b != NULL || n != 0)
			fail("pem_decode failed but returned blocks");
		return;
	}
	if (n == 0 || n > CA_MAX_CHAIN || b == NULL)
		fail("pem_decode returned CA_OK with a bad block count");
	if (!pem_is_pem(data, size) &&
	    (n != 1 || b[0].name[0] != '\0' || b[0].len != size ||
	    memcmp(b[0].der, data, size) != 0))
		fail("DER input not returned as one unnamed block");
	for (i = 0; i < n; i++) {
		if (b[i].len > size || (b[i].len > 0 && b[i].der == NULL))
			fail("block larger than its input");
		if (memchr(b[i].name, '\0', sizeof(b[i].name)) == NULL)
			fail("block name not terminated");
	}
	pem_blocks_free(b, n);
}

static void
inspect(X509 *x)
{
	GENERAL_NAMES *gens;
	struct sans sans = { NULL, 0 };
	STACK_OF(X509) *again = NULL;
	char cn[CA_MAX_SAN_LEN + 1], fp[65], *s;
	EVP_PKEY *pk;

	(void)x509_subject_cn(X509_get_subject_name(x), cn, sizeof(cn));
	(void)x509_subject_cn(X509_get_issuer_name(x), cn, sizeof(cn));
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (gens != NULL)
		(void)sans_from_general_names(gens, &sans);
	GENERAL_NAMES_free(gens);
	sans_free(&sans);
	(void)x509_time(X509_get0_notBefore(x));
	(void)x509_time(X509_get0_notAfter(x));
	(void)x509_fingerprint(x, fp);
	OPENSSL_free(x509_serial_dec(x));
	if ((pk = X509_get0_pubkey(x)) != NULL) {
		char d[64];

		(void)key_check(pk);
		(void)key_describe(pk, d, sizeof(d));
	}
	/* What we print, we read back as the same certificate. */
	if ((s = pem_cert(x)) != NULL) {
		if (pem_load_certs((const unsigned char *)s, strlen(s), &again) != CA_OK)
			fail("pem_cert output does not read back");
		if (sk_X509_num(again) != 1 || X509_cmp(x, sk_X509_value(again, 0)) != 0)
			fail("pem_cert output reads back as another certificate");
		sk_X509_pop_free(again, X509_free);
		free(s);
	}
}

static void
certs(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *sk = NULL;
	int i;

	if (pem_load_certs(data, size, &sk) != CA_OK) {
		if (sk != NULL)
			fail("pem_load_certs failed but returned certificates");
		return;
	}
	if (sk == NULL || sk_X509_num(sk) < 1 || sk_X509_num(sk) > CA_MAX_CHAIN)
		fail("pem_load_certs returned CA_OK with a bad chain length");
	for (i = 0; i < sk_X509_num(sk); i++)
		inspect(sk_X509_value(sk, i));
	sk_X509_pop_free(sk, X509_free);
}

static void
csr(const uint8_t *data, size_t size)
{
	X509_REQ *req = NULL;

	if (pem_load_csr(data, size, &req) == CA_OK && req == NULL)
		fail("pem_load_csr returned CA_OK without a request");
	X509_REQ_free(req);
}

/*
 * A key that loads and passes key_check gets used: one signature, as the
 * CA's key signs certificates and tokens.  A malformed key must be refused
 * at load or fail cleanly here.
 */
static void
sign_with(EVP_PKEY *pk)
{
	static const unsigned char msg[] = "fuzz";
	unsigned char sig[1100];
	size_t slen = sizeof(sig);
	EVP_MD_CTX *ctx;

	if (key_check(pk) != CA_OK || EVP_PKEY_get_size(pk) > (int)sizeof(sig))
		return;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return;
	if (EVP_DigestSignInit(ctx, NULL, key_digest(pk), NULL, pk) == 1)
		(void)EVP_DigestSign(ctx, sig, &slen, msg, sizeof(msg) - 1);
	EVP_MD_CTX_free(ctx);
}

static void
key(const uint8_t *data, size_t size, const char *password)
{
	EVP_PKEY *pk = NULL;
	char d[64];

	if (pem_load_key(data, size, password, &pk) != CA_OK) {
		if (pk != NULL)
			fail("pem_load_key failed but returned a key");
		return;
	}
	if (pk == NULL)
		fail("pem_load_key returned CA_OK without a key");
	(void)key_describe(pk, d, sizeof(d));
	sign_with(pk);
	EVP_PKEY_free(pk);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The programs read at most CA_MAX_PEM bytes of PEM/DER. */
	if (size > CA_MAX_PEM)
		return 0;
	decode(data, size);
	certs(data, size);
	csr(data, size);
	key(data, size, FUZZ_PASSWORD);
	key(data, size, NULL);
	err_clear();
	ERR_clear_error();
	return 0;
}
