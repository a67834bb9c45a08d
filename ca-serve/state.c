/*
 * What ca-serve reads from the CA home: all of it public, but its own
 * TLS key.  Nothing here opens the intermediate key, its password or the
 * database: ca.json's "key", "passwordFile" and "db" are the handler's.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "ca_limits.h"
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

void
state_free(struct serve_state *st)
{
	int i;

	free(st->home);
	json_decref(st->conf);
	free(st->root_pem);
	free(st->root_json);
	free(st->roots_json);
	X509_free(st->root);
	pem_blocks_free(st->inter, st->ninter);
	free(st->inter_json);
	free(st->inter_pem);
	json_decref(st->provisioners);
	for (i = 0; i < HK_COUNT; i++)
		free(st->socket[i]);
	free(st->cert_file);
	free(st->key_file);
	SSL_CTX_free(st->ctx);
	memset(st, 0, sizeof(*st));
}

int
tlv_next(const unsigned char **p, const unsigned char *end, int *tag,
    const unsigned char **body, size_t *blen)
{
	const unsigned char *q = *p;
	size_t len, i, n;

	if (q > end || end - q < 2)
		return 0;
	*tag = *q++;
	len = *q++;
	if (len & 0x80) {
		n = len & 0x7f;
		if (n == 0 || n > 4 || (size_t)(end - q) < n)
			return 0;
		for (len = 0, i = 0; i < n; i++)
			len = len << 8 | *q++;
	}
	if ((size_t)(end - q) < len)
		return 0;
	*body = q;
	*blen = len;
	*p = q + len;
	return 1;
}

int
cert_fields(const unsigned char *der, size_t len, struct cert_fields *f)
{
	const unsigned char *p = der, *end = der + len, *body, *at;
	size_t blen;
	int tag;

	memset(f, 0, sizeof(*f));
	/* Certificate (exactly the bytes), then tbsCertificate: SEQUENCEs. */
	if (!tlv_next(&p, end, &tag, &body, &blen) || tag != 0x30 || p != end)
		return 0;
	p = body;
	end = body + blen;
	if (!tlv_next(&p, end, &tag, &body, &blen) || tag != 0x30)
		return 0;
	p = body;
	end = body + blen;
	/* [0] version (optional), serialNumber. */
	if (!tlv_next(&p, end, &tag, &body, &blen))
		return 0;
	if (tag == 0xa0 && !tlv_next(&p, end, &tag, &body, &blen))
		return 0;
	if (tag != 0x02 || blen == 0)
		return 0;
	f->serial = body;
	f->serial_len = blen;
	/* signature AlgorithmIdentifier, issuer, validity, subject. */
	if (!tlv_next(&p, end, &tag, &body, &blen) || tag != 0x30)
		return 0;
	at = p;
	if (!tlv_next(&p, end, &tag, &body, &blen) || tag != 0x30)
		return 0;
	f->issuer = at;
	f->issuer_len = (size_t)(p - at);
	if (!tlv_next(&p, end, &tag, &body, &blen) || tag != 0x30)
		return 0;
	at = p;
	if (!tlv_next(&p, end, &tag, &body, &blen) || tag != 0x30)
		return 0;
	f->subject = at;
	f->subject_len = (size_t)(p - at);
	return 1;
}

/*
 * A file of certificates (PEM, or one DER) as DER blocks, nothing decoded:
 * ca-serve publishes them as they are, and decodes only what the TLS
 * context needs.
 */
