/*
 * api: --api request and response framing (see api.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ca_limits.h"
#include "err.h"
#include "io.h"

int
api_read(json_t **req, int *status)
{
	json_error_t je;
	struct buf in;
	int rc;

	*req = NULL;
	*status = 500;
	if ((rc = io_read_fd(0, CA_MAX_JSON, &in, "request")) != CA_OK) {
		if (rc == CA_INPUT)
			*status = 413;
		return rc;
	}
	*req = json_loadb((const char *)in.data, in.len, JSON_REJECT_DUPLICATES,
	    &je);
	buf_free(&in);
	if (*req == NULL || !json_is_object(*req)) {
		rc = err_set(CA_INPUT, "request: malformed JSON: %s",
		    *req != NULL ? "not an object" : je.text);
		json_decref(*req);
		*req = NULL;
		*status = 400;
		return rc;
	}
	return CA_OK;
}

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

int
api_error(int status, int code)
{
	json_t *e = json_pack("{s:i, s:s}", "status", status, "message",
	    err_msg());
	char *s = e != NULL ? json_dumps(e, JSON_COMPACT) : NULL;

	if (s != NULL) {
		(void)io_write_all(1, s, strlen(s));
		(void)io_write_all(1, "\n", 1);
	}
	free(s);
	json_decref(e);
	fprintf(stderr, "%s: %s\n", err_progname(), err_msg());
	return code == CA_OK ? CA_FAIL : code;
}
