#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ca_limits.h"
#include "client.h"
#include "config.h"
#include "err.h"
#include "io.h"
#include "pem.h"
#include "renewal.h"
#include "x509.h"

#ifndef INCA_VERSION
#define INCA_VERSION "0"
#endif

#define CLIENT_MAX_URL 2048

struct client {
	CURL *h;
	struct curl_slist *get_hdr, *post_hdr;
	char *url;              /* base, no trailing '/' */
	char *id_key_pem;       /* mTLS key as PEM, lent to libcurl, wiped */
	char errbuf[CURL_ERROR_SIZE];
};

/* ---- where the CA is ------------------------------------------------ */

/* A string member of defaults.json, or NULL; CA_FAIL for another type. */
static int
defaults_string(const json_t *d, const char *path, const char *name,
    const char **out)
{
	const json_t *v = json_object_get(d, name);

	*out = NULL;
	if (v == NULL)
		return CA_OK;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return err_set(CA_FAIL, "%s: \"%s\": a non-empty string", path, name);
	*out = json_string_value(v);
	return CA_OK;
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

int
client_discover(const char *dir, const char *url_opt, const char *root_opt,
    char **url, char **root)
{
	const char *u, *r, *du = NULL, *dr = NULL;
	char *home = NULL, *path = NULL;
	json_t *d = NULL;
	int rc = CA_OK;

	*url = *root = NULL;
	u = url_opt != NULL ? url_opt : env("CA_URL");
	r = root_opt != NULL ? root_opt : env("CA_ROOT");
	if (u == NULL || r == NULL) {
		/* The client home's defaults; none there is not an error. */
		if ((home = config_home(dir)) == NULL)
			return err_code() ? err_code() : err_set(CA_FAIL, "out of memory");
		if ((path = io_join(home, "config/defaults.json")) == NULL) {
			rc = err_set(CA_FAIL, "out of memory");
			goto out;
		}
		if (io_exists(path)) {
			if ((rc = config_read_json(path, &d)) != CA_OK ||
			    (rc = defaults_string(d, path, "ca-url", &du)) != CA_OK ||
			    (rc = defaults_string(d, path, "root", &dr)) != CA_OK)
				goto out;
		}
	}
	if (u == NULL)
		u = du;
	if (u == NULL) {
		rc = err_set(CA_USAGE, "no CA URL: give --ca-url, set CA_URL, or "
		    "run ca-init --bootstrap");
		goto out;
	}
	if (r == NULL && dr == NULL) {
		rc = err_set(CA_USAGE, "no root certificate to trust for %s: give "
		    "--root, set CA_ROOT, or run ca-init --bootstrap", u);
		goto out;
	}
	*url = strdup(u);
	*root = r != NULL ? strdup(r) : config_resolve(home, dr);
	if (*url == NULL || *root == NULL) {
		free(*url);
		free(*root);
		*url = *root = NULL;
		rc = err_set(CA_FAIL, "out of memory");
	}
out:
	json_decref(d);
	free(path);
	free(home);
	return rc;
}

/* 1 if x is a CA certificate signed by its own key. */
static int
is_root(X509 *x)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	int ok;

	ok = k != NULL && (X509_get_extension_flags(x) & EXFLAG_SS) &&
	    X509_check_ca(x) >= 1 && X509_verify(x, k) == 1;
	ERR_clear_error();
	return ok;
}

int
client_load_root(const char *path, X509 **out)
{
	X509 *x;

	*out = NULL;
	if (pem_load_cert_file(path, &x) != CA_OK) {
		/* The message names the file already. */
		return err_set(CA_FAIL, "root: %s", err_msg());
	}
	if (!is_root(x)) {
		X509_free(x);
		return err_set(CA_FAIL, "root %s: not a self-signed CA certificate",
		    path);
	}
	*out = x;
	return CA_OK;
}

/* ---- HTTPS ---------------------------------------------------------- */

