#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "key.h"
#include "csr.h"
#include "x509.h"

int
csr_check(X509_REQ *req)
{
	EVP_PKEY *pk = X509_REQ_get0_pubkey(req);
	int rc;

	if (pk == NULL)
		return err_ssl(CA_INPUT, "certificate request: unreadable public key");
	if ((rc = key_check(pk)) != CA_OK) {
		err_prefix("certificate request");
		return rc;
	}
	if (X509_REQ_verify(req, pk) != 1)
		return err_ssl(CA_INPUT, "certificate request: signature does not verify");
	return CA_OK;
}

int
csr_names(X509_REQ *req, char *cn, size_t cnlen, struct sans *sans)
{
	STACK_OF(X509_EXTENSION) *exts;
	int i, rc = CA_OK, seen = 0;

	if ((rc = x509_subject_cn(X509_REQ_get_subject_name(req), cn, cnlen)) != CA_OK) {
		err_prefix("certificate request");
		return rc;
	}
	exts = X509_REQ_get_extensions(req);
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		GENERAL_NAMES *gens;

		if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name)
			continue;
		if (seen++) {
			rc = err_set(CA_INPUT, "certificate request: two subjectAltName extensions");
			break;
		}
		if ((gens = X509V3_EXT_d2i(ext)) == NULL) {
			rc = err_ssl(CA_INPUT, "certificate request: malformed subjectAltName");
			break;
		}
		rc = sans_from_general_names(gens, sans);
		GENERAL_NAMES_free(gens);
		if (rc != CA_OK) {
			err_prefix("certificate request");
			break;
		}
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int
csr_requested_names(X509_REQ *req, char *cn, size_t cnlen, struct sans *sans)
{
	struct san s;
	int rc;

	if ((rc = csr_names(req, cn, cnlen, sans)) != CA_OK)
		return rc;
	if (sans->n == 0 && cn[0] != '\0' && san_parse_name(cn, &s) == CA_OK) {
		rc = sans_add_san(sans, &s);
		free(s.value);
		return rc;
	}
	err_clear();
	return CA_OK;
}

X509_REQ *
csr_build(EVP_PKEY *key, const char *cn, const struct sans *sans)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = NULL;
	X509_EXTENSION *ext = NULL;
	X509_NAME *name;

	if (req == NULL || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_pubkey(req, key))
		goto fail;
	name = X509_REQ_get_subject_name(req);
	if (cn != NULL && strlen(cn) <= 64 &&
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0))
		goto fail;
	if (sans != NULL && sans->n > 0) {
		if ((gens = sans_to_general_names(sans)) == NULL)
			goto out;
		if ((ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) == NULL ||
		    (exts = sk_X509_EXTENSION_new_null()) == NULL ||
		    !sk_X509_EXTENSION_push(exts, ext))
			goto fail;
		ext = NULL;
		if (!X509_REQ_add_extensions(req, exts))
			goto fail;
	}
	if (X509_REQ_sign(req, key, key_digest(key)) <= 0)
		goto fail;
	goto done;
fail:
	err_ssl(CA_FAIL, "building certificate request");
out:
	X509_REQ_free(req);
	req = NULL;
done:
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	return req;
}

int
csr_thumbprint(X509_REQ *req, char out[44])
{
	unsigned char md[32], *der = NULL;
	unsigned int mdlen = 0;
	unsigned char b64[48];
	int n, k, i;

	if ((n = i2d_X509_REQ(req, &der)) <= 0)
		return err_ssl(CA_FAIL, "encoding certificate request");
	if (!EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL)) {
		OPENSSL_free(der);
		return err_ssl(CA_FAIL, "hashing certificate request");
	}
	OPENSSL_free(der);
	k = EVP_EncodeBlock(b64, md, 32);     /* 44 chars, one '=' */
	for (i = 0; i < k && b64[i] != '='; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[i] = '\0';
	return CA_OK;
}
