#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "ca_limits.h"
#include "client.h"
#include "csr.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "pem.h"
#include "renewal.h"
#include "san.h"
#include "x509.h"

int
renewal_audience(const char *ca_url, const char *route, char **out)
{
	CURLU *u;
	char *host = NULL, *port = NULL;
	size_t n;
	int rc = CA_OK;

	*out = NULL;
	if ((u = curl_url()) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, ca_url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = err_set(CA_USAGE, "CA URL %s: not a URL", ca_url);
		goto out;
	}
	/* The port only when the URL names one (CURLUE_NO_PORT otherwise). */
	(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
	n = strlen("https://") + strlen(host) + 1 + (port ? strlen(port) : 0) +
	    strlen("/1.0/") + strlen(route) + 1;
	if ((*out = malloc(n)) == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto out;
	}
	snprintf(*out, n, "https://%s%s%s/1.0/%s", host, port ? ":" : "",
	    port ? port : "", route);
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

/* x5c: the chain's certificates, leaf first, roots left out. */
static json_t *
x5c_of(STACK_OF(X509) *chain)
{
	json_t *a = json_array();
	unsigned char *der;
	char *b64;
	int i, n;

	if (a == NULL)
		return NULL;
	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (i > 0 && (X509_get_extension_flags(x) & EXFLAG_SS))
			continue;
		der = NULL;
		if ((n = i2d_X509(x, &der)) <= 0)
			goto fail;
		if ((b64 = malloc(4 * (((size_t)n + 2) / 3) + 1)) == NULL) {
			OPENSSL_free(der);
			goto fail;
		}
		EVP_EncodeBlock((unsigned char *)b64, der, n);
		OPENSSL_free(der);
		if (json_array_append_new(a, json_string(b64)) != 0) {
			free(b64);
			goto fail;
		}
		free(b64);
	}
	return a;
fail:
	json_decref(a);
	return NULL;
}

/* The token's subject: the leaf's CN, else its first SAN; malloc'd. */
static char *
subject_of(X509 *leaf)
{
	struct sans sans = { NULL, 0 };
	GENERAL_NAMES *gens;
	char cn[CA_MAX_SAN_LEN + 1], *s = NULL;

	if (x509_subject_cn(X509_get_subject_name(leaf), cn, sizeof(cn)) == CA_OK &&
	    cn[0] != '\0')
		return strdup(cn);
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	if (gens != NULL && sans_from_general_names(gens, &sans) == CA_OK &&
	    sans.n > 0)
		s = strdup(sans.v[0].value);
	GENERAL_NAMES_free(gens);
	sans_free(&sans);
	ERR_clear_error();
	if (s == NULL)
		err_set(CA_INPUT, "the certificate has neither a common name nor "
		    "a subject alternative name");
	return s;
}

int
renewal_token(EVP_PKEY *key, STACK_OF(X509) *chain, const char *ca_url,
    int64_t now, char **out)
{
	json_t *hdr = NULL, *claims = NULL, *x5c;
	char jti[JOSE_JTI_LEN + 1], *aud = NULL, *sub = NULL;
	X509 *leaf;
	int rc;

	*out = NULL;
	if (sk_X509_num(chain) < 1)
		return err_set(CA_INPUT, "renewal token: no certificate");
	leaf = sk_X509_value(chain, 0);
	if (X509_check_private_key(leaf, key) != 1) {
		ERR_clear_error();
		return err_set(CA_INPUT, "renewal token: the key is not the "
		    "certificate's");
	}
	if ((rc = renewal_audience(ca_url, "renew", &aud)) != CA_OK)
		return rc;
	if ((sub = subject_of(leaf)) == NULL) {
		rc = err_code() ? err_code() : err_set(CA_FAIL, "out of memory");
		goto out;
	}
	if ((rc = jose_jti(jti)) != CA_OK)
		goto out;
	rc = err_set(CA_FAIL, "out of memory");
	if ((x5c = x5c_of(chain)) == NULL ||
	    (hdr = json_object()) == NULL ||
	    json_object_set_new(hdr, "x5c", x5c) != 0)
		goto out;
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
	    "iss", RENEWAL_TOKEN_ISS, "sub", sub, "aud", aud,
	    "nbf", (json_int_t)now, "iat", (json_int_t)now,
	    "exp", (json_int_t)(now + RENEWAL_TOKEN_LIFE), "jti", jti);
	if (claims == NULL)
		goto out;
	err_clear();
	rc = jws_sign(key, NULL, hdr, claims, out);
out:
	json_decref(hdr);
	json_decref(claims);
	free(aud);
	free(sub);
	return rc;
}