/* libcurl's global state, once per process (not thread-safe: none here). */
static int
global_init(void)
{
	static int done;

	if (!done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return err_set(CA_FAIL, "libcurl: initialisation failed");
		done = 1;
	}
	return CA_OK;
}

/*
 * url, checked: https, a host, no user, query or fragment.  The copy
 * (malloc'd) has no trailing '/'.
 */
static int
check_url(const char *url, char **out)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *part = NULL;
	size_t n;
	int rc = CA_OK;

	*out = NULL;
	if (strlen(url) > CLIENT_MAX_URL)
		return err_set(CA_USAGE, "CA URL: longer than %d bytes",
		    CLIENT_MAX_URL);
	if ((u = curl_url()) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = err_set(CA_USAGE, "CA URL %s: not a URL", url);
		goto out;
	}
	if (strcmp(scheme, "https") != 0) {
		rc = err_set(CA_USAGE, "CA URL %s: https:// only", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		rc = err_set(CA_USAGE, "CA URL %s: no user, query or fragment", url);
		goto out;
	}
	if ((*out = strdup(url)) == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto out;
	}
	for (n = strlen(*out); n > 8 && (*out)[n - 1] == '/'; n--)
		(*out)[n - 1] = '\0';
out:
	curl_free(part);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/*
 * A handle for url that trusts root alone, or (root NULL: bootstrap only)
 * verifies nothing.
 */
static int
open_handle(const char *url, X509 *root, struct client **out)
{
	struct client *c;
	struct curl_blob blob;
	char *pem = NULL;
	int rc;

	*out = NULL;
	if ((rc = global_init()) != CA_OK)
		return rc;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if ((rc = check_url(url, &c->url)) != CA_OK)
		goto fail;
	rc = err_set(CA_FAIL, "libcurl: setting up the request failed");
	if ((c->h = curl_easy_init()) == NULL)
		goto fail;
	c->get_hdr = curl_slist_append(NULL, "Accept: application/json");
	c->post_hdr = curl_slist_append(NULL, "Accept: application/json");
	if (c->post_hdr != NULL)
		c->post_hdr = curl_slist_append(c->post_hdr,
		    "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip: the CA answers a whole request. */
	if (c->post_hdr != NULL)
		c->post_hdr = curl_slist_append(c->post_hdr, "Expect:");
	if (c->get_hdr == NULL || c->post_hdr == NULL)
		goto fail;
	/*
	 * Trust: the root's own bytes, as parsed, and nothing else.  The
	 * default CA file and directory libcurl was built with are unset,
	 * so the system bundle is never read.
	 */
	if (curl_easy_setopt(c->h, CURLOPT_CAINFO, NULL) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_CAPATH, NULL) != CURLE_OK)
		goto fail;
	if (root != NULL) {
		if ((pem = pem_cert(root)) == NULL)
			goto fail;
		blob.data = pem;
		blob.len = strlen(pem);
		blob.flags = CURL_BLOB_COPY;
		if (curl_easy_setopt(c->h, CURLOPT_CAINFO_BLOB, &blob) != CURLE_OK ||
		    curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
		    curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK)
			goto fail;
	} else {
		/* Bootstrap: the answer is checked by its fingerprint instead. */
		if (curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYPEER, 0L) != CURLE_OK ||
		    curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK)
			goto fail;
	}
	/*
	 * Proxies: libcurl's default is kept (https_proxy, no_proxy from the
	 * environment), as users of curl-based tools expect; the TLS session
	 * still ends at the CA and is verified against the root.
	 */
	if (curl_easy_setopt(c->h, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)CLIENT_CONNECT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS,
	    (long)CLIENT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)CA_MAX_JSON) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_USERAGENT,
	    "inca/" INCA_VERSION) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK)
		goto fail;
	free(pem);
	err_clear();
	*out = c;
	return CA_OK;
fail:
	free(pem);
	client_free(c);
	return rc;
}

