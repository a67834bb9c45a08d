#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "ca_limits.h"
#include "config.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "oidc.h"

static const char *
conf_str(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

int
oidc_init(struct oidc *o, const char *home, const json_t *prov)
{
	const char *s;

	memset(o, 0, sizeof(*o));
	o->prov = prov;
	if (((s = conf_str(prov, "issuer")) != NULL &&
	    (o->issuer = strdup(s)) == NULL) ||
	    ((s = conf_str(prov, "jwksUri")) != NULL &&
	    (o->jwks_uri = strdup(s)) == NULL) ||
	    ((s = conf_str(prov, "jwksFile")) != NULL &&
	    (o->jwks_file = config_resolve(home, s)) == NULL) ||
	    ((s = conf_str(prov, "caFile")) != NULL &&
	    (o->ca_file = config_resolve(home, s)) == NULL)) {
		oidc_free(o);
		return err_set(CA_FAIL, "out of memory");
	}
	return CA_OK;
}

void
oidc_free(struct oidc *o)
{
	if (o == NULL)
		return;
	free(o->issuer);
	free(o->jwks_uri);
	free(o->jwks_file);
	free(o->ca_file);
	free(o->why);
	json_decref(o->jwks);
	memset(o, 0, sizeof(*o));
}

struct sink {
	struct buf b;
	int over;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;
	unsigned char *nb;

	if (s->b.len + len > OIDC_MAX_DOC) {
		s->over = 1;
		return 0;
	}
	if ((nb = realloc(s->b.data, s->b.len + len + 1)) == NULL)
		return 0;
	s->b.data = nb;
	memcpy(s->b.data + s->b.len, p, len);
	s->b.len += len;
	s->b.data[s->b.len] = '\0';
	return len;
}

int
oidc_fetch_json(const char *url, const char *ca_file, json_t **out)
{
	char errbuf[CURL_ERROR_SIZE];
	struct sink s;
	json_error_t je;
	CURL *h;
	CURLcode cc;
	long code = 0;
	int rc;

	*out = NULL;
	memset(&s, 0, sizeof(s));
	errbuf[0] = '\0';
	if (strncmp(url, "https://", 8) != 0)
		return err_set(CA_FAIL, "%.200s: only https:// URLs are fetched", url);
	if ((h = curl_easy_init()) == NULL)
		return err_set(CA_FAIL, "out of memory");
	/* HTTPS only, no redirect, a bounded body and time. */
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (ca_file != NULL &&
	    (curl_easy_setopt(h, CURLOPT_CAINFO, ca_file) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CAPATH, NULL) != CURLE_OK)) ||
	    curl_easy_setopt(h, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)OIDC_FETCH_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)OIDC_MAX_DOC) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "inca/" INCA_VERSION) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s) != CURLE_OK) {
		curl_easy_cleanup(h);
		return err_set(CA_FAIL, "%.200s: setting up the fetch failed", url);
	}
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	if (s.over)
		rc = err_set(CA_UNAVAIL, "%.200s: larger than %d bytes", url,
		    OIDC_MAX_DOC);
	else if (cc != CURLE_OK)
		rc = err_set(CA_UNAVAIL, "%.200s: %s", url,
		    errbuf[0] ? errbuf : curl_easy_strerror(cc));
	else if (code != 200)
		rc = err_set(CA_UNAVAIL, "%.200s: HTTP status %ld", url, code);
	else if ((*out = json_loadb(s.b.data ? (const char *)s.b.data : "",
	    s.b.len, JSON_REJECT_DUPLICATES, &je)) == NULL ||
	    !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = err_set(CA_FAIL, "%.200s: not a JSON object", url);
	} else
		rc = CA_OK;
	buf_free(&s.b);
	return rc;
}

/* A fetch that failed less than OIDC_REFETCH_MIN ago: its failure again. */
static int
throttled(struct oidc *o, int64_t now)
{
	if (o->failed == 0 || now - o->failed >= OIDC_REFETCH_MIN ||
	    now < o->failed)
		return CA_OK;
	return err_set(CA_UNAVAIL, "%s", o->why != NULL ? o->why : "fetch failed");
}

/* Remember a failed fetch (rc, with its message) for throttled(). */
static int
failed(struct oidc *o, int rc, int64_t now)
{
	if (rc == CA_UNAVAIL) {
		free(o->why);
		o->why = strdup(err_msg());
		o->failed = now;
	}
	return rc;
}

/* The discovery document: issuer and jwks_uri, once. */
static int
discover(struct oidc *o)
{
	const char *ep = conf_str(o->prov, "configurationEndpoint");
	const char *iss, *uri;
	json_t *doc;
	int rc;

	if (ep == NULL || (o->issuer != NULL && o->jwks_uri != NULL))
		return CA_OK;
	if ((rc = throttled(o, (int64_t)time(NULL))) != CA_OK)
		return rc;
	if ((rc = oidc_fetch_json(ep, o->ca_file, &doc)) != CA_OK) {
		err_prefix("OIDC discovery");
		return failed(o, rc, (int64_t)time(NULL));
	}
	iss = conf_str(doc, "issuer");
	uri = conf_str(doc, "jwks_uri");
	if (iss == NULL || uri == NULL || strncmp(uri, "https://", 8) != 0)
		rc = err_set(CA_FAIL, "OIDC discovery: %.200s: no issuer or no https jwks_uri", ep);
	else if (o->issuer != NULL && strcmp(o->issuer, iss) != 0)
		rc = err_set(CA_FAIL, "OIDC discovery: %.200s names issuer %.200s, not %.200s",
		    ep, iss, o->issuer);
	else if ((o->issuer == NULL && (o->issuer = strdup(iss)) == NULL) ||
	    (o->jwks_uri = strdup(uri)) == NULL)
		rc = err_set(CA_FAIL, "out of memory");
	json_decref(doc);
	return rc;
}

