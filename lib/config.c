#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_limits.h"
#include "config.h"
#include "err.h"
#include "io.h"
#include "jsonerr.h"

char *
config_home(const char *dir)
{
	const char *h;

	if (dir != NULL && dir[0] != '\0')
		return strdup(dir);
	if ((h = getenv("CA_DIR")) != NULL && h[0] != '\0')
		return strdup(h);
	if ((h = getenv("HOME")) == NULL || h[0] == '\0') {
		err_set(CA_USAGE, "no CA home: set --dir, CA_DIR or HOME");
		return NULL;
	}
	return io_join(h, ".inca");
}

char *
config_resolve(const char *home, const char *p)
{
	return io_join(home, p);
}

int
config_read_json(const char *path, json_t **out)
{
	json_error_t e;
	struct buf b;
	json_t *j;
	char why[JSONERR_LEN];
	int rc;

	*out = NULL;
	if ((rc = io_read_file(path, CA_MAX_CONFIG, &b)) != CA_OK) {
		char m[1024];

		/* A missing or oversized configuration is a configuration failure. */
		snprintf(m, sizeof(m), "%s", err_msg());
		return err_set(CA_FAIL, "%s", m);
	}
	j = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &e);
	buf_free(&b);
	/* Not jansson's text: it quotes the file, which may hold a password
	 * (a dataSource refused later, but only once it parses). */
	if (j == NULL)
		return err_set(CA_FAIL, "%s: line %d: %s", path, e.line,
		    jsonerr_text(&e, why, sizeof(why)));
	if (!json_is_object(j)) {
		json_decref(j);
		return err_set(CA_FAIL, "%s: not a JSON object", path);
	}
	*out = j;
	return CA_OK;
}

int
config_write_json(const char *path, const json_t *j, int mode)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	size_t n;
	int rc;

	if (s == NULL)
		return err_set(CA_FAIL, "%s: encoding JSON failed", path);
	n = strlen(s);
	s[n] = '\n';            /* the NUL's byte becomes the final newline */
	rc = io_write_atomic(path, s, n + 1, (mode_t)mode);
	free(s);
	return rc;
}

int
config_defaults(const char *home, json_t **out)
{
	char *p = io_join(home, "config/defaults.json");
	int rc;

	*out = NULL;
	if (p == NULL)
		return err_set(CA_FAIL, "out of memory");
	if (!io_exists(p)) {
		rc = err_set(CA_USAGE, "no %s: run ca-init, or give --root", p);
		free(p);
		return rc;
	}
	rc = config_read_json(p, out);
	free(p);
	return rc;
}

int
config_ca(const char *dir, char **home, json_t **conf)
{
	char *p;
	int rc;

	*home = NULL;
	*conf = NULL;
	if ((*home = config_home(dir)) == NULL)
		return err_code() ? err_code() : err_set(CA_FAIL, "out of memory");
	if ((p = io_join(*home, "config/ca.json")) == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto fail;
	}
	if (!io_exists(p)) {
		rc = err_set(CA_FAIL, "%s: no CA here (run ca-init, or give --dir)",
		    p);
		free(p);
		goto fail;
	}
	rc = config_read_json(p, conf);
	free(p);
	/* A malformed CA file is a configuration failure. */
	if (rc != CA_OK) {
		rc = err_set(CA_FAIL, "%s", err_msg());
		goto fail;
	}
	if (!json_is_object(json_object_get(*conf, "authority"))) {
		rc = err_set(CA_FAIL, "ca.json: authority: must be an object");
		goto fail;
	}
	return CA_OK;
fail:
	json_decref(*conf);
	*conf = NULL;
	free(*home);
	*home = NULL;
	return rc;
}