int
renewal_due(X509 *leaf, enum renewal_when when, int64_t within, int64_t now,
    int *due, int64_t *at)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64_t h = 0, span;
	int64_t nb, na, life, when_at;
	int i;

	*due = 0;
	nb = x509_time(X509_get0_notBefore(leaf));
	na = x509_time(X509_get0_notAfter(leaf));
	if (na <= nb)
		return err_set(CA_INPUT, "the certificate's notAfter is not after "
		    "its notBefore");
	life = na - nb;
	switch (when) {
	case RENEW_ALWAYS:
		when_at = now;
		break;
	case RENEW_EXPIRES_IN:
		if (within < 0)
			return err_set(CA_USAGE, "--expires-in: a duration from now "
			    "(not negative)");
		when_at = na - within;
		break;
	case RENEW_IF_DUE:
		if (X509_digest(leaf, EVP_sha256(), md, &mdlen) != 1 || mdlen < 8)
			return err_ssl(CA_FAIL, "fingerprint");
		for (i = 0; i < 8; i++)
			h = h << 8 | md[i];
		span = (uint64_t)(life / RENEWAL_JITTER_DIV) + 1;
		/* 2/3 of the lifetime, without overflow for any lifetime. */
		when_at = nb + life / 3 * 2 + (life % 3) * 2 / 3 - (int64_t)(h % span);
		break;
	default:
		return err_set(CA_USAGE, "renewal: unknown condition");
	}
	if (when_at > na)
		when_at = na;
	if (at != NULL)
		*at = when_at;
	*due = now >= when_at || now >= na;
	return CA_OK;
}

/* The chain of an answer ({"certChain":[PEM...]}), leaf first. */
static int
answer_chain(const json_t *resp, const char *where, STACK_OF(X509) **out)
{
	STACK_OF(X509) *chain, *one;
	const json_t *arr = json_object_get(resp, "certChain"), *v;
	const char *pem;
	size_t i;
	int rc;

	*out = NULL;
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > CA_MAX_CHAIN)
		return err_set(CA_INPUT, "%s: the answer has no certChain of 1 to "
		    "%d certificates", where, CA_MAX_CHAIN);
	if ((chain = sk_X509_new_null()) == NULL)
		return err_set(CA_FAIL, "out of memory");
	json_array_foreach(arr, i, v) {
		if ((pem = json_string_value(v)) == NULL) {
			rc = err_set(CA_INPUT, "%s: certChain[%zu]: not a string",
			    where, i);
			goto fail;
		}
		if ((rc = pem_load_certs((const unsigned char *)pem, strlen(pem),
		    &one)) != CA_OK) {
			err_prefix("%s: certChain[%zu]", where, i);
			goto fail;
		}
		if (sk_X509_num(one) != 1) {
			sk_X509_pop_free(one, X509_free);
			rc = err_set(CA_INPUT, "%s: certChain[%zu]: not one certificate",
			    where, i);
			goto fail;
		}
		sk_X509_push(chain, sk_X509_shift(one));
		sk_X509_free(one);
	}
	*out = chain;
	return CA_OK;
fail:
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* A request for the rekey: new_key, the old certificate's CN (names are the CA's). */
static int
rekey_body(X509 *leaf, EVP_PKEY *new_key, json_t **out)
{
	X509_REQ *req;
	unsigned char *der = NULL;
	char cn[CA_MAX_SAN_LEN + 1], *pem;
	int n;

	*out = NULL;
	if (x509_subject_cn(X509_get_subject_name(leaf), cn, sizeof(cn)) != CA_OK)
		cn[0] = '\0';
	if ((req = csr_build(new_key, cn[0] ? cn : NULL, NULL)) == NULL)
		return err_code() ? err_code() : err_set(CA_FAIL, "request failed");
	n = i2d_X509_REQ(req, &der);
	X509_REQ_free(req);
	if (n <= 0)
		return err_ssl(CA_FAIL, "encoding the certificate request");
	pem = pem_encode("CERTIFICATE REQUEST", der, (size_t)n);
	OPENSSL_free(der);
	if (pem == NULL || (*out = json_pack("{s:s}", "csr", pem)) == NULL) {
		free(pem);
		return err_set(CA_FAIL, "out of memory");
	}
	free(pem);
	return CA_OK;
}

