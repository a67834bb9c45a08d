/*
 * api: the members of --api requests (see api.h).
 */
#include <string.h>

#include "api.h"
#include "err.h"
#include "pem.h"

int
api_string(const json_t *req, const char *name, int required,
    const char **out)
{
	const json_t *v = json_object_get(req, name);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return err_set(CA_INPUT, "request: %s is required", name);
		return CA_OK;
	}
	if (!json_is_string(v))
		return err_set(CA_INPUT, "request: %s must be a string", name);
	*out = json_string_value(v);
	return CA_OK;
}

int
api_certs(const json_t *arr, const char *name, STACK_OF(X509) **out)
{
	STACK_OF(X509) *chain, *one;
	const json_t *v;
	const char *pem;
	size_t i;
	int rc = CA_OK;

	*out = NULL;
	if ((chain = sk_X509_new_null()) == NULL)
		return err_set(CA_FAIL, "out of memory");
	json_array_foreach(arr, i, v) {
		if ((pem = json_string_value(v)) == NULL) {
			rc = err_set(CA_INPUT, "request: %s[%zu]: not a string",
			    name, i);
			break;
		}
		if ((rc = pem_load_certs((const unsigned char *)pem, strlen(pem),
		    &one)) != CA_OK) {
			err_prefix("request: %s[%zu]", name, i);
			break;
		}
		if (sk_X509_num(one) != 1) {
			sk_X509_pop_free(one, X509_free);
			rc = err_set(CA_INPUT, "request: %s[%zu]: not one "
			    "certificate", name, i);
			break;
		}
		if (!sk_X509_push(chain, sk_X509_value(one, 0))) {
			sk_X509_pop_free(one, X509_free);
			rc = err_set(CA_FAIL, "out of memory");
			break;
		}
		sk_X509_free(one);
	}
	if (rc != CA_OK) {
		sk_X509_pop_free(chain, X509_free);
		return rc;
	}
	*out = chain;
	return CA_OK;
}

int
api_status(int code)
{
	switch (code) {
	case CA_OK:
		return 200;
	case CA_REFUSED:
		return 403;
	case CA_USAGE:
	case CA_INPUT:
		return 400;
	case CA_UNAVAIL:
		return 503;
	default:
		return 500;
	}
}
