/*
 * What ca-serve reads from the CA home: all of it public, but its own
 * TLS key.  Nothing here opens the intermediate key, its password or the
 * database: ca.json's "key", "passwordFile" and "db" are the handler's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "err.h"
#include "io.h"
#include "pem.h"
#include "serve.h"
#include "tls.h"

/* Members of a JWK that belong to a private key (RFC 7518, RFC 8037). */
static const char *jwk_private[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL
};

/* The route kinds a handlers member may name. */
static const char *handler_kinds[] = { "sign", NULL };

void
state_free(struct serve_state *st)
{
	free(st->home);
	json_decref(st->conf);
	free(st->root_pem);
	X509_free(st->root);
	sk_X509_pop_free(st->inter, X509_free);
	json_decref(st->inter_pems);
	free(st->inter_pem);
	json_decref(st->provisioners);
	free(st->sign_socket);
	free(st->cert_file);
	free(st->key_file);
	SSL_CTX_free(st->ctx);
	memset(st, 0, sizeof(*st));
}

/* The root: one certificate; its PEM and the SHA-256 of its DER. */
static int
load_root(struct serve_state *st)
{
	const char *r = json_string_value(json_object_get(st->conf, "root"));
	unsigned char md[32], *der = NULL;
	unsigned int mdlen = 0;
	char *path;
	int len, rc, i;

	if (r == NULL || r[0] == '\0')
		return err_set(CA_FAIL, "ca.json: root: must be a non-empty string");
	if ((path = config_resolve(st->home, r)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	rc = pem_load_cert_file(path, &st->root);
	free(path);
	if (rc != CA_OK)
		return err_set(CA_FAIL, "%s", err_msg());
	if ((len = i2d_X509(st->root, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md)) {
		OPENSSL_free(der);
		return err_ssl(CA_FAIL, "root: encoding");
	}
	OPENSSL_free(der);
	for (i = 0; i < 32; i++)
		snprintf(st->root_fp + 2 * i, 3, "%02x", md[i]);
	if ((st->root_pem = pem_cert(st->root)) == NULL)
		return err_set(CA_FAIL, "root: encoding");
	return CA_OK;
}

/* The intermediate chain of "crt", without any self-signed certificate. */
static int
load_intermediates(struct serve_state *st)
{
	const char *c = json_string_value(json_object_get(st->conf, "crt"));
	size_t total = 0, n;
	char *path, *pem;
	X509 *x;
	int rc, i;

	if (c == NULL || c[0] == '\0')
		return err_set(CA_FAIL, "ca.json: crt: must be a non-empty string");
	if ((path = config_resolve(st->home, c)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	rc = pem_load_certs_file(path, &st->inter);
	free(path);
	if (rc != CA_OK)
		return err_set(CA_FAIL, "%s", err_msg());
	if ((st->inter_pems = json_array()) == NULL ||
	    (st->inter_pem = strdup("")) == NULL)
		return err_set(CA_FAIL, "out of memory");
	for (i = 0; i < sk_X509_num(st->inter); i++) {
		x = sk_X509_value(st->inter, i);
		if (X509_get_extension_flags(x) & EXFLAG_SS)
			continue;
		if ((pem = pem_cert(x)) == NULL)
			return err_set(CA_FAIL, "intermediate: encoding");
		n = strlen(pem);
		{
			char *m = realloc(st->inter_pem, total + n + 1);

			if (m == NULL) {
				free(pem);
				return err_set(CA_FAIL, "out of memory");
			}
			st->inter_pem = m;
		}
		memcpy(st->inter_pem + total, pem, n + 1);
		total += n;
		json_array_append_new(st->inter_pems, json_string(pem));
		free(pem);
	}
	return CA_OK;
}

/*
 * authority.provisioners as published by GET /provisioners: as written
 * in ca.json (the public "key", the password-encrypted "encryptedKey").
 * A "key" holding a private member is refused: this list is public.
 */
static int
load_provisioners(struct serve_state *st)
{
	const json_t *a = json_object_get(json_object_get(st->conf, "authority"),
	    "provisioners");
	const json_t *p, *key;
	size_t i, j;

	if (!json_is_array(a))
		return err_set(CA_FAIL, "ca.json: authority.provisioners: must be "
		    "an array");
	json_array_foreach(a, i, p) {
		if (!json_is_object(p))
			return err_set(CA_FAIL, "ca.json: authority.provisioners[%zu]: "
			    "must be an object", i);
		key = json_object_get(p, "key");
		if (key != NULL && !json_is_object(key))
			return err_set(CA_FAIL, "ca.json: authority.provisioners[%zu]."
			    "key: must be an object", i);
		for (j = 0; jwk_private[j] != NULL; j++)
			if (json_object_get(key, jwk_private[j]) != NULL)
				return err_set(CA_FAIL, "ca.json: authority."
				    "provisioners[%zu].key: holds a private key "
				    "(\"%s\"): refused, it would be published", i,
				    jwk_private[j]);
	}
	if ((st->provisioners = json_deep_copy(a)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	return CA_OK;
}

/* ca.json's "handlers": {"sign": "/run/inca/sign.sock"}, all optional. */
static int
load_handlers(struct serve_state *st)
{
	const json_t *h = json_object_get(st->conf, "handlers"), *v;
	const char *k;
	size_t i;

	if (h == NULL)
		return CA_OK;
	if (!json_is_object(h))
		return err_set(CA_FAIL, "ca.json: handlers: must be an object");
	json_object_foreach((json_t *)h, k, v) {
		for (i = 0; handler_kinds[i] != NULL; i++)
			if (strcmp(k, handler_kinds[i]) == 0)
				break;
		if (handler_kinds[i] == NULL)
			return err_set(CA_FAIL, "ca.json: handlers.%s: unknown member", k);
		if (!json_is_string(v) || json_string_length(v) == 0)
			return err_set(CA_FAIL, "ca.json: handlers.%s: must be a "
			    "non-empty string (a unix socket path)", k);
	}
	v = json_object_get(h, "sign");
	if (v != NULL &&
	    (st->sign_socket = config_resolve(st->home, json_string_value(v))) == NULL)
		return err_set(CA_FAIL, "out of memory");
	return CA_OK;
}

static int
stat_files(const struct serve_state *st, struct stat *c, struct stat *k)
{
	memset(c, 0, sizeof(*c));
	memset(k, 0, sizeof(*k));
	if (stat(st->cert_file, c) != 0 || stat(st->key_file, k) != 0)
		return -1;
	return 0;
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int
state_cert_changed(const struct serve_state *st)
{
	struct stat c, k;

	if (stat_files(st, &c, &k) != 0)
		return 0;       /* mid-replacement: keep what works */
	return !same_file(&c, &st->cert_st) || !same_file(&k, &st->key_st);
}

/* A TLS context from the files as they are now. */
static int
make_ctx(struct serve_state *st, SSL_CTX **ctx)
{
	struct tls_server t;

	/* Stat first: a change during the load is seen at the next check. */
	(void)stat_files(st, &st->cert_st, &st->key_st);
	memset(&t, 0, sizeof(t));
	t.cert_file = st->cert_file;
	t.key_file = st->key_file;
	t.root = st->root;
	t.intermediates = st->inter;
	t.min_version = st->tls_min;
	t.max_version = st->tls_max;
	return tls_server_ctx(&t, ctx);
}

int
state_reload_tls(struct serve_state *st)
{
	SSL_CTX *ctx;
	int rc;

	if ((rc = make_ctx(st, &ctx)) != CA_OK)
		return rc;
	SSL_CTX_free(st->ctx);
	st->ctx = ctx;
	return CA_OK;
}

int
state_load(const struct serve_opts *o, struct serve_state *st)
{
	const json_t *tls;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = config_ca(o->dir, &st->home, &st->conf)) != CA_OK)
		goto fail;
	tls = json_object_get(st->conf, "tls");
	if (tls != NULL && !json_is_object(tls)) {
		rc = err_set(CA_FAIL, "ca.json: tls: must be an object");
		goto fail;
	}
	if ((rc = tls_version(json_object_get(tls, "minVersion"), "minVersion",
	    TLS1_2_VERSION, &st->tls_min)) != CA_OK ||
	    (rc = tls_version(json_object_get(tls, "maxVersion"), "maxVersion",
	    TLS1_3_VERSION, &st->tls_max)) != CA_OK ||
	    (rc = load_root(st)) != CA_OK ||
	    (rc = load_intermediates(st)) != CA_OK ||
	    (rc = load_provisioners(st)) != CA_OK ||
	    (rc = load_handlers(st)) != CA_OK)
		goto fail;
	st->cert_file = o->cert ? strdup(o->cert) :
	    io_join(st->home, "certs/server.crt");
	st->key_file = o->key ? strdup(o->key) :
	    io_join(st->home, "secrets/server_key");
	if (st->cert_file == NULL || st->key_file == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto fail;
	}
	if ((rc = make_ctx(st, &st->ctx)) != CA_OK)
		goto fail;
	return CA_OK;
fail:
	state_free(st);
	return rc == CA_OK ? CA_FAIL : rc;
}