int
renewal_online(const struct renewal_request *r, int64_t now,
    STACK_OF(X509) **out)
{
	STACK_OF(X509) *chain = NULL;
	struct client *c = NULL;
	json_t *body = NULL, *resp = NULL;
	X509 *root = NULL, *leaf;
	EVP_PKEY *want;
	const char *route = r->new_key != NULL ? "/1.0/rekey" : "/1.0/renew";
	char *url = NULL, *rootp = NULL, *tok = NULL, where[2200];
	int rc;

	*out = NULL;
	if (sk_X509_num(r->chain) < 1)
		return err_set(CA_INPUT, "no certificate to renew");
	leaf = sk_X509_value(r->chain, 0);
	if (r->new_key != NULL && r->token_auth)
		return err_set(CA_USAGE, "a rekey goes over mTLS: no renewal token");
	if ((rc = client_discover(r->dir, r->ca_url, r->root, &url, &rootp)) != CA_OK ||
	    (rc = client_load_root(rootp, &root)) != CA_OK ||
	    (rc = client_open(url, root, &c)) != CA_OK)
		goto out;
	if (r->token_auth)
		rc = renewal_token(r->key, r->chain, url, now, &tok);
	else
		rc = client_use_identity(c, r->chain, r->key);
	if (rc != CA_OK)
		goto out;
	if (r->new_key != NULL)
		rc = rekey_body(leaf, r->new_key, &body);
	else if ((body = json_object()) == NULL)
		rc = err_set(CA_FAIL, "out of memory");
	if (rc != CA_OK)
		goto out;
	if ((rc = client_post_auth(c, route, body, tok, &resp)) != CA_OK)
		goto out;
	snprintf(where, sizeof(where), "%s%s", client_url(c), route);
	if ((rc = answer_chain(resp, where, &chain)) != CA_OK)
		goto out;
	want = r->new_key != NULL ? r->new_key : r->key;
	if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(chain, 0)), want) != 1) {
		ERR_clear_error();
		rc = err_set(CA_FAIL, "%s: the certificate in the answer is not for "
		    "the %s key", where, r->new_key != NULL ? "new" : "certificate's");
		goto out;
	}
	*out = chain;
	chain = NULL;
out:
	io_wipe_str(tok);
	sk_X509_pop_free(chain, X509_free);
	json_decref(body);
	json_decref(resp);
	client_free(c);
	X509_free(root);
	free(url);
	free(rootp);
	return rc;
}

char *
renewal_chain_pem(STACK_OF(X509) *chain)
{
	char *pem = NULL, *one, *np;
	size_t len = 0, n;
	int i;

	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (i > 0 && (X509_get_extension_flags(x) & EXFLAG_SS))
			continue;
		if ((one = pem_cert(x)) == NULL)
			goto fail;
		n = strlen(one);
		if ((np = realloc(pem, len + n + 1)) == NULL) {
			free(one);
			goto fail;
		}
		pem = np;
		memcpy(pem + len, one, n + 1);
		len += n;
		free(one);
	}
	if (pem == NULL)
		err_set(CA_INPUT, "no certificate");
	return pem;
fail:
	free(pem);
	err_set(CA_FAIL, "out of memory");
	return NULL;
}

int
renewal_exec(const char *cmd)
{
	pid_t pid;
	int st;

	fflush(NULL);
	if ((pid = fork()) == -1)
		return err_set(CA_FAIL, "--exec: %s: fork: %s", cmd, strerror(errno));
	if (pid == 0) {
		/* What the command sees is what a shell of the caller's would. */
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return err_set(CA_FAIL, "--exec: %s: %s", cmd, strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return CA_OK;
	if (WIFEXITED(st))
		return err_set(CA_FAIL, "--exec: %s: exited %d", cmd,
		    WEXITSTATUS(st));
	return err_set(CA_FAIL, "--exec: %s: killed by signal %d", cmd,
	    WTERMSIG(st));
}