int
client_open(const char *url, X509 *root, struct client **out)
{
	if (root == NULL) {
		*out = NULL;
		return err_set(CA_FAIL, "client: no root to trust");
	}
	return open_handle(url, root, out);
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	if (c->h != NULL)
		curl_easy_cleanup(c->h);
	curl_slist_free_all(c->get_hdr);
	curl_slist_free_all(c->post_hdr);
	/* After the handle: libcurl no longer points at it. */
	io_wipe_str(c->id_key_pem);
	free(c->url);
	free(c);
}

const char *
client_url(const struct client *c)
{
	return c->url;
}

/*
 * The response body, at most max bytes: CA_MAX_JSON for a JSON answer,
 * CA_MAX_CRL_TEXT for raw bytes (a CRL, the largest thing a CA serves).
 */
struct sink {
	unsigned char *data;
	size_t len, max;
	int over;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	n *= size;
	if (n > s->max - s->len) {
		s->over = 1;
		return 0;       /* CURLE_WRITE_ERROR: the transfer stops */
	}
	memcpy(s->data + s->len, p, n);
	s->len += n;
	return n;
}

static int
is_tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_ENGINE_INITFAILED:
		return 1;
	default:
		return 0;
	}
}

/*
 * Worth another attempt: the CA was not reached.  A POST that may have
 * reached it (sent, then no answer) is not sent again: the CA may have
 * spent the token.
 */
static int
retryable(CURL *h, CURLcode rc, int post)
{
	curl_off_t sent = 0;

	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return 1;
	case CURLE_OPERATION_TIMEDOUT:
		if (!post)
			return 1;
		/* Not yet past the handshake: nothing was sent. */
		return curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &sent) ==
		    CURLE_OK && sent == 0;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return !post;
	default:
		return 0;
	}
}

static int
status_code(long st)
{
	if (st >= 200 && st < 300)
		return CA_OK;
	if (st == 400 || st == 413)
		return CA_INPUT;
	if (st == 401 || st == 403 || st == 404)
		return CA_REFUSED;
	if (st == 503)
		return CA_UNAVAIL;
	return CA_FAIL;
}

static void
backoff(int attempt)
{
	struct timespec ts;
	long ms = 200L << (attempt - 1);        /* 0.2 s, 0.4 s */

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1)
		;
}

/*
 * One request with its retries; body NULL for a GET.  hdr: the POST's
 * headers instead of the usual ones (NULL: the usual ones).  raw: a 2xx
 * answer's bytes go there as they are, instead of a JSON object to *out.
 */
static int
request(struct client *c, const char *path, const char *body,
    struct curl_slist *hdr, struct buf *raw, json_t **out)
{
	struct sink s;
	char url[CLIENT_MAX_URL + 512];
	json_error_t e;
	json_t *j = NULL;
	CURLcode rc = CURLE_OK;
	long st = 0;
	int attempt, code;

	*out = NULL;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->url, path) >= sizeof(url))
		return err_set(CA_USAGE, "CA URL: too long");
	s.max = raw != NULL ? CA_MAX_CRL_TEXT : CA_MAX_JSON;
	if ((s.data = malloc(s.max + 1)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if (curl_easy_setopt(c->h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)s.max) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    (body == NULL ?
	    curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->get_hdr) != CURLE_OK :
	    curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(body)) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER,
	    hdr != NULL ? hdr : c->post_hdr) != CURLE_OK)) {
		free(s.data);
		return err_set(CA_FAIL, "libcurl: setting up the request failed");
	}
	for (attempt = 1; ; attempt++) {
		s.len = 0;
		s.over = 0;
		c->errbuf[0] = '\0';
		st = 0;
		rc = curl_easy_perform(c->h);
		if (rc == CURLE_OK)
			curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &st);
		if (attempt >= CLIENT_ATTEMPTS)
			break;
		if (rc == CURLE_OK ? st != 503 : !retryable(c->h, rc, body != NULL))
			break;
		backoff(attempt);
	}
	if (rc != CURLE_OK) {
		const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);

		if (s.over || rc == CURLE_FILESIZE_EXCEEDED)
			code = err_set(CA_INPUT, "%s: response exceeds %zu bytes", url,
			    s.max);
		else if (is_tls_error(rc))
			code = err_set(CA_FAIL, "TLS: %s: %s", url, why);
		else
			code = err_set(CA_UNAVAIL, "CA unreachable: %s: %s", url, why);
		free(s.data);
		return code;
	}
	s.data[s.len] = '\0';
	code = status_code(st);
	if (raw != NULL && code == CA_OK) {
		raw->data = s.data;
		raw->len = s.len;
		return CA_OK;
	}
	if (s.len > 0)
		j = json_loadb((const char *)s.data, s.len, JSON_REJECT_DUPLICATES, &e);
	free(s.data);
	if (code != CA_OK) {
		const char *m = json_string_value(json_object_get(j, "message"));

		if (m != NULL && m[0] != '\0')
			err_set(code, "%s", m);
		else
			err_set(code, "%s: HTTP %ld", url, st);
		json_decref(j);
		return code;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return err_set(CA_INPUT, "%s: HTTP %ld: the answer is not a JSON "
		    "object", url, st);
	}
	*out = j;
	return CA_OK;
}