static int
read_certs(struct serve_state *st, const char *member, struct pem_block **b,
    size_t *n)
{
	const char *r = json_string_value(json_object_get(st->conf, member));
	struct cert_fields f;
	struct buf data;
	char *path;
	size_t i;
	int rc;

	*b = NULL;
	*n = 0;
	if (r == NULL || r[0] == '\0')
		return err_set(CA_FAIL, "ca.json: %s: must be a non-empty string",
		    member);
	if ((path = config_resolve(st->home, r)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if ((rc = io_read_file(path, CA_MAX_PEM, &data)) != CA_OK) {
		free(path);
		return err_set(CA_FAIL, "%s", err_msg());
	}
	rc = pem_decode(data.data, data.len, CA_MAX_CHAIN, b, n);
	buf_free(&data);
	if (rc != CA_OK) {
		rc = err_set(CA_FAIL, "%s: %s", path, err_msg());
		free(path);
		return rc;
	}
	for (i = 0; i < *n; i++)
		if (((*b)[i].name[0] != '\0' &&
		    strcmp((*b)[i].name, "CERTIFICATE") != 0) ||
		    !cert_fields((*b)[i].der, (*b)[i].len, &f))
			break;
	if (*n == 0 || i < *n) {
		rc = err_set(CA_FAIL, "%s: %s", path, *n == 0 ?
		    "no certificate" : "malformed certificate");
		free(path);
		pem_blocks_free(*b, *n);
		*b = NULL;
		*n = 0;
		return rc;
	}
	free(path);
	return CA_OK;
}

/* j (consumed) as a response body: compact, with a final newline; NULL if out of memory. */
static char *
json_body(json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL, *l;
	size_t n;

	json_decref(j);
	if (s == NULL)
		return NULL;
	n = strlen(s);
	if ((l = realloc(s, n + 2)) == NULL) {
		free(s);
		return NULL;
	}
	l[n] = '\n';
	l[n + 1] = '\0';
	return l;
}

/*
 * The root: one certificate; its PEM and the SHA-256 of its DER, from the
 * bytes; decoded once, for the trust store of client certificates.
 */
static int
load_root(struct serve_state *st)
{
	struct pem_block *b;
	const unsigned char *p;
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t n;
	int rc, i;

	if ((rc = read_certs(st, "root", &b, &n)) != CA_OK)
		return rc;
	p = b[0].der;
	if (n != 1 || b[0].len > LONG_MAX ||
	    (st->root = d2i_X509(NULL, &p, (long)b[0].len)) == NULL ||
	    p != b[0].der + b[0].len) {
		pem_blocks_free(b, n);
		return err_ssl(CA_FAIL, "ca.json: root: not one certificate");
	}
	if (EVP_Digest(b[0].der, b[0].len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md) ||
	    (st->root_pem = pem_encode("CERTIFICATE", b[0].der, b[0].len)) == NULL) {
		pem_blocks_free(b, n);
		return err_ssl(CA_FAIL, "root: encoding");
	}
	pem_blocks_free(b, n);
	for (i = 0; i < 32; i++)
		snprintf(st->root_fp + 2 * i, 3, "%02x", md[i]);
	if ((st->root_json = json_body(json_pack("{s:s}", "ca",
	    st->root_pem))) == NULL ||
	    (st->roots_json = json_body(json_pack("{s:[s]}", "crts",
	    st->root_pem))) == NULL)
		return err_set(CA_FAIL, "out of memory");
	return CA_OK;
}

/*
 * The intermediate chain of "crt", without any self-signed certificate
 * (issuer and subject the same bytes), as PEM; kept as DER for the TLS
 * context, which decodes them only if the server's file lacks its chain.
 */
static int
load_intermediates(struct serve_state *st)
{
	struct cert_fields f;
	size_t total = 0, n, i;
	char *pem, *m;
	json_t *pems;
	int rc;

	if ((rc = read_certs(st, "crt", &st->inter, &st->ninter)) != CA_OK)
		return rc;
	if ((pems = json_array()) == NULL ||
	    (st->inter_pem = strdup("")) == NULL) {
		json_decref(pems);
		return err_set(CA_FAIL, "out of memory");
	}
	for (i = 0; i < st->ninter; i++) {
		(void)cert_fields(st->inter[i].der, st->inter[i].len, &f);
		if (f.issuer_len == f.subject_len &&
		    memcmp(f.issuer, f.subject, f.issuer_len) == 0)
			continue;
		if ((pem = pem_encode("CERTIFICATE", st->inter[i].der,
		    st->inter[i].len)) == NULL) {
			json_decref(pems);
			return err_set(CA_FAIL, "intermediate: encoding");
		}
		n = strlen(pem);
		if ((m = realloc(st->inter_pem, total + n + 1)) != NULL) {
			st->inter_pem = m;
			memcpy(st->inter_pem + total, pem, n + 1);
			total += n;
		}
		rc = m != NULL ? json_array_append_new(pems, json_string(pem)) : -1;
		free(pem);
		if (rc != 0) {
			json_decref(pems);
			return err_set(CA_FAIL, "out of memory");
		}
	}
	if ((st->inter_json = json_body(json_pack("{s:o}", "crts", pems))) == NULL)
		return err_set(CA_FAIL, "out of memory");
	return CA_OK;
}

/*
 * The members of a provisioner GET /provisioners publishes: what a client
 * needs to make or check a token (the public "key", the password-encrypted
 * "encryptedKey", an OIDC issuer's public addresses and client ID, an X5C
 * provisioner's roots) and its claims.  Everything else stays on the CA
 * host: OIDC rules, admins and groups (repository names, people), local
 * file paths, the "admin" mark.
 */
static const char *const published[] = {
	"type", "name", "key", "encryptedKey", "claims", "clientID",
	"configurationEndpoint", "issuer", "jwksUri", "roots", NULL
};

/*
 * authority.provisioners as published by GET /provisioners: the members
 * above, as written in ca.json.  A "key" holding a private member is
 * refused: this list is public.
 */
static int
load_provisioners(struct serve_state *st)
{
	const json_t *a = json_object_get(json_object_get(st->conf, "authority"),
	    "provisioners");
	const json_t *p, *key, *v;
	json_t *out, *q;
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
	if ((out = json_array()) == NULL)
		return err_set(CA_FAIL, "out of memory");
	json_array_foreach(a, i, p) {
		if ((q = json_object()) == NULL || json_array_append_new(out, q)) {
			json_decref(out);
			return err_set(CA_FAIL, "out of memory");
		}
		for (j = 0; published[j] != NULL; j++)
			if ((v = json_object_get(p, published[j])) != NULL &&
			    json_object_set_new(q, published[j],
			    json_deep_copy(v)) != 0) {
				json_decref(out);
				return err_set(CA_FAIL, "out of memory");
			}
	}
	st->provisioners = out;
	return CA_OK;
}

/*
 * ca.json's "handlers": {"sign": "/run/inca/sign.sock", "renew": ...,
 * "revoke": ...}, each optional.
 */
static int
load_handlers(struct serve_state *st)
{
	const json_t *h = json_object_get(st->conf, "handlers"), *v;
	const char *k;
	int i;

	if (h == NULL)
		return CA_OK;
	if (!json_is_object(h))
		return err_set(CA_FAIL, "ca.json: handlers: must be an object");
	json_object_foreach((json_t *)h, k, v) {
		for (i = 0; i < HK_COUNT; i++)
			if (strcmp(k, hkinds[i].name) == 0)
				break;
		if (i == HK_COUNT)
			return err_set(CA_FAIL, "ca.json: handlers.%s: unknown member", k);
		if (!json_is_string(v) || json_string_length(v) == 0)
			return err_set(CA_FAIL, "ca.json: handlers.%s: must be a "
			    "non-empty string (a unix socket path)", k);
	}
	for (i = 0; i < HK_COUNT; i++) {
		v = json_object_get(h, hkinds[i].name);
		if (v != NULL && (st->socket[i] = config_resolve(st->home,
		    json_string_value(v))) == NULL)
			return err_set(CA_FAIL, "out of memory");
	}
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
	t.inter = st->inter;
	t.ninter = st->ninter;
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
