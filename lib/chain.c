#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "chain.h"
#include "err.h"
#include "pem.h"

/* The certificate at i of leaf + issuers (i = -1: the leaf), or NULL to skip. */
static X509 *
chain_at(X509 *leaf, STACK_OF(X509) *issuers, int i)
{
	X509 *c;

	if (i < 0)
		return leaf;
	c = sk_X509_value(issuers, i);
	return X509_get_extension_flags(c) & EXFLAG_SS ? NULL : c;
}

char *
chain_pem(X509 *leaf, STACK_OF(X509) *issuers)
{
	char *out = NULL, *pem, *n;
	size_t len = 0, l;
	int i;

	for (i = -1; i < sk_X509_num(issuers); i++) {
		X509 *c = chain_at(leaf, issuers, i);

		if (c == NULL)
			continue;
		if ((pem = pem_cert(c)) == NULL)
			goto fail;
		l = strlen(pem);
		if ((n = realloc(out, len + l + 1)) == NULL) {
			free(pem);
			goto fail;
		}
		out = n;
		memcpy(out + len, pem, l + 1);
		len += l;
		free(pem);
	}
	if (out == NULL)
		goto fail;
	return out;
fail:
	free(out);
	err_set(CA_FAIL, "encoding the certificate chain failed");
	return NULL;
}

json_t *
chain_json(X509 *leaf, STACK_OF(X509) *issuers)
{
	json_t *o = json_object(), *arr = json_array();
	char *pem;
	int i, first = 1;

	if (o == NULL || arr == NULL)
		goto fail;
	for (i = -1; i < sk_X509_num(issuers); i++) {
		X509 *c = chain_at(leaf, issuers, i);

		if (c == NULL)
			continue;
		if ((pem = pem_cert(c)) == NULL)
			goto fail;
		if (i < 0)
			json_object_set_new(o, "crt", json_string(pem));
		else if (first) {
			json_object_set_new(o, "ca", json_string(pem));
			first = 0;
		}
		json_array_append_new(arr, json_string(pem));
		free(pem);
	}
	json_object_set_new(o, "certChain", arr);
	return o;
fail:
	json_decref(o);
	json_decref(arr);
	err_set(CA_FAIL, "encoding the certificate chain failed");
	return NULL;
}