int
client_get(struct client *c, const char *path, json_t **out)
{
	return request(c, path, NULL, NULL, NULL, out);
}

int
client_get_bytes(struct client *c, const char *path, struct buf *out)
{
	json_t *none = NULL;

	out->data = NULL;
	out->len = 0;
	return request(c, path, NULL, NULL, out, &none);
}

int
client_post(struct client *c, const char *path, const json_t *body,
    json_t **out)
{
	return client_post_auth(c, path, body, NULL, out);
}

/* Wipe every header of l (one holds a bearer token), then free the list. */
static void
headers_free(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p != NULL; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/* A bearer token: base64url segments and dots, nothing a header could break on. */
static int
bearer_ok(const char *t)
{
	size_t i, n = strlen(t);

	if (n == 0 || n > CA_MAX_JWT)
		return 0;
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ||
		    (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_' ||
		    t[i] == '.' || t[i] == '=' || t[i] == '+' || t[i] == '/' ||
		    t[i] == '~'))
			return 0;
	return 1;
}

int
client_post_auth(struct client *c, const char *path, const json_t *body,
    const char *bearer, json_t **out)
{
	struct curl_slist *hdr = NULL, *p, *n;
	char *s, *line = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if (bearer != NULL) {
		if (!bearer_ok(bearer))
			return err_set(CA_INPUT, "bearer token: not a token (base64url "
			    "and '.' only, at most %d bytes)", CA_MAX_JWT);
		len = strlen("Authorization: Bearer ") + strlen(bearer) + 1;
		if ((line = malloc(len)) == NULL)
			return err_set(CA_FAIL, "out of memory");
		snprintf(line, len, "Authorization: Bearer %s", bearer);
		for (p = c->post_hdr; p != NULL; p = p->next) {
			if ((n = curl_slist_append(hdr, p->data)) == NULL)
				goto oom;
			hdr = n;
		}
		if ((n = curl_slist_append(hdr, line)) == NULL)
			goto oom;
		hdr = n;
		io_wipe_str(line);
		line = NULL;
	}
	if ((s = json_dumps(body, JSON_COMPACT)) == NULL) {
		headers_free(hdr);
		return err_set(CA_FAIL, "encoding the request failed");
	}
	rc = request(c, path, s, hdr, NULL, out);
	io_wipe_str(s);         /* it holds the one-time token */
	/* libcurl keeps a pointer to the list: take it back first. */
	if (hdr != NULL)
		curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->post_hdr);
	headers_free(hdr);
	return rc;
oom:
	io_wipe_str(line);
	headers_free(hdr);
	return err_set(CA_FAIL, "out of memory");
}

/* ---- mTLS identity -------------------------------------------------- */

