#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "io.h"
#include "jose.h"
#include "timeutil.h"
#include "token.h"

const json_t *
token_provisioner(const json_t *conf, const char *name, const char *kid)
{
	const json_t *provs = json_object_get(json_object_get(conf, "authority"),
	    "provisioners"), *p;
	size_t i;

	json_array_foreach(provs, i, p) {
		const char *type = json_string_value(json_object_get(p, "type"));
		const char *pn = json_string_value(json_object_get(p, "name"));
		const char *pk = json_string_value(json_object_get(
		    json_object_get(p, "key"), "kid"));

		if (type == NULL || strcasecmp(type, "JWK") != 0 || pn == NULL)
			continue;
		if (name != NULL && strcmp(pn, name) != 0)
			continue;
		if (kid != NULL && (pk == NULL || strcmp(pk, kid) != 0))
			continue;
		return p;
	}
	if (name != NULL)
		err_set(CA_REFUSED, "unknown provisioner %s%s%s", name,
		    kid ? " with key " : "", kid ? kid : "");
	else
		err_set(CA_FAIL, "no JWK provisioner in ca.json");
	return NULL;
}

int
token_max_lifetime(const json_t *conf, int64_t *out)
{
	const json_t *j = json_object_get(json_object_get(conf, "authority"),
	    "maxTokenLifetime");

	*out = TOKEN_MAX_LIFE;
	if (j == NULL)
		return CA_OK;
	if (!json_is_string(j) ||
	    time_parse_duration(json_string_value(j), out) != CA_OK ||
	    *out <= 0) {
		*out = TOKEN_MAX_LIFE;
		return err_set(CA_FAIL, "ca.json: authority.maxTokenLifetime: a duration "
		    "above zero, like \"1h\"");
	}
	return CA_OK;
}

/* The port of ca.json's address ("host:port", ":port"); NULL if none. */
static const char *
conf_port(const json_t *conf)
{
	const char *a = json_string_value(json_object_get(conf, "address"));
	const char *c = a ? strrchr(a, ':') : NULL;

	return c && c[1] ? c + 1 : NULL;
}

static void
host_form(const char *h, char *buf, size_t len)
{
	if (strchr(h, ':') != NULL)
		snprintf(buf, len, "[%s]", h);
	else
		snprintf(buf, len, "%s", h);
}

json_t *
token_audiences(const json_t *conf, const char *path)
{
	const json_t *dns = json_object_get(conf, "dnsNames"), *d;
	const char *port = conf_port(conf);
	json_t *out = json_array();
	char host[300], url[512];
	size_t i;

	json_array_foreach(dns, i, d) {
		if (!json_is_string(d))
			continue;
		host_form(json_string_value(d), host, sizeof(host));
		snprintf(url, sizeof(url), "https://%s/1.0/%s", host, path);
		json_array_append_new(out, json_string(url));
		snprintf(url, sizeof(url), "https://%s/%s", host, path);
		json_array_append_new(out, json_string(url));
		if (port == NULL)
			continue;
		snprintf(url, sizeof(url), "https://%s:%s/1.0/%s", host, port, path);
		json_array_append_new(out, json_string(url));
		snprintf(url, sizeof(url), "https://%s:%s/%s", host, port, path);
		json_array_append_new(out, json_string(url));
	}
	return out;
}

char *
token_audience(const json_t *conf, const char *path)
{
	const char *h = json_string_value(json_array_get(json_object_get(conf,
	    "dnsNames"), 0));
	const char *port = conf_port(conf);
	char host[300], url[512];

	if (h == NULL) {
		err_set(CA_FAIL, "ca.json has no dnsNames");
		return NULL;
	}
	host_form(h, host, sizeof(host));
	snprintf(url, sizeof(url), "https://%s%s%s/1.0/%s", host,
	    port ? ":" : "", port ? port : "", path);
	return strdup(url);
}

int
token_mint(EVP_PKEY *key, const char *kid, const struct token_claims *c,
    char **out)
{
	char jti[JOSE_JTI_LEN + 1];
	json_t *claims;
	int rc;

	*out = NULL;
	if (jose_jti(jti) != CA_OK)
		return err_code();
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
	    "iss", c->iss, "sub", c->sub, "aud", c->aud,
	    "nbf", (json_int_t)c->nbf, "iat", (json_int_t)c->nbf,
	    "exp", (json_int_t)c->exp, "jti", jti);
	if (claims == NULL)
		return err_set(CA_FAIL, "building token claims failed");
	if (c->sans != NULL)
		json_object_set(claims, "sans", (json_t *)c->sans);
	if (c->sha != NULL)
		json_object_set_new(claims, "sha", json_string(c->sha));
	if (c->cnf != NULL)
		json_object_set_new(claims, "cnf",
		    json_pack("{s:s}", "x5rt#S256", c->cnf));
	rc = jws_sign(key, kid, NULL, claims, out);
	json_decref(claims);
	return rc;
}

int
token_provisioner_key(const json_t *prov, const char *password, EVP_PKEY **out)
{
	const char *enc = json_string_value(json_object_get(prov, "encryptedKey"));
	json_error_t e;
	struct buf pt;
	json_t *jwk;
	int rc;

	*out = NULL;
	if (enc == NULL)
		return err_set(CA_FAIL, "provisioner has no encryptedKey");
	if ((rc = jwe_decrypt_pbes2(enc, strlen(enc), password, strlen(password),
	    &pt)) != CA_OK) {
		err_prefix("provisioner key");
		return rc;
	}
	jwk = json_loadb((const char *)pt.data, pt.len, JSON_REJECT_DUPLICATES, &e);
	buf_free(&pt);
	if (jwk == NULL)
		return err_set(CA_FAIL, "provisioner key: not a JWK");
	rc = jwk_import(jwk, JWK_PRIVATE, out);
	jose_json_wipe(jwk);           /* wipes and releases */
	return rc;
}
