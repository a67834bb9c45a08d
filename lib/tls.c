/*
 * tls: server context (see tls.h).
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ca_limits.h"
#include "err.h"
#include "io.h"
#include "pem.h"
#include "timeutil.h"
#include "tls.h"

/* TLS 1.2: ECDHE only, AEAD only.  TLS 1.3's suites are all AEAD. */
static const char tls12_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

int
tls_version(const json_t *v, const char *name, int dflt, int *out)
{
	const char *s = NULL;
	double d;

	*out = dflt;
	if (v == NULL)
		return CA_OK;
	if (json_is_real(v)) {
		/* jansson parses "1.2" to the double nearest 1.2, as the C literal. */
		d = json_real_value(v);
		if (d == 1.2)
			s = "1.2";
		else if (d == 1.3)
			s = "1.3";
	}
	if (s != NULL && strcmp(s, "1.2") == 0)
		*out = TLS1_2_VERSION;
	else if (s != NULL && strcmp(s, "1.3") == 0)
		*out = TLS1_3_VERSION;
	else
		return err_set(CA_FAIL, "ca.json: tls.%s: 1.2 or 1.3", name);
	return CA_OK;
}

void
tls_tune_fd(int fd)
{
	int one = 1;

	/* ENOTSOCK (a pipe), EOPNOTSUPP (a unix socket): nothing to tune. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* One certificate from exactly the len bytes of DER at der, or NULL. */
static X509 *
d2i_exact(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (len > LONG_MAX || (x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return NULL;
	if (p != der + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* t as RFC 3339 UTC (time_fmt), in buf; "?" when OpenSSL cannot read it. */
static const char *
asn1_time_text(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		snprintf(buf, len, "?");
	else
		time_fmt((int64_t)timegm(&tm), buf, len);
	return buf;
}

/*
 * The server's certificate and chain from c->cert_file into ctx.  Each
 * certificate is decoded once (OpenSSL 3.0 decodes a public key through
 * its costly decoder look-ups): the CA's own files, read as the operator
 * installed them, are not also re-encoded to prove them DER.
 */
static int
load_chain(SSL_CTX *ctx, const struct tls_server *c)
{
	STACK_OF(X509) *certs = NULL;
	struct pem_block *b = NULL;
	struct buf f;
	size_t n = 0, i;
	X509 *leaf, *x;
	char when[64];
	int rc;

	if ((rc = io_read_file(c->cert_file, CA_MAX_PEM, &f)) != CA_OK)
		return err_set(CA_FAIL, "%s", err_msg());
	rc = pem_decode(f.data, f.len, CA_MAX_CHAIN, &b, &n);
	buf_free(&f);
	if (rc != CA_OK)
		return err_set(CA_FAIL, "%s: %s", c->cert_file, err_msg());
	if ((certs = sk_X509_new_null()) == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (b[i].name[0] != '\0' && strcmp(b[i].name, "CERTIFICATE") != 0) {
			rc = err_set(CA_FAIL, "%s: expected CERTIFICATE, found %s",
			    c->cert_file, b[i].name);
			goto out;
		}
		if ((x = d2i_exact(b[i].der, b[i].len)) == NULL) {
			rc = err_ssl(CA_FAIL, "%s: malformed certificate",
			    c->cert_file);
			goto out;
		}
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			rc = err_set(CA_FAIL, "out of memory");
			goto out;
		}
	}
	if (sk_X509_num(certs) == 0) {
		rc = err_set(CA_FAIL, "%s: no certificate", c->cert_file);
		goto out;
	}
	leaf = sk_X509_value(certs, 0);
	/*
	 * A certificate no client accepts is not served: refused at start
	 * (and at a reload, which keeps the one in use), with the reason.
	 */
	if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
		rc = err_set(CA_FAIL, "%s: the server certificate expired "
		    "(notAfter %s): renew it (ca-renew) and start again",
		    c->cert_file, asn1_time_text(X509_get0_notAfter(leaf),
		    when, sizeof(when)));
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
		rc = err_set(CA_FAIL, "%s: the server certificate is not valid "
		    "yet (notBefore %s): is this host's clock right?",
		    c->cert_file, asn1_time_text(X509_get0_notBefore(leaf),
		    when, sizeof(when)));
		goto out;
	}
	if (SSL_CTX_use_certificate(ctx, leaf) != 1) {
		rc = err_ssl(CA_FAIL, "%s: certificate refused", c->cert_file);
		goto out;
	}
	for (i = 1; i < (size_t)sk_X509_num(certs); i++) {
		x = sk_X509_value(certs, (int)i);
		/* A root sent along proves nothing: the client must have it. */
		if (X509_get_extension_flags(x) & EXFLAG_SS)
			continue;
		if (SSL_CTX_add1_chain_cert(ctx, x) != 1) {
			rc = err_ssl(CA_FAIL, "%s: chain certificate refused",
			    c->cert_file);
			goto out;
		}
	}
	if (sk_X509_num(certs) == 1) {
		/* The leaf alone: send the intermediate that issued it. */
		for (i = 0; i < c->ninter; i++) {
			if ((x = d2i_exact(c->inter[i].der, c->inter[i].len)) == NULL)
				continue;
			if (X509_check_issued(x, leaf) == X509_V_OK) {
				rc = SSL_CTX_add1_chain_cert(ctx, x) == 1 ? CA_OK :
				    err_ssl(CA_FAIL, "chain certificate refused");
				X509_free(x);
				if (rc != CA_OK)
					goto out;
				break;
			}
			X509_free(x);
		}
	}
	rc = CA_OK;
out:
	sk_X509_pop_free(certs, X509_free);
	pem_blocks_free(b, n);
	ERR_clear_error();
	return rc;
}

/*
 * Where a connection keeps the first reason its client's chain did not
 * verify (an X509_V_ERR_* code + 1; 0: none), for tls_peer_problem().
 */
static int peer_err_idx = -1;

/*
 * A client chain that does not verify (expired, another CA's, the wrong
 * purpose) does not fail the handshake: the connection goes on as one
 * without a client certificate, and the reason is kept, so that the
 * routes can tell the client why (an expired certificate is renewed
 * with a renewal token, which needs the connection).  The handshake
 * still proves possession of the key: CertificateVerify is TLS's own
 * check, not this one.
 */
static int
verify_keep_going(int ok, X509_STORE_CTX *x)
{
	SSL *ssl;

	if (ok)
		return 1;
	ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl != NULL && peer_err_idx >= 0 &&
	    SSL_get_ex_data(ssl, peer_err_idx) == NULL)
		(void)SSL_set_ex_data(ssl, peer_err_idx,
		    (void *)(intptr_t)(X509_STORE_CTX_get_error(x) + 1));
	return 1;
}

int
tls_server_ctx(const struct tls_server *c, SSL_CTX **out)
{
	X509_STORE *store = NULL;
	EVP_PKEY *key = NULL;
	SSL_CTX *ctx;
	int rc;

	*out = NULL;
	/* Never openssl.cnf: the environment must not change the policy. */
	OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT,
	    NULL);
	if (c->min_version > c->max_version)
		return err_set(CA_FAIL, "ca.json: tls.minVersion is above "
		    "tls.maxVersion");
	if (peer_err_idx < 0 &&
	    (peer_err_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL)) < 0)
		return err_ssl(CA_FAIL, "TLS context");
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return err_ssl(CA_FAIL, "TLS context");
	if (SSL_CTX_set_min_proto_version(ctx, c->min_version) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, c->max_version) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1 ||
	    /* X25519 first: the cheapest key exchange; P-256 for the rest. */
	    SSL_CTX_set1_groups_list(ctx, "X25519:P-256") != 1) {
		rc = err_ssl(CA_FAIL, "TLS parameters");
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* Partial writes are finished by the caller; buffers may move. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

	if ((rc = load_chain(ctx, c)) != CA_OK)
		goto fail;
	if ((rc = pem_load_key_file(c->key_file, NULL, &key)) != CA_OK) {
		rc = err_set(CA_FAIL, "%s", err_msg());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		rc = err_ssl(CA_FAIL, "%s does not match the key of %s",
		    c->key_file, c->cert_file);
		goto fail;
	}

	/* Client certificates: asked for, optional, verified to the root. */
	if ((store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, c->root) != 1) {
		X509_STORE_free(store);
		rc = err_ssl(CA_FAIL, "trust store");
		goto fail;
	}
	SSL_CTX_set_cert_store(ctx, store);
	if (SSL_CTX_add_client_CA(ctx, c->root) != 1) {
		rc = err_ssl(CA_FAIL, "client CA list");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_keep_going);
	SSL_CTX_set_verify_depth(ctx, CA_MAX_CHAIN);
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	EVP_PKEY_free(key);
	*out = ctx;
	return CA_OK;
fail:
	EVP_PKEY_free(key);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

json_t *
tls_peer_chain(SSL *ssl)
{
	STACK_OF(X509) *chain;
	json_t *a;
	char *pem;
	int i;

	if (SSL_get_verify_result(ssl) != X509_V_OK ||
	    tls_peer_problem(ssl) != NULL)
		return NULL;
	chain = SSL_get0_verified_chain(ssl);
	if (chain == NULL || sk_X509_num(chain) == 0)
		return NULL;
	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < sk_X509_num(chain); i++) {
		if ((pem = pem_cert(sk_X509_value(chain, i))) == NULL ||
		    json_array_append_new(a, json_string(pem)) != 0) {
			free(pem);
			json_decref(a);
			return NULL;
		}
		free(pem);
	}
	return a;
}

const char *
tls_peer_problem(SSL *ssl)
{
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	intptr_t e = peer_err_idx >= 0 ?
	    (intptr_t)SSL_get_ex_data(ssl, peer_err_idx) : 0;
	long r = SSL_get_verify_result(ssl);

	if (leaf == NULL)
		return NULL;
	if (e > 0)
		return X509_verify_cert_error_string((long)(e - 1));
	if (r != X509_V_OK)
		return X509_verify_cert_error_string(r);
	return NULL;
}