int
client_load_identity(const char *cert_file, const char *key_file,
    STACK_OF(X509) **chain, EVP_PKEY **key)
{
	struct buf b;
	int rc;

	*chain = NULL;
	*key = NULL;
	if ((rc = io_secret_guard()) != CA_OK)
		return rc;
	if ((rc = pem_load_certs_file(cert_file, chain)) != CA_OK) {
		if (rc == CA_INPUT && strstr(err_msg(), cert_file) == NULL)
			err_prefix("%s", cert_file);
		return rc;
	}
	if (sk_X509_num(*chain) < 1) {
		rc = err_set(CA_INPUT, "%s: no certificate", cert_file);
		goto fail;
	}
	/*
	 * Read as is (a service's key is often group-readable); its bytes
	 * are wiped, and no message quotes them.
	 */
	if ((rc = io_read_file(key_file, CA_MAX_PEM, &b)) != CA_OK)
		goto fail;
	rc = pem_load_key(b.data, b.len, NULL, key);
	buf_free(&b);
	if (rc != CA_OK) {
		/* An encrypted key, too, is input this cannot use. */
		rc = err_set(rc == CA_FAIL ? CA_FAIL : CA_INPUT, "%s: not an "
		    "unencrypted PEM private key (%s)", key_file, err_msg());
		goto fail;
	}
	if (X509_check_private_key(sk_X509_value(*chain, 0), *key) != 1) {
		ERR_clear_error();
		rc = err_set(CA_INPUT, "%s does not match the certificate in %s",
		    key_file, cert_file);
		goto fail;
	}
	return CA_OK;
fail:
	sk_X509_pop_free(*chain, X509_free);
	EVP_PKEY_free(*key);
	*chain = NULL;
	*key = NULL;
	return rc;
}

int
client_use_identity(struct client *c, STACK_OF(X509) *chain, EVP_PKEY *key)
{
	struct curl_blob cert, k;
	char *pem;

	if (sk_X509_num(chain) < 1)
		return err_set(CA_INPUT, "client certificate: none");
	if (X509_check_private_key(sk_X509_value(chain, 0), key) != 1) {
		ERR_clear_error();
		return err_set(CA_INPUT, "client key does not match its certificate");
	}
	/* The leaf, then what chains it (a root sent along proves nothing). */
	if ((pem = renewal_chain_pem(chain)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	io_wipe_str(c->id_key_pem);
	if ((c->id_key_pem = pem_key(key, NULL, 0)) == NULL) {
		free(pem);
		return err_set(CA_FAIL, "out of memory");
	}
	cert.data = pem;
	cert.len = strlen(pem);
	cert.flags = CURL_BLOB_COPY;
	/* Lent, not copied: the one copy is ours, wiped by client_free(). */
	k.data = c->id_key_pem;
	k.len = strlen(c->id_key_pem);
	k.flags = CURL_BLOB_NOCOPY;
	if (curl_easy_setopt(c->h, CURLOPT_SSLCERTTYPE, "PEM") != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_SSLCERT_BLOB, &cert) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_SSLKEYTYPE, "PEM") != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_SSLKEY_BLOB, &k) != CURLE_OK) {
		free(pem);
		return err_set(CA_FAIL, "libcurl: setting the client certificate "
		    "failed");
	}
	free(pem);
	return CA_OK;
}

int
client_set_identity(struct client *c, const char *cert_file,
    const char *key_file)
{
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
	int rc;

	if ((rc = client_load_identity(cert_file, key_file, &chain, &key)) != CA_OK)
		return rc;
	rc = client_use_identity(c, chain, key);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	return rc;
}