int
oidc_issuer(struct oidc *o, const char **iss)
{
	int rc;

	*iss = NULL;
	if (o->issuer == NULL && (rc = discover(o)) != CA_OK)
		return rc;
	*iss = o->issuer;
	return CA_OK;
}

/* Fetch (or read) the key set now. */
static int
load_jwks(struct oidc *o, int64_t now)
{
	json_t *j = NULL;
	struct buf b;
	json_error_t je;
	int rc;

	o->tried = now;
	if (o->jwks_file != NULL) {
		if ((rc = io_read_file(o->jwks_file, OIDC_MAX_DOC, &b)) != CA_OK)
			return err_set(CA_FAIL, "jwksFile: %s", err_msg());
		j = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &je);
		buf_free(&b);
		if (j == NULL)
			return err_set(CA_FAIL, "jwksFile %s: not JSON", o->jwks_file);
	} else {
		if ((rc = discover(o)) != CA_OK)
			return rc;
		if (o->jwks_uri == NULL)
			return err_set(CA_FAIL, "OIDC provisioner without a key source");
		if ((rc = throttled(o, now)) != CA_OK)
			return rc;
		if ((rc = oidc_fetch_json(o->jwks_uri, o->ca_file, &j)) != CA_OK) {
			err_prefix("JWKS");
			return failed(o, rc, now);
		}
	}
	if (!json_is_array(json_object_get(j, "keys"))) {
		json_decref(j);
		return err_set(CA_FAIL, "JWKS: no \"keys\" array");
	}
	json_decref(o->jwks);
	o->jwks = j;
	o->fetched = now;
	o->failed = 0;
	return CA_OK;
}

/* The one JWK of the set with kid; CA_REFUSED for none or two. */
static int
find_kid(const json_t *jwks, const char *kid, const json_t **out)
{
	const json_t *k;
	const char *id;
	size_t i;

	*out = NULL;
	json_array_foreach(json_object_get(jwks, "keys"), i, k) {
		if ((id = conf_str(k, "kid")) == NULL || strcmp(id, kid) != 0)
			continue;
		if (*out != NULL)
			return err_set(CA_REFUSED, "two keys with key id %.80s in the issuer's key set", kid);
		*out = k;
	}
	if (*out == NULL)
		return err_set(CA_REFUSED, "unknown key id %.80s", kid);
	return CA_OK;
}

int
oidc_key(struct oidc *o, const char *kid, int64_t now, EVP_PKEY **key)
{
	const json_t *jwk, *use;
	const char *alg;
	int rc;

	*key = NULL;
	if ((o->jwks == NULL || now - o->fetched >= OIDC_JWKS_MAX_AGE ||
	    now < o->fetched) && (rc = load_jwks(o, now)) != CA_OK)
		return rc;
	rc = find_kid(o->jwks, kid, &jwk);
	/* A new key: the issuer rotated since the set was fetched. */
	if (rc == CA_REFUSED && jwk == NULL && now - o->tried >= OIDC_REFETCH_MIN) {
		if ((rc = load_jwks(o, now)) != CA_OK)
			return rc;
		rc = find_kid(o->jwks, kid, &jwk);
	}
	if (rc != CA_OK)
		return rc;
	use = json_object_get(jwk, "use");
	if (use != NULL && !(json_is_string(use) &&
	    strcmp(json_string_value(use), "sig") == 0))
		return err_set(CA_REFUSED, "key %.80s is not for signatures", kid);
	if ((rc = jwk_import(jwk, JWK_PUBLIC, key)) != CA_OK) {
		err_prefix("issuer key %.80s", kid);
		return err_set(CA_REFUSED, "%s", err_msg());
	}
	if (jose_key_alg(*key, &alg) != CA_OK ||
	    (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0)) {
		EVP_PKEY_free(*key);
		*key = NULL;
		return err_set(CA_REFUSED, "issuer key %.80s: only RS256 and ES256 keys are used", kid);
	}
	return CA_OK;
}

/* '*' any run of characters (none too), '?' one; everything else itself. */
static int
glob_match(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++resume;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static int
rule_holds(const json_t *match, const json_t *claims)
{
	const char *k, *v;
	json_t *pat;

	if (json_object_size(match) == 0)
		return 0;
	json_object_foreach((json_t *)match, k, pat) {
		v = json_string_value(json_object_get(claims, k));
		if (v == NULL || !json_is_string(pat) ||
		    !glob_match(json_string_value(pat), v))
			return 0;
	}
	return 1;
}

int
oidc_rules(const json_t *prov, const json_t *claims, struct sans *allowed)
{
	const json_t *rule, *s;
	const char *repo, *ref;
	size_t i, j, n = 0;

	json_array_foreach(json_object_get(prov, "rules"), i, rule) {
		if (!rule_holds(json_object_get(rule, "match"), claims))
			continue;
		n++;
		json_array_foreach(json_object_get(rule, "sans"), j, s)
			if (sans_add(allowed, json_string_value(s)) != CA_OK) {
				sans_free(allowed);
				return err_set(CA_FAIL, "ca.json: rules[%zu].sans[%zu]: %s",
				    i, j, err_msg());
			}
	}
	if (n == 0) {
		repo = conf_str(claims, "repository");
		ref = conf_str(claims, "ref");
		return err_set(CA_REFUSED, "no rule of provisioner %.100s matches this token (sub %.200s%s%.100s%s%.100s)",
		    conf_str(prov, "name"), conf_str(claims, "sub") ?
		    conf_str(claims, "sub") : "?",
		    repo ? ", repository " : "", repo ? repo : "",
		    ref ? ", ref " : "", ref ? ref : "");
	}
	return CA_OK;
}
