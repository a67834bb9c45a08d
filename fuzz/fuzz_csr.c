/*
 * fuzz_csr: a certificate request as ca-sign reads it from stdin.
 *
 * pem_load_csr (PEM or DER), then csr_check (key policy and signature),
 * csr_thumbprint and csr_requested_names (csr_names: the subject CN and
 * the extensionRequest SANs through sans_from_general_names; the CN as
 * the name when there are no SANs).  The names are read whether or not
 * the signature verifies, so that mutated requests still reach the name
 * parsers.  Names accepted from a request are then issued the way
 * ca-sign does it, by a fixed CA made at start-up, and the issued
 * certificate must carry exactly those names: x509_issue refusing them
 * with CA_FAIL (its lint) or changing them aborts the run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ca_limits.h"
#include "csr.h"
#include "err.h"
#include "key.h"
#include "pem.h"
#include "san.h"
#include "x509.h"

#define FUZZ_NOW 1767225600LL   /* 2026-01-01T00:00:00Z */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *ca_key;
static X509 *ca_cert;

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_csr: %s (last error: %s)\n", what, err_msg());
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct x509_template t;
	struct key_spec spec;

	(void)argc;
	(void)argv;
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	if (key_spec_parse("EC", "P-256", NULL, &spec) != CA_OK ||
	    (ca_key = key_generate(&spec)) == NULL)
		fail("cannot make the CA key");
	memset(&t, 0, sizeof(t));
	t.profile = X509_INTERMEDIATE;  /* any CA profile; self-signed here */
	t.pubkey = ca_key;
	t.cn = "Fuzz Issuing CA";
	t.not_before = FUZZ_NOW - 86400;
	t.not_after = FUZZ_NOW + 365 * 86400;
	t.issuer_key = ca_key;
	t.pathlen = 0;
	if (x509_issue(&t, &ca_cert) != CA_OK)
		fail("cannot make the CA certificate");
	return 0;
}

/* Issue a leaf for the request's names as ca-sign does, and read it back. */
static void
issue(X509_REQ *req, int key_ok, const char *cn, struct sans *sans)
{
	struct x509_template t;
	struct sans back = { NULL, 0 };
	GENERAL_NAMES *gens;
	char leafcn[CA_MAX_SAN_LEN + 1];
	X509 *leaf = NULL;
	int rc;

	const struct san *c = NULL;

	if (sans->n == 0)
		return;         /* ca-sign: "request has no names" */
	/* ca-sign: a CN that is none of the names is refused; one that is
	 * goes in as that name is written. */
	if (cn[0] != '\0' && sans_find_cn(sans, cn, &c) != CA_OK)
		return;
	memset(&t, 0, sizeof(t));
	t.profile = X509_LEAF;
	/*
	 * The request's key and its encoding, copied as is, as ca-sign and
	 * the authority do; a key csr_check refused never gets this far, so
	 * then the names are issued for the CA's own key instead.
	 */
	t.pubkey = key_ok ? X509_REQ_get0_pubkey(req) : ca_key;
	t.spki = key_ok ? X509_REQ_get_X509_PUBKEY(req) : NULL;
	t.cn = c != NULL ? c->value : NULL;
	t.sans = sans;
	t.not_before = FUZZ_NOW - 60;
	t.not_after = FUZZ_NOW + 86400;
	t.issuer = ca_cert;
	t.issuer_key = ca_key;
	rc = x509_issue(&t, &leaf);
	if (rc == CA_FAIL)
		fail("x509_issue failed (lint or crypto) for names csr_requested_names accepted");
	if (rc != CA_OK)
		return;
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		fail("issued certificate has no subjectAltName");
	if (sans_from_general_names(gens, &back) != CA_OK)
		fail("issued certificate's names do not read back");
	if (!sans_equal(sans, &back))
		fail("issued certificate's names differ from the request's");
	GENERAL_NAMES_free(gens);
	sans_free(&back);
	if (x509_subject_cn(X509_get_subject_name(leaf), leafcn,
	    sizeof(leafcn)) != CA_OK)
		fail("issued certificate's CN does not read back");
	if (c != NULL && strlen(c->value) <= 64 && strcmp(c->value, leafcn) != 0)
		fail("issued certificate's CN differs from the request's name");
	X509_free(leaf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509_REQ *req = NULL;
	struct sans sans = { NULL, 0 };
	char cn[CA_MAX_SAN_LEN + 1];
	char thumb[44];
	int key_ok;

	/* ca-sign reads at most CA_MAX_PEM bytes. */
	if (size > CA_MAX_PEM)
		return 0;
	if (pem_load_csr(data, size, &req) != CA_OK) {
		if (req != NULL)
			fail("pem_load_csr failed but returned a request");
		goto out;
	}
	if (req == NULL)
		fail("pem_load_csr returned CA_OK without a request");
	key_ok = csr_check(req) == CA_OK;
	if (csr_thumbprint(req, thumb) == CA_OK && strlen(thumb) != 43)
		fail("thumbprint is not 43 characters");
	if (csr_requested_names(req, cn, sizeof(cn), &sans) == CA_OK)
		issue(req, key_ok, cn, &sans);
out:
	sans_free(&sans);
	X509_REQ_free(req);
	err_clear();
	ERR_clear_error();
	return 0;
}
