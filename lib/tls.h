/*
 * tls: the server side of ca-serve's TLS, one policy in one place.
 *
 * TLS 1.2 and 1.3 only; in TLS 1.2 only ECDHE key exchange with AEAD
 * ciphers (AES-GCM, ChaCha20-Poly1305); no renegotiation, compression,
 * session tickets or session cache (every connection is a full handshake,
 * so nothing about one connection outlives it).  OpenSSL's configuration
 * file and the system's certificate bundle are never read: the one trust
 * anchor for client certificates is the CA's root.
 *
 * A client certificate is requested, not required.  A client that sends
 * one is trusted only with a chain that verifies to the root (its
 * intermediates may come with it); one that does not (expired, another
 * CA's, not for client authentication) does not fail the handshake: the
 * connection is served as one without a client certificate, and
 * tls_peer_problem() says why the certificate was not accepted.
 */
#ifndef INCA_TLS_H
#define INCA_TLS_H

#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct pem_block;

struct tls_server {
	const char *cert_file;  /* the server's certificate, then its chain (PEM) */
	const char *key_file;   /* its private key, unencrypted (a secret file) */
	X509 *root;             /* the trust anchor for client certificates */
	/*
	 * The CA's intermediates as DER: when cert_file holds the leaf alone,
	 * they are decoded and the one that issued it is sent along as the
	 * chain (otherwise they are not decoded).  May be NULL.
	 */
	const struct pem_block *inter;
	size_t ninter;
	int min_version;        /* TLS1_2_VERSION or TLS1_3_VERSION */
	int max_version;        /* likewise, >= min_version */
};

/*
 * The TLS version of ca.json's tls.minVersion/maxVersion value v: the
 * numbers 1.2 and 1.3; NULL gives dflt.
 * Anything else is CA_FAIL "tls.NAME: ..." (name is the member's name).
 */
int tls_version(const json_t *v, const char *name, int dflt, int *out);

/*
 * A new server context of c (certificate and key loaded and matched,
 * chain, policy above).  *out is the caller's (SSL_CTX_free).  CA_OK, or
 * CA_FAIL with a message naming the file at fault.
 */
int tls_server_ctx(const struct tls_server *c, SSL_CTX **out);

/*
 * Socket options every TCP connection gets (TCP_NODELAY: a TLS exchange
 * otherwise stalls on delayed ACKs).  fd may be a pipe or a unix socket:
 * then nothing is done.
 */
void tls_tune_fd(int fd);

/*
 * The verified chain of the client's certificate, leaf first (the root
 * last), as PEM strings: a new JSON array, or NULL when the client sent no
 * certificate or one whose chain did not verify.  Only called after a
 * completed handshake.
 */
json_t *tls_peer_chain(SSL *ssl);

/*
 * Why the client's certificate was not accepted ("certificate has
 * expired": OpenSSL's text of the first verification error), or NULL
 * when it sent none or its chain verified.  Static text.
 */
const char *tls_peer_problem(SSL *ssl);

#endif