int
client_provisioners(struct client *c, json_t **out)
{
	json_t *all = json_array(), *page = NULL, *p;
	char path[1024], *cursor = NULL, *esc;
	const char *next;
	int pages, rc = CA_OK;
	size_t i;

	*out = NULL;
	if (all == NULL)
		return err_set(CA_FAIL, "out of memory");
	for (pages = 0; ; pages++) {
		if (pages == CLIENT_MAX_PAGES) {
			rc = err_set(CA_INPUT, "%s/provisioners: more than %d pages",
			    c->url, CLIENT_MAX_PAGES);
			goto out;
		}
		if (cursor == NULL)
			snprintf(path, sizeof(path), "/provisioners");
		else {
			if ((esc = curl_easy_escape(c->h, cursor, 0)) == NULL) {
				rc = err_set(CA_FAIL, "out of memory");
				goto out;
			}
			if ((size_t)snprintf(path, sizeof(path), "/provisioners?cursor=%s",
			    esc) >= sizeof(path)) {
				curl_free(esc);
				rc = err_set(CA_INPUT, "%s/provisioners: cursor too long",
				    c->url);
				goto out;
			}
			curl_free(esc);
		}
		if ((rc = client_get(c, path, &page)) != CA_OK)
			goto out;
		if (!json_is_array(json_object_get(page, "provisioners"))) {
			rc = err_set(CA_INPUT, "%s/provisioners: no \"provisioners\" array",
			    c->url);
			goto out;
		}
		json_array_foreach(json_object_get(page, "provisioners"), i, p)
			json_array_append(all, p);
		next = json_string_value(json_object_get(page, "nextCursor"));
		if (next == NULL || next[0] == '\0')
			break;
		if (cursor != NULL && strcmp(cursor, next) == 0) {
			rc = err_set(CA_INPUT, "%s/provisioners: the same page again "
			    "(cursor %s)", c->url, next);
			goto out;
		}
		free(cursor);
		if ((cursor = strdup(next)) == NULL) {
			rc = err_set(CA_FAIL, "out of memory");
			goto out;
		}
		json_decref(page);
		page = NULL;
	}
out:
	json_decref(page);
	free(cursor);
	if (rc != CA_OK)
		json_decref(all);
	else
		*out = all;
	return rc;
}

int
client_bootstrap(const char *url, const char *fp, X509 **root)
{
	struct client *c = NULL;
	STACK_OF(X509) *certs = NULL;
	json_t *j = NULL;
	const char *pem;
	char path[80], got[65];
	X509 *x = NULL;
	int rc;

	*root = NULL;
	snprintf(path, sizeof(path), "/root/%s", fp);
	/* Trust on nothing: the fingerprint decides, below. */
	if ((rc = open_handle(url, NULL, &c)) != CA_OK)
		goto out;
	if ((rc = client_get(c, path, &j)) != CA_OK) {
		/* The CA's own words ("not found") say little on their own. */
		if (rc == CA_REFUSED)
			err_prefix("%s%s", c->url, path);
		goto out;
	}
	if ((pem = json_string_value(json_object_get(j, "ca"))) == NULL) {
		rc = err_set(CA_INPUT, "%s%s: no \"ca\" in the answer", c->url, path);
		goto out;
	}
	if ((rc = pem_load_certs((const unsigned char *)pem, strlen(pem),
	    &certs)) != CA_OK) {
		err_prefix("%s%s", c->url, path);
		goto out;
	}
	if (sk_X509_num(certs) != 1) {
		rc = err_set(CA_INPUT, "%s%s: %d certificates, expected one root",
		    c->url, path, sk_X509_num(certs));
		goto out;
	}
	x = sk_X509_value(certs, 0);
	if ((rc = x509_fingerprint(x, got)) != CA_OK)
		goto out;
	if (strcmp(got, fp) != 0) {
		rc = err_set(CA_REFUSED, "root fingerprint mismatch: got %s, want %s",
		    got, fp);
		goto out;
	}
	if (!is_root(x)) {
		rc = err_set(CA_INPUT, "%s%s: not a self-signed CA certificate",
		    c->url, path);
		goto out;
	}
	client_free(c);
	c = NULL;
	json_decref(j);
	j = NULL;
	/* Now trusting that root alone: the CA must prove it chains to it. */
	if ((rc = client_open(url, x, &c)) != CA_OK)
		goto out;
	if ((rc = client_get(c, "/health", &j)) != CA_OK) {
		err_prefix("the CA's certificate checked against root %s", fp);
		goto out;
	}
	X509_up_ref(x);
	*root = x;
out:
	sk_X509_pop_free(certs, X509_free);
	json_decref(j);
	client_free(c);
	return rc;
}
