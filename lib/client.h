/*
 * client: the online programs' side of ca-serve, over libcurl.
 *
 * Where the CA is (client_discover), the one root certificate that is
 * trusted for it (client_load_root), and JSON requests over HTTPS that
 * trust that root alone (client_get, client_post): TLS 1.2 or later, no
 * system CA bundle, bounded time, bounded response, retries of what is
 * safe to retry, and the CA's {"status","message"} answers turned into an
 * exit code and message.  client_bootstrap is the one request that trusts
 * nothing yet: it fetches a root by its fingerprint.
 *
 * Only the online programs link this module (and libcurl).  Nothing here
 * exits: every function returns CA_OK or an exit code with err_set().
 */
#ifndef INCA_CLIENT_H
#define INCA_CLIENT_H

#include <jansson.h>
#include <openssl/x509.h>

#include "io.h"

#define CLIENT_CONNECT_TIMEOUT_MS 10000  /* TCP and TLS handshake */
#define CLIENT_TIMEOUT_MS         30000  /* one whole attempt */
#define CLIENT_ATTEMPTS           3      /* connection errors, 503 */
#define CLIENT_MAX_PAGES          50     /* GET /provisioners pages followed */

/*
 * The CA URL and the root to trust for it.  URL: url_opt (--ca-url) >
 * $CA_URL > "ca-url" of HOME/config/defaults.json; root: root_opt
 * (--root) > $CA_ROOT > "root" of defaults.json, a relative path there
 * being relative to HOME; HOME is config_home(dir).  defaults.json is
 * read only when something is still missing; a missing file is no error,
 * a malformed one is CA_FAIL.  No URL at all: CA_USAGE "no CA URL: ...";
 * a URL but no root: CA_USAGE.  *url and *root are malloc'd (free).
 */
int client_discover(const char *dir, const char *url_opt, const char *root_opt,
    char **url, char **root);

/*
 * The root file: exactly one self-signed CA certificate.  Any problem
 * with it is CA_FAIL naming the file (the trust configuration is broken).
 * *out is the caller's (X509_free).
 */
int client_load_root(const char *path, X509 **out);

struct client;

/*
 * A client of the CA at url (an https:// URL without query or fragment;
 * trailing slashes dropped; otherwise CA_USAGE) that trusts root alone.
 * root is copied.  *out is freed with client_free().
 */
int client_open(const char *url, X509 *root, struct client **out);
void client_free(struct client *c);
/* The base URL, without a trailing slash (owned by c). */
const char *client_url(const struct client *c);

/*
 * GET or POST url + path (path starts with '/').  On a 2xx answer *out is
 * the response's JSON object (json_decref).  Otherwise the code follows
 * the HTTP status (400, 413: CA_INPUT; 401, 403, 404: CA_REFUSED; 503:
 * CA_UNAVAIL; any other: CA_FAIL) and the message is the CA's "message"
 * (or "URL: HTTP N" when the answer has none).  Unreachable after
 * CLIENT_ATTEMPTS: CA_UNAVAIL "CA unreachable: URL: why"; a TLS failure
 * (the CA's certificate does not chain to the root, a handshake error):
 * CA_FAIL "TLS: URL: why"; a response over CA_MAX_JSON bytes, or not a
 * JSON object: CA_INPUT.  A POST is retried only when it cannot have
 * reached the CA (no connection) or the CA said 503.
 */
int client_get(struct client *c, const char *path, json_t **out);
/*
 * client_get() for an answer that is not JSON (a DER or PEM CRL): on a
 * 2xx answer out holds its bytes, at most CA_MAX_JSON of them (buf_free;
 * NUL-terminated beyond len).  Failures as client_get(), the CA's JSON
 * {"message"} included.
 */
int client_get_bytes(struct client *c, const char *path, struct buf *out);
int client_post(struct client *c, const char *path, const json_t *body,
    json_t **out);
/*
 * client_post() with "Authorization: Bearer <bearer>" (a renewal token:
 * base64url and '.' only, else CA_INPUT; NULL: no such header).  The
 * header is built for this request alone and wiped afterwards.
 */
int client_post_auth(struct client *c, const char *path, const json_t *body,
    const char *bearer, json_t **out);

/*
 * mTLS: the client certificate (leaf first, then its intermediates; a
 * self-signed one after the leaf is not sent) and its key, presented to
 * the CA on every later connection of c.
 *
 * client_load_identity reads them: cert_file holds PEM certificates,
 * key_file an unencrypted PEM private key (PKCS#8 or "EC PRIVATE KEY";
 * read whatever its mode, its bytes wiped, never quoted in a message).
 * An unreadable file is CA_FAIL (CA_INPUT if missing), malformed content
 * or an encrypted key CA_INPUT naming the file, a key that is not the leaf's CA_INPUT
 * "KEY does not match the certificate in CERT".  *chain and *key are the
 * caller's (sk_X509_pop_free, EVP_PKEY_free).
 *
 * client_use_identity hands them to c (copied: the caller keeps its own);
 * client_set_identity is the two in one.
 */
int client_load_identity(const char *cert_file, const char *key_file,
    STACK_OF(X509) **chain, EVP_PKEY **key);
int client_use_identity(struct client *c, STACK_OF(X509) *chain,
    EVP_PKEY *key);
int client_set_identity(struct client *c, const char *cert_file,
    const char *key_file);

/*
 * Every provisioner of the CA: GET /provisioners, following nextCursor
 * for at most CLIENT_MAX_PAGES pages.  *out is a new array (json_decref).
 */
int client_provisioners(struct client *c, json_t **out);

/*
 * Bootstrap: GET url/root/<fp> WITHOUT verifying the server (nothing is
 * trusted yet), then accept the answer only if it is one self-signed CA
 * certificate whose SHA-256 fingerprint is fp (64 lowercase hex digits):
 * otherwise CA_REFUSED "root fingerprint mismatch: got X, want Y" (or
 * CA_INPUT for what is not such a certificate).  Then GET /health again
 * trusting that root alone, so the CA's own certificate is proven to
 * chain to it before anything is written.  *root is the caller's.
 */
int client_bootstrap(const char *url, const char *fp, X509 **root);

#endif
